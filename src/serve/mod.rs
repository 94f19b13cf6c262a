//! `patrol serve`: an HTTP service over the [`Classifier`] for callers that are not Rust.
//!
//! Texts from concurrent requests go through the same micro-batcher as `patrol stream`
//! ([`crate::run::stream`]), so they are merged into the engine's token-budget batches. The
//! queue is bounded: past `max_concurrent_requests` a request gets `429`. A client that goes
//! away cancels its queued texts. On shutdown the server stops accepting, answers every request
//! it accepted, and returns.
//!
//! Routes: `POST /v1/classify`, `GET /health`, `GET /info`, `GET /metrics` (OpenMetrics text)
//! and `GET /openapi.json`.

mod api;
mod auth;
mod metrics;
mod queue;
mod routes;

use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::engine::Classifier;
use crate::error::{Error, Result};
use crate::run::stream::{Shutdown, Stream, StreamOptions};
use metrics::Metrics;
use queue::{Queue, Ticket};

/// Limits and batching of the service.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// With a key, every route but `/health` needs `Authorization: Bearer <key>`.
    pub api_key: Option<String>,
    /// Most texts in one micro-batch (the engine then splits it by its token budget).
    pub max_batch: usize,
    /// Longest a text waits for its micro-batch to fill.
    pub max_wait: Duration,
    /// Micro-batches scored at the same time.
    pub in_flight: usize,
    /// Classify requests admitted at once; one more gets `429`.
    pub max_concurrent_requests: usize,
    /// Texts in one request; more is `422`.
    pub max_texts_per_request: usize,
    /// Size of a request body; more is `413`.
    pub max_body_bytes: usize,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            api_key: None,
            max_batch: 64,
            max_wait: Duration::from_millis(10),
            in_flight: std::thread::available_parallelism().map_or(2, |n| n.get()),
            max_concurrent_requests: 512,
            max_texts_per_request: 32,
            max_body_bytes: 2 << 20,
        }
    }
}

/// What every request handler shares.
pub(crate) struct State {
    classifier: Arc<Classifier>,
    options: ServeOptions,
    api_key: Option<Vec<u8>>,
    queue: Queue,
    metrics: Arc<Metrics>,
    /// False once the batcher stopped on its own (a failed batch).
    healthy: Arc<AtomicBool>,
    /// The OpenAPI document, with the model's labels.
    openapi: String,
}

/// A running service: the batcher and its dispatcher, and the routes over them.
pub struct Server {
    state: Arc<State>,
    stream: Stream<Ticket, Infallible>,
    shutdown: Arc<Shutdown>,
    dispatcher: JoinHandle<()>,
}

impl Server {
    /// Starts the batcher over `classifier`.
    pub fn start(classifier: Arc<Classifier>, options: ServeOptions) -> Result<Self> {
        if options.api_key.as_deref() == Some("") {
            return Err(Error::Invalid("the API key is empty".into()));
        }
        let metrics = Arc::new(Metrics::new());
        let shutdown = Arc::new(Shutdown::default());
        let stream_options = StreamOptions {
            max_batch: options.max_batch.max(1),
            max_wait: options.max_wait,
            // Room for every text of every admitted request: a send never waits.
            capacity: options.max_concurrent_requests.max(1) * options.max_texts_per_request.max(1),
            in_flight: options.in_flight.max(1),
            observer: Some(metrics.clone()),
        };
        let mut stream =
            Stream::with_shutdown(classifier.clone(), stream_options, Some(shutdown.clone()));
        let queue = Queue::new(
            stream.sender(),
            shutdown.clone(),
            metrics.queue_depth.clone(),
        );
        stream.close();
        let healthy = Arc::new(AtomicBool::new(true));
        let outputs = stream.receiver().clone();
        let (flag, stop) = (healthy.clone(), shutdown.stop.clone());
        let dispatcher = std::thread::spawn(move || {
            queue::dispatch(outputs);
            if !stop.load(Ordering::SeqCst) {
                flag.store(false, Ordering::SeqCst);
            }
        });
        let state = Arc::new(State {
            openapi: routes::openapi_document(classifier.labels()),
            classifier,
            api_key: options.api_key.clone().map(String::into_bytes),
            options,
            queue,
            metrics,
            healthy,
        });
        Ok(Self {
            state,
            stream,
            shutdown,
            dispatcher,
        })
    }

    /// The routes, for serving with `axum::serve` (or nesting in a larger router).
    pub fn router(&self) -> axum::Router {
        routes::router(self.state.clone())
    }

    /// Serves on `listener` until `signal` completes, then stops accepting, answers every
    /// request already accepted, and stops the batcher.
    pub async fn run(
        self,
        listener: tokio::net::TcpListener,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> Result<()> {
        let addr = listener
            .local_addr()
            .map_or_else(|_| "<listener>".to_string(), |a| a.to_string());
        axum::serve(listener, self.router())
            .with_graceful_shutdown(signal)
            .await
            .map_err(|e| Error::io(addr, e))?;
        self.finish()
    }

    /// Stops the batcher once it has scored what it took in, and returns its result.
    pub fn finish(self) -> Result<()> {
        self.shutdown.stop.store(true, Ordering::SeqCst);
        let _ = self.dispatcher.join();
        self.stream.finish()
    }
}
