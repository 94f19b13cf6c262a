//! Streaming: records arrive one by one (a pipe, a growing file, a channel) and come back scored
//! in micro-batches, in input order. A batch goes as soon as it holds `max_batch` posts or its
//! first post has waited `max_wait`. Up to `in_flight` batches are scored at once, each on its
//! own worker (a small batch alone would leave the other cores idle), and a reorder stage puts
//! their outputs back in input order. Channels are bounded, so a slow consumer slows the producer
//! and memory stays flat.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender};

use super::chunk::score_chunk;
pub use super::post::{BatchReport, Post, StreamObserver};
use crate::engine::{Ask, Classifier, Prediction};
use crate::error::Result;

/// Micro-batching bounds.
#[derive(Debug, Clone)]
pub struct StreamOptions {
    /// Most posts in one batch.
    pub max_batch: usize,
    /// Longest a post waits for its batch to fill.
    pub max_wait: Duration,
    /// Capacity of the input and output channels (in items).
    pub capacity: usize,
    /// Batches scored at the same time; outputs still leave in input order.
    pub in_flight: usize,
    /// Told about every scored batch.
    pub observer: Option<Arc<dyn StreamObserver>>,
}

impl Default for StreamOptions {
    fn default() -> Self {
        Self {
            max_batch: 32,
            max_wait: Duration::from_millis(20),
            capacity: 1024,
            in_flight: std::thread::available_parallelism().map_or(2, |n| n.get()),
            observer: None,
        }
    }
}

/// What goes in: a tag that comes back untouched with the post to score, or an error to pass
/// through in order (e.g. a malformed record). A cancelled post comes back not at all.
pub type Input<T, E> = std::result::Result<(T, Post), E>;

/// What comes out: the tag and the prediction, or the passed-through error.
pub type Output<T, E> = std::result::Result<(T, Prediction), E>;

/// A running stream: send inputs with [`Stream::sender`], read outputs with [`Stream::receiver`].
/// Dropping every sender (or calling [`Stream::finish`]) flushes what is left.
pub struct Stream<T, E> {
    sender: Option<Sender<Input<T, E>>>,
    receiver: Receiver<Output<T, E>>,
    worker: Option<JoinHandle<Result<()>>>,
}

/// Shared shutdown state: once `stop` is set, the batcher scores what it holds and what is
/// already counted in `accepted`, then ends, without waiting for the sender to close.
#[derive(Debug, Default)]
pub struct Shutdown {
    /// Set on SIGINT/SIGTERM (see `signal_hook::flag::register`) or by the caller.
    pub stop: Arc<AtomicBool>,
    /// Inputs the producer has taken in (read from its source), whether or not sent yet.
    pub accepted: AtomicU64,
}

impl<T: Send + 'static, E: Send + 'static> Stream<T, E> {
    /// Starts the batching worker over a shared classifier.
    pub fn new(classifier: Arc<Classifier>, options: StreamOptions) -> Self {
        Self::with_shutdown(classifier, options, None)
    }

    /// Like [`Stream::new`], with a shutdown switch shared with the producer.
    pub fn with_shutdown(
        classifier: Arc<Classifier>,
        options: StreamOptions,
        shutdown: Option<Arc<Shutdown>>,
    ) -> Self {
        let (in_tx, in_rx) = bounded::<Input<T, E>>(options.capacity.max(1));
        let (out_tx, out_rx) = bounded::<Output<T, E>>(options.capacity.max(1));
        let worker =
            std::thread::spawn(move || batcher(&classifier, &options, in_rx, out_tx, shutdown));
        Self {
            sender: Some(in_tx),
            receiver: out_rx,
            worker: Some(worker),
        }
    }

    /// A sender for inputs; clone it for several producers.
    pub fn sender(&self) -> Sender<Input<T, E>> {
        self.sender.clone().expect("stream is open")
    }

    /// The receiver of outputs, in input order.
    pub fn receiver(&self) -> &Receiver<Output<T, E>> {
        &self.receiver
    }

    /// Closes this handle's sender; outputs keep coming until every input is scored.
    pub fn close(&mut self) {
        self.sender = None;
    }

    /// Closes the input side and waits for the worker; returns its result.
    pub fn finish(mut self) -> Result<()> {
        self.sender = None;
        // Drain so the worker is never blocked on a full output channel.
        while self.receiver.recv().is_ok() {}
        self.worker
            .take()
            .map_or(Ok(()), |w| w.join().expect("stream worker panicked"))
    }
}

/// Scores an iterator of inputs as a stream, yielding outputs in order as they are ready.
pub fn classify_iter<T, E, I>(
    classifier: Arc<Classifier>,
    options: StreamOptions,
    inputs: I,
) -> impl Iterator<Item = Output<T, E>>
where
    T: Send + 'static,
    E: Send + 'static,
    I: IntoIterator<Item = Input<T, E>> + Send + 'static,
    I::IntoIter: Send,
{
    let mut stream = Stream::new(classifier, options);
    let tx = stream.sender();
    stream.close();
    std::thread::spawn(move || {
        for item in inputs {
            if tx.send(item).is_err() {
                break;
            }
        }
    });
    let rx = stream.receiver.clone();
    // The stream handle (and its worker) lives as long as the iterator.
    rx.into_iter().inspect(move |_| {
        let _keep = &stream;
    })
}

/// A batch on its way to a scoring worker, numbered in input order.
type Job<T, E> = (u64, Vec<Input<T, E>>);

/// Runs the scoring workers and the reorder stage, and forms batches on the calling thread.
fn batcher<T: Send, E: Send>(
    classifier: &Classifier,
    options: &StreamOptions,
    input: Receiver<Input<T, E>>,
    output: Sender<Output<T, E>>,
    shutdown: Option<Arc<Shutdown>>,
) -> Result<()> {
    let workers = options.in_flight.max(1);
    let (job_tx, job_rx) = bounded::<Job<T, E>>(workers);
    let (done_tx, done_rx) = bounded::<(u64, Vec<Output<T, E>>)>(workers);
    let failed = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let scorers: Vec<_> = (0..workers)
            .map(|_| {
                let (jobs, done, failed) = (job_rx.clone(), done_tx.clone(), &failed);
                let observer = options.observer.as_deref();
                scope.spawn(move || -> Result<()> {
                    for (seq, batch) in jobs {
                        let scored =
                            score_batch(classifier, batch, observer).inspect_err(|_| {
                                failed.store(true, Ordering::SeqCst);
                            })?;
                        if done.send((seq, scored)).is_err() {
                            break; // the consumer went away
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        drop((job_rx, done_tx));
        scope.spawn(move || reorder(done_rx, output));
        form_batches(options, input, shutdown, &failed, job_tx);
        let mut result = Ok(());
        for scorer in scorers {
            let r = scorer.join().expect("stream scorer panicked");
            if result.is_ok() {
                result = r;
            }
        }
        result
    })
}

/// Scores one batch, each post with its ask; errors passed through keep their place, and
/// cancelled posts are dropped.
fn score_batch<T, E>(
    classifier: &Classifier,
    batch: Vec<Input<T, E>>,
    observer: Option<&dyn StreamObserver>,
) -> Result<Vec<Output<T, E>>> {
    let start = Instant::now();
    let before = batch.len();
    let batch: Vec<Input<T, E>> = batch
        .into_iter()
        .filter(|item| !matches!(item, Ok((_, post)) if post.is_cancelled()))
        .collect();
    let mut report = BatchReport {
        cancelled: before - batch.len(),
        ..Default::default()
    };
    let scored = score_chunk(batch, |posts: &[&(T, Post)]| {
        report.waits = posts.iter().map(|(_, p)| start - p.since).collect();
        let texts: Vec<&str> = posts.iter().map(|(_, p)| p.text.as_str()).collect();
        if posts.iter().all(|(_, p)| p.ask.is_none()) {
            return classifier.classify(&texts);
        }
        let asks: Vec<Ask> = posts
            .iter()
            .map(|(_, p)| {
                p.ask
                    .clone()
                    .unwrap_or_else(|| classifier.default_ask().clone())
            })
            .collect();
        classifier.classify_with(&texts, &asks)
    })?;
    let outputs: Vec<Output<T, E>> = scored
        .into_iter()
        .map(|item| item.map(|((tag, _), pred)| (tag, pred)))
        .collect();
    if let Some(observer) = observer {
        report.posts = report.waits.len();
        report.tokens = outputs
            .iter()
            .filter_map(|o| o.as_ref().ok())
            .map(|(_, p)| p.tokens)
            .sum();
        report.scoring = start.elapsed();
        observer.batch(&report);
    }
    Ok(outputs)
}

/// Sends scored batches on in the order they were formed.
fn reorder<T, E>(done: Receiver<(u64, Vec<Output<T, E>>)>, output: Sender<Output<T, E>>) {
    let mut next = 0u64;
    let mut pending = BTreeMap::new();
    for (seq, outputs) in done {
        pending.insert(seq, outputs);
        while let Some(outputs) = pending.remove(&next) {
            for out in outputs {
                if output.send(out).is_err() {
                    return; // the consumer went away; dropping `done` stops the workers
                }
            }
            next += 1;
        }
    }
}

/// Reads inputs into batches bounded by `max_batch` and `max_wait` and hands them to the workers,
/// until the input closes, shutdown has drained what the producer accepted, a worker failed, or
/// the workers are gone.
fn form_batches<T, E>(
    options: &StreamOptions,
    input: Receiver<Input<T, E>>,
    shutdown: Option<Arc<Shutdown>>,
    failed: &AtomicBool,
    jobs: Sender<Job<T, E>>,
) {
    let max_batch = options.max_batch.max(1);
    // The shutdown state, once a stop was asked for.
    let stopping = || shutdown.as_ref().filter(|s| s.stop.load(Ordering::SeqCst));
    let mut received: u64 = 0;
    let poll = Duration::from_millis(20);
    for seq in 0u64.. {
        // Wait for the first item of a batch, checking for shutdown now and then.
        let first = loop {
            if failed.load(Ordering::SeqCst) {
                return;
            }
            // Everything the producer took in must still come out.
            if let Some(s) = stopping() {
                if received >= s.accepted.load(Ordering::SeqCst) {
                    return;
                }
            }
            match input.recv_timeout(poll) {
                Ok(item) => break item,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => return,
            }
        };
        received += 1;
        let deadline = Instant::now() + options.max_wait;
        let mut batch = vec![first];
        while batch.len() < max_batch {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            match input.recv_timeout(deadline - now) {
                Ok(item) => {
                    received += 1;
                    batch.push(item);
                }
                Err(_) => break,
            }
        }
        if jobs.send((seq, batch)).is_err() {
            return; // every worker is gone
        }
    }
}
