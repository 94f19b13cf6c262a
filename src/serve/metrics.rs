//! Prometheus metrics (OpenMetrics text, as Prometheus scrapes it): requests by route and status,
//! texts and tokens scored, batch sizes, queue depth, and queue and inference latency.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::run::stream::{BatchReport, StreamObserver};

/// A request's route (the matched pattern, or `unmatched`) and response status.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RequestLabels {
    pub route: String,
    pub status: String,
}

/// Every metric the server keeps.
#[derive(Debug)]
pub(crate) struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub requests_in_flight: Gauge,
    pub texts: Counter,
    pub texts_cancelled: Counter,
    pub tokens: Counter,
    pub tokens_per_second: Gauge<f64, AtomicU64>,
    pub batch_size: Histogram,
    pub queue_depth: Gauge,
    pub queue_seconds: Histogram,
    pub inference_seconds: Histogram,
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let mut m = Self {
            registry: Registry::with_prefix("patrol"),
            requests: Family::default(),
            requests_in_flight: Gauge::default(),
            texts: Counter::default(),
            texts_cancelled: Counter::default(),
            tokens: Counter::default(),
            tokens_per_second: Gauge::default(),
            // 1, 2, 4, ... 512 posts.
            batch_size: Histogram::new(exponential_buckets(1.0, 2.0, 10)),
            queue_depth: Gauge::default(),
            // 0.5 ms to about 16 s.
            queue_seconds: Histogram::new(exponential_buckets(0.0005, 2.0, 16)),
            inference_seconds: Histogram::new(exponential_buckets(0.0005, 2.0, 16)),
        };
        macro_rules! register {
            ($($name:literal, $help:literal, $metric:expr;)*) => {
                $(m.registry.register($name, $help, $metric.clone());)*
            };
        }
        register! {
            "requests", "HTTP requests by route and status", m.requests;
            "requests_in_flight", "Classify requests admitted and not yet answered", m.requests_in_flight;
            "texts", "Texts scored", m.texts;
            "texts_cancelled", "Queued texts dropped unscored because their client went away", m.texts_cancelled;
            "tokens", "Tokens the model read (rate() of it is tokens per second)", m.tokens;
            "tokens_per_second", "Tokens per second of scoring in the latest batch", m.tokens_per_second;
            "batch_size", "Posts per micro-batch", m.batch_size;
            "queue_depth", "Texts queued or being scored", m.queue_depth;
            "queue_duration_seconds", "Time a text waits from arrival to the start of its batch", m.queue_seconds;
            "inference_duration_seconds", "Time to score one micro-batch", m.inference_seconds;
        }
        m
    }

    /// Counts one answered request.
    pub(crate) fn request(&self, route: &str, status: u16) {
        self.requests
            .get_or_create(&RequestLabels {
                route: route.to_string(),
                status: status.to_string(),
            })
            .inc();
    }

    /// The metrics in the OpenMetrics text format.
    pub(crate) fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

impl StreamObserver for Metrics {
    fn batch(&self, report: &BatchReport) {
        self.texts.inc_by(report.posts as u64);
        self.texts_cancelled.inc_by(report.cancelled as u64);
        self.tokens.inc_by(report.tokens as u64);
        if report.posts > 0 {
            self.batch_size.observe(report.posts as f64);
            let seconds = report.scoring.as_secs_f64();
            self.inference_seconds.observe(seconds);
            if seconds > 0.0 {
                self.tokens_per_second.set(report.tokens as f64 / seconds);
            }
        }
        for wait in &report.waits {
            self.queue_seconds.observe(wait.as_secs_f64());
        }
    }
}
