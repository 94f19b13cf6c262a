//! A post on its way through the stream: its text, what is asked of it, whether its caller
//! still wants it, and when it arrived; and the report the stream gives on each batch it scores.

use std::fmt::Debug;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::engine::Ask;

/// A text to score, with what is asked of it.
#[derive(Debug, Clone)]
pub struct Post {
    /// The text.
    pub text: String,
    /// Evidence and thresholds for this post; `None`: the classifier's defaults.
    pub ask: Option<Ask>,
    /// Set when the caller no longer wants the answer: the post is dropped before it is scored.
    pub cancelled: Option<Arc<AtomicBool>>,
    /// When the post entered the stream.
    pub since: Instant,
}

impl Post {
    /// A post with the classifier's defaults, arriving now.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            ask: None,
            cancelled: None,
            since: Instant::now(),
        }
    }

    /// This post with its own ask.
    pub fn with_ask(mut self, ask: Ask) -> Self {
        self.ask = Some(ask);
        self
    }

    /// This post, dropped unscored once `flag` is set.
    pub fn with_cancel(mut self, flag: Arc<AtomicBool>) -> Self {
        self.cancelled = Some(flag);
        self
    }

    /// True once the caller gave up on this post.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled
            .as_ref()
            .is_some_and(|f| f.load(Ordering::SeqCst))
    }
}

impl From<String> for Post {
    fn from(text: String) -> Self {
        Self::new(text)
    }
}

impl From<&str> for Post {
    fn from(text: &str) -> Self {
        Self::new(text)
    }
}

/// What the stream did with one batch.
#[derive(Debug, Clone, Default)]
pub struct BatchReport {
    /// Posts scored.
    pub posts: usize,
    /// Posts dropped unscored because their caller gave up.
    pub cancelled: usize,
    /// Tokens the model read over the scored posts.
    pub tokens: usize,
    /// How long each scored post waited, from arrival to the start of scoring.
    pub waits: Vec<Duration>,
    /// How long scoring took.
    pub scoring: Duration,
}

/// Told about every batch the stream scores (for metrics); called on the scoring worker.
pub trait StreamObserver: Send + Sync + Debug {
    /// One batch is scored.
    fn batch(&self, report: &BatchReport);
}
