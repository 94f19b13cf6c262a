//! `patrol consume`: a NATS JetStream worker. Several workers share one durable pull consumer and
//! the server hands each message to one of them. Messages go through the same micro-batcher as
//! `patrol stream` and `patrol serve` ([`crate::run::stream`]); each gets one result on the
//! out-subject (or one error on `<out-subject>.errors`), and is acked only after that result is
//! published. Delivery is at least once: a message whose worker dies before the ack is delivered
//! again, so a result may be published twice, always under the same id (the `Nats-Msg-Id`
//! header, which a JetStream stream on the out-subject de-duplicates on).

mod message;
mod publish;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};
use crossbeam_channel::TrySendError;
use futures_util::StreamExt;

use crate::engine::Classifier;
use crate::error::{Error, Result};
use crate::io::ReadOptions;
use crate::run::stream::{Input, Post, Shutdown, Stream, StreamOptions};
pub use message::{Delivery, Rejected, MSG_ID};

/// Where to read, where to write, and how to batch.
#[derive(Debug, Clone)]
pub struct ConsumeOptions {
    /// The server, e.g. `nats://127.0.0.1:4222`.
    pub url: String,
    /// The JetStream stream; created over `subject` when it does not exist.
    pub stream: String,
    /// The subject the posts are published on.
    pub subject: String,
    /// The durable consumer the workers share; created when it does not exist.
    pub durable: String,
    /// Where results go; errors go to `<out_subject>.errors`.
    pub out_subject: String,
    /// Most messages in one micro-batch.
    pub batch: usize,
    /// Longest a message waits for its micro-batch to fill.
    pub max_wait: Duration,
    /// Messages delivered and not yet acked, per consumer (set when the consumer is created).
    pub max_ack_pending: i64,
    /// How long the server waits for an ack before delivering again (set when the consumer is
    /// created).
    pub ack_wait: Duration,
    /// Micro-batches scored at the same time.
    pub in_flight: usize,
    /// The record's text and id fields.
    pub read: ReadOptions,
}

impl Default for ConsumeOptions {
    fn default() -> Self {
        Self {
            url: "nats://127.0.0.1:4222".into(),
            stream: "POSTS".into(),
            subject: "posts".into(),
            durable: "patrol".into(),
            out_subject: "patrol.results".into(),
            batch: 64,
            max_wait: Duration::from_millis(20),
            max_ack_pending: 1024,
            ack_wait: Duration::from_secs(30),
            in_flight: std::thread::available_parallelism().map_or(2, |n| n.get()),
            read: ReadOptions::default(),
        }
    }
}

/// What a worker did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConsumeSummary {
    /// Messages scored, their results published and acked.
    pub scored: u64,
    /// Messages that could not be read, their errors published and acked.
    pub errors: u64,
}

/// Runs one worker until `stop` is set: it then takes no more messages, publishes and acks
/// every one it holds, and returns.
pub async fn run(
    classifier: Arc<Classifier>,
    options: ConsumeOptions,
    stop: Arc<AtomicBool>,
) -> Result<ConsumeSummary> {
    let client = async_nats::connect(&options.url)
        .await
        .map_err(|e| Error::nats(format!("connecting to {}", options.url), e))?;
    let js = jetstream::new(client.clone());
    let posts = js
        .get_or_create_stream(stream::Config {
            name: options.stream.clone(),
            subjects: vec![options.subject.clone()],
            ..Default::default()
        })
        .await
        .map_err(|e| Error::nats(format!("stream {}", options.stream), e))?;
    let pull = posts
        .get_or_create_consumer(
            &options.durable,
            consumer::pull::Config {
                durable_name: Some(options.durable.clone()),
                filter_subject: options.subject.clone(),
                ack_policy: consumer::AckPolicy::Explicit,
                ack_wait: options.ack_wait,
                max_ack_pending: options.max_ack_pending,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| Error::nats(format!("consumer {}", options.durable), e))?;
    let mut messages = pull
        .stream()
        .max_messages_per_batch(options.batch.max(1))
        .expires(Duration::from_secs(5))
        .heartbeat(Duration::from_millis(2500))
        .messages()
        .await
        .map_err(|e| Error::nats("pulling messages", e))?;

    let shutdown = Arc::new(Shutdown::default());
    let stream_options = StreamOptions {
        max_batch: options.batch.max(1),
        max_wait: options.max_wait,
        capacity: (options.max_ack_pending.max(1) as usize).min(1 << 16),
        in_flight: options.in_flight.max(1),
        observer: None,
    };
    let mut batcher: Stream<Delivery, Box<Rejected>> =
        Stream::with_shutdown(classifier, stream_options, Some(shutdown.clone()));
    let sender = batcher.sender();
    batcher.close();
    let outputs = batcher.receiver().clone();
    let publisher = tokio::spawn(publish::results(
        client.clone(),
        js.clone(),
        options.out_subject.clone(),
        publish::forward(outputs),
    ));

    // Take messages until told to stop; each goes to the batcher as a post or a rejection.
    let mut pulled = Ok(());
    while !stop.load(Ordering::SeqCst) {
        let next = tokio::time::timeout(Duration::from_millis(100), messages.next()).await;
        let message = match next {
            Err(_) => continue, // no message yet: look at the stop flag again
            Ok(None) => break,
            Ok(Some(Ok(m))) => m,
            Ok(Some(Err(e))) => {
                // A missed heartbeat or a pull that failed: the client reconnects and pulls on.
                if e.kind() == consumer::pull::MessagesErrorKind::ConsumerDeleted {
                    pulled = Err(Error::nats("pulling messages", e));
                    break;
                }
                continue;
            }
        };
        let input: Input<Delivery, Box<Rejected>> = message::read(message, &options.read)
            .map(|(delivery, text)| (delivery, Post::new(text)));
        shutdown.accepted.fetch_add(1, Ordering::SeqCst);
        let sent = match sender.try_send(input) {
            Ok(()) => true,
            Err(TrySendError::Full(input)) => {
                tokio::task::block_in_place(|| sender.send(input).is_ok())
            }
            Err(TrySendError::Disconnected(_)) => false,
        };
        if !sent {
            shutdown.accepted.fetch_sub(1, Ordering::SeqCst);
            break; // the batcher failed; its error comes from `finish`
        }
    }
    drop(messages);
    // Score what was taken, publish and ack it, then stop.
    shutdown.stop.store(true, Ordering::SeqCst);
    drop(sender);
    let summary = publisher
        .await
        .map_err(|e| Error::nats("publishing results", e))??;
    tokio::task::block_in_place(|| batcher.finish())?;
    pulled?;
    Ok(summary)
}
