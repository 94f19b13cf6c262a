//! One JetStream message in and one result out: the message's id (its `Nats-Msg-Id` header, else
//! the record's id field, else `<stream>:<sequence>`), the post it carries, and the result or
//! error payload published for it.

use async_nats::jetstream::Message;
use serde_json::{json, Value};

use crate::engine::Prediction;
use crate::io::{parse_json_record, ReadOptions};
use crate::run::prediction_fields;

/// The header that carries a message's id, in and out (JetStream de-duplicates on it).
pub const MSG_ID: &str = "Nats-Msg-Id";

/// A message on its way through the batcher.
#[derive(Debug)]
pub struct Delivery {
    /// The message, acked once its result is published (boxed: a message is large, and
    /// deliveries travel through channels).
    pub message: Box<Message>,
    /// The id its result is keyed by.
    pub id: Value,
    /// Its stream sequence.
    pub seq: u64,
    /// The record's fields, with `--keep-fields`.
    pub fields: Option<serde_json::Map<String, Value>>,
}

/// A message that could not be read, with why.
#[derive(Debug)]
pub struct Rejected {
    /// The message and its id.
    pub delivery: Delivery,
    /// What is wrong with it.
    pub reason: String,
}

/// Reads a message into a delivery and its text, or a rejection.
pub fn read(message: Message, options: &ReadOptions) -> Result<(Delivery, String), Box<Rejected>> {
    let (stream, seq) = message
        .info()
        .map(|i| (i.stream.to_string(), i.stream_sequence))
        .unwrap_or_default();
    let header = message
        .headers
        .as_ref()
        .and_then(|h| h.get(MSG_ID))
        .map(|v| Value::from(v.as_str()));
    let fallback = Value::from(format!("{stream}:{seq}"));
    let record = parse_json_record(
        message.subject.as_str(),
        seq,
        &message.payload,
        options,
        fallback.clone(),
    );
    match record {
        Ok(record) => {
            let id = header.unwrap_or(record.id);
            let delivery = Delivery {
                message: Box::new(message),
                id,
                seq,
                fields: record.fields,
            };
            Ok((delivery, record.text))
        }
        Err(err) => Err(Box::new(Rejected {
            delivery: Delivery {
                message: Box::new(message),
                id: header.unwrap_or(fallback),
                seq,
                fields: None,
            },
            reason: err.reason,
        })),
    }
}

/// The result payload: `{"id", "seq", "scores", "labels", "evidence", ...kept fields}`.
pub fn result(delivery: &Delivery, prediction: &Prediction) -> Value {
    let mut obj = serde_json::Map::new();
    obj.insert("id".into(), delivery.id.clone());
    obj.insert("seq".into(), Value::from(delivery.seq));
    obj.append(&mut prediction_fields(prediction));
    for (k, v) in delivery.fields.iter().flatten() {
        obj.entry(k.clone()).or_insert_with(|| v.clone());
    }
    Value::Object(obj)
}

/// The error payload: `{"id", "seq", "subject", "reason"}`.
pub fn error(rejected: &Rejected) -> Value {
    json!({
        "id": rejected.delivery.id,
        "seq": rejected.delivery.seq,
        "subject": rejected.delivery.message.subject.as_str(),
        "reason": rejected.reason,
    })
}

/// The id as a header value: a string as written, a number in decimal.
pub fn id_text(id: &Value) -> String {
    match id {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
