//! Streaming: records arrive one by one (a pipe, a growing file, a channel) and come back scored
//! in micro-batches, in input order. A batch goes as soon as it holds `max_batch` posts or its
//! first post has waited `max_wait`. Channels are bounded, so a slow consumer slows the producer
//! and memory stays flat.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender};

use crate::classifier::{Classifier, Prediction};
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
}

impl Default for StreamOptions {
    fn default() -> Self {
        Self {
            max_batch: 32,
            max_wait: Duration::from_millis(20),
            capacity: 1024,
        }
    }
}

/// What goes in: a tag that comes back untouched, and the text to score (or an error to pass
/// through in order, e.g. a malformed record).
pub type Input<T, E> = (T, std::result::Result<String, E>);

/// What comes out: the tag and the prediction (or the passed-through error).
pub type Output<T, E> = (T, std::result::Result<Prediction, E>);

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

fn batcher<T, E>(
    classifier: &Classifier,
    options: &StreamOptions,
    input: Receiver<Input<T, E>>,
    output: Sender<Output<T, E>>,
    shutdown: Option<Arc<Shutdown>>,
) -> Result<()> {
    let max_batch = options.max_batch.max(1);
    let stopping = || {
        shutdown
            .as_ref()
            .is_some_and(|s| s.stop.load(Ordering::SeqCst))
    };
    let mut received: u64 = 0;
    let poll = Duration::from_millis(20);
    loop {
        // Wait for the first item of a batch, checking for shutdown now and then.
        let first = loop {
            if stopping() {
                let s = shutdown.as_ref().expect("stopping implies shutdown");
                // Everything the producer took in must still come out.
                if received >= s.accepted.load(Ordering::SeqCst) {
                    return Ok(());
                }
            }
            match input.recv_timeout(poll) {
                Ok(item) => break item,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => return Ok(()),
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
        let texts: Vec<&str> = batch
            .iter()
            .filter_map(|(_, r)| r.as_ref().ok().map(String::as_str))
            .collect();
        let mut preds = classifier.classify(&texts)?.into_iter();
        for (tag, item) in batch {
            let out = match item {
                Ok(_) => Ok(preds.next().expect("one prediction per text")),
                Err(e) => Err(e),
            };
            if output.send((tag, out)).is_err() {
                return Ok(()); // the consumer went away
            }
        }
    }
}
