//! The classify route's request and answers: the body is read as JSON and checked field by
//! field, so that a mistake is answered with the field (and index) it is in.

use std::collections::BTreeMap;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::engine::{Ask, Classifier, Prediction};
use crate::run::prediction_fields;

/// A checked classify request.
#[derive(Debug)]
pub(crate) struct ClassifyRequest {
    pub texts: Vec<String>,
    pub ask: Ask,
}

const FIELDS: [&str; 3] = ["inputs", "explain", "thresholds"];

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Reads `{"inputs": "…" | ["…", …], "explain": bool, "thresholds": {label: number}}`; the
/// error names the field that is wrong.
pub(crate) fn parse(
    body: &[u8],
    classifier: &Classifier,
    max_texts: usize,
) -> Result<ClassifyRequest, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("body: not valid JSON: {e}"))?;
    let Value::Object(mut obj) = value else {
        return Err(format!(
            "body: expected a JSON object with \"inputs\", got {}",
            kind(&value)
        ));
    };
    if let Some(unknown) = obj.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(format!(
            "{unknown}: unknown field; the fields are inputs, explain and thresholds"
        ));
    }
    let texts = match obj.remove("inputs") {
        None => return Err("inputs: missing".into()),
        Some(Value::String(s)) => {
            if s.trim().is_empty() {
                return Err("inputs: empty text".into());
            }
            vec![s]
        }
        Some(Value::Array(items)) => {
            if items.is_empty() {
                return Err("inputs: empty list".into());
            }
            if items.len() > max_texts {
                return Err(format!(
                    "inputs: {} texts, more than the limit of {max_texts} per request",
                    items.len()
                ));
            }
            items
                .into_iter()
                .enumerate()
                .map(|(i, item)| match item {
                    Value::String(s) if s.trim().is_empty() => {
                        Err(format!("inputs[{i}]: empty text"))
                    }
                    Value::String(s) => Ok(s),
                    other => Err(format!(
                        "inputs[{i}]: expected a string, got {}",
                        kind(&other)
                    )),
                })
                .collect::<Result<_, _>>()?
        }
        Some(other) => {
            return Err(format!(
                "inputs: expected a string or an array of strings, got {}",
                kind(&other)
            ))
        }
    };
    let explain = match obj.remove("explain") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(b),
        Some(other) => {
            return Err(format!(
                "explain: expected true or false, got {}",
                kind(&other)
            ))
        }
    };
    let mut thresholds = BTreeMap::new();
    match obj.remove("thresholds") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (label, v) in map {
                if !classifier.labels().contains(&label) {
                    return Err(format!(
                        "thresholds.{label}: unknown label; the labels are {}",
                        classifier.labels().join(", ")
                    ));
                }
                let t = v.as_f64().ok_or_else(|| {
                    format!("thresholds.{label}: expected a number, got {}", kind(&v))
                })?;
                if !(0.0..=1.0).contains(&t) {
                    return Err(format!("thresholds.{label}: {t} is outside 0..1"));
                }
                thresholds.insert(label, t as f32);
            }
        }
        Some(other) => {
            return Err(format!(
                "thresholds: expected an object of label to number, got {}",
                kind(&other)
            ))
        }
    }
    let ask = classifier
        .ask(explain, &thresholds)
        .map_err(|e| format!("thresholds: {e}"))?;
    Ok(ClassifyRequest { texts, ask })
}

/// The answers, in input order: `[{"scores", "labels", "evidence"}, …]`.
pub(crate) fn answers(predictions: &[Prediction]) -> Value {
    Value::Array(
        predictions
            .iter()
            .map(|p| Value::Object(prediction_fields(p)))
            .collect(),
    )
}

/// A JSON answer with a status.
pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// An error answer: `{"error": message, "error_type": kind}`.
pub(crate) fn error(status: StatusCode, error_type: &str, message: impl Into<String>) -> Response {
    json_response(
        status,
        &json!({"error": message.into(), "error_type": error_type}),
    )
}

/// 429 with `Retry-After`.
pub(crate) fn overloaded(message: &str) -> Response {
    let mut response = error(StatusCode::TOO_MANY_REQUESTS, "overloaded", message);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}
