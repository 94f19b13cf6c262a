//! The way into the shared stream batcher: a request's texts go in as posts, each with a ticket
//! that carries its answer back to the waiting request. Posts from concurrent requests meet in
//! the same micro-batches; a request that goes away cancels its posts before they are scored.

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crossbeam_channel::{Sender, TrySendError};
use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

use crate::engine::{Ask, Prediction};
use crate::run::stream::{Input, Output, Post, Shutdown};

/// Travels with one post through the stream and hands its prediction back.
#[derive(Debug)]
pub(crate) struct Ticket {
    index: usize,
    reply: UnboundedSender<(usize, Prediction)>,
    depth: Gauge,
}

impl Ticket {
    fn deliver(self, prediction: Prediction) {
        // The request may be gone (its client disconnected): nobody to tell.
        let _ = self.reply.send((self.index, prediction));
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        // Answered, cancelled or lost with a failed batch: no longer queued either way.
        self.depth.dec();
    }
}

/// Why texts were not queued.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The queue is full.
    Full,
    /// The batcher has stopped.
    Closed,
}

/// The sending side of the batcher, shared by every request.
pub(crate) struct Queue {
    sender: Sender<Input<Ticket, Infallible>>,
    shutdown: Arc<Shutdown>,
    depth: Gauge,
}

impl Queue {
    pub(crate) fn new(
        sender: Sender<Input<Ticket, Infallible>>,
        shutdown: Arc<Shutdown>,
        depth: Gauge,
    ) -> Self {
        Self {
            sender,
            shutdown,
            depth,
        }
    }

    /// Queues `texts` with `ask`; the answer comes through the returned [`Pending`].
    pub(crate) fn submit(&self, texts: Vec<String>, ask: Ask) -> Result<Pending, Refused> {
        let (reply, answers) = unbounded_channel();
        let cancel = Arc::new(AtomicBool::new(false));
        let pending = Pending {
            answers,
            count: texts.len(),
            cancel: cancel.clone(),
        };
        for (index, text) in texts.into_iter().enumerate() {
            let ticket = Ticket {
                index,
                reply: reply.clone(),
                depth: self.depth.clone(),
            };
            self.depth.inc();
            let post = Post::new(text)
                .with_ask(ask.clone())
                .with_cancel(cancel.clone());
            self.shutdown.accepted.fetch_add(1, Ordering::SeqCst);
            if let Err(err) = self.sender.try_send(Ok((ticket, post))) {
                // The posts already queued are dropped with `pending`, unscored.
                self.shutdown.accepted.fetch_sub(1, Ordering::SeqCst);
                return Err(match err {
                    TrySendError::Full(_) => Refused::Full,
                    TrySendError::Disconnected(_) => Refused::Closed,
                });
            }
        }
        Ok(pending)
    }
}

/// The answers to one request, in input order once all have come.
pub(crate) struct Pending {
    answers: UnboundedReceiver<(usize, Prediction)>,
    count: usize,
    cancel: Arc<AtomicBool>,
}

impl Pending {
    /// Waits for every answer; `None` when the batcher stopped before scoring them all.
    pub(crate) async fn wait(mut self) -> Option<Vec<Prediction>> {
        let mut slots: Vec<Option<Prediction>> = vec![None; self.count];
        for _ in 0..self.count {
            let (index, prediction) = self.answers.recv().await?;
            slots[index] = Some(prediction);
        }
        slots.into_iter().collect()
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        // A request dropped before its answers came (the client went away) cancels the posts
        // still queued; after they came, this changes nothing.
        self.cancel.store(true, Ordering::SeqCst);
    }
}

/// Hands each scored post to its request, until the stream's output closes.
pub(crate) fn dispatch(outputs: crossbeam_channel::Receiver<Output<Ticket, Infallible>>) {
    for output in outputs {
        match output {
            Ok((ticket, prediction)) => ticket.deliver(prediction),
            Err(never) => match never {},
        }
    }
}
