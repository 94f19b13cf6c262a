//! The output side of a worker: each scored message's result (or error) is published, and only
//! once the server has it is the message acked.

use async_nats::header::HeaderMap;
use async_nats::jetstream;
use async_nats::Client;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

use super::message::{self, Delivery, Rejected, MSG_ID};
use super::ConsumeSummary;
use crate::error::{Error, Result};
use crate::run::stream::Output;

/// Most outputs published before one flush and one round of acks.
const ROUND: usize = 256;

/// Moves the batcher's outputs (a blocking channel) onto an async one, on a thread of its own.
pub(super) fn forward(
    outputs: crossbeam_channel::Receiver<Output<Delivery, Box<Rejected>>>,
) -> UnboundedReceiver<Output<Delivery, Box<Rejected>>> {
    let (tx, rx) = unbounded_channel();
    std::thread::spawn(move || {
        for output in outputs {
            if tx.send(output).is_err() {
                break;
            }
        }
    });
    rx
}

/// Where a subject's messages go: into a JetStream stream (publish and wait for its ack) or to
/// plain subscribers (publish, then flush).
enum Sink {
    Stream,
    Plain,
}

async fn sink(js: &jetstream::Context, subject: &str) -> Sink {
    match js.stream_by_subject(subject).await {
        Ok(_) => Sink::Stream,
        Err(_) => Sink::Plain,
    }
}

/// Waits until the server has everything published so far.
async fn flush(client: &Client, what: &str) -> Result<()> {
    client.flush().await.map_err(|e| Error::nats(what, e))
}

/// Publishes every output and acks its message, until the outputs end.
pub(super) async fn results(
    client: Client,
    js: jetstream::Context,
    out_subject: String,
    mut outputs: UnboundedReceiver<Output<Delivery, Box<Rejected>>>,
) -> Result<ConsumeSummary> {
    let err_subject = format!("{out_subject}.errors");
    let (out_sink, err_sink) = (sink(&js, &out_subject).await, sink(&js, &err_subject).await);
    let mut summary = ConsumeSummary::default();
    let mut round = Vec::with_capacity(ROUND);
    while outputs.recv_many(&mut round, ROUND).await > 0 {
        let mut confirmations = Vec::new();
        let mut delivered = Vec::with_capacity(round.len());
        for output in round.drain(..) {
            let (delivery, payload, subject, sink) = match output {
                Ok((delivery, prediction)) => {
                    summary.scored += 1;
                    let payload = message::result(&delivery, &prediction);
                    (delivery, payload, &out_subject, &out_sink)
                }
                Err(rejected) => {
                    summary.errors += 1;
                    let payload = message::error(&rejected);
                    let Rejected { delivery, .. } = *rejected;
                    (delivery, payload, &err_subject, &err_sink)
                }
            };
            let mut headers = HeaderMap::new();
            headers.insert(MSG_ID, message::id_text(&delivery.id).as_str());
            let body = payload.to_string().into_bytes().into();
            match sink {
                Sink::Stream => confirmations.push(
                    js.publish_with_headers(subject.clone(), headers, body)
                        .await
                        .map_err(|e| Error::nats(format!("publishing to {subject}"), e))?,
                ),
                Sink::Plain => client
                    .publish_with_headers(subject.clone(), headers, body)
                    .await
                    .map_err(|e| Error::nats(format!("publishing to {subject}"), e))?,
            }
            delivered.push(delivery);
        }
        for confirmation in confirmations {
            confirmation
                .await
                .map_err(|e| Error::nats("waiting for a result's ack", e))?;
        }
        flush(&client, "flushing results").await?;
        // Every result of this round is with the server: now the inputs may go. Each ack waits
        // for the server to confirm it, so an exit after this loses nothing.
        futures_util::future::try_join_all(delivered.iter().map(|d| d.message.double_ack()))
            .await
            .map_err(|e| Error::nats("acking messages", e))?;
    }
    Ok(summary)
}
