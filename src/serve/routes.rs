//! The routes and the middleware that counts every answer by route and status.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use super::api::{self, error, json_response, overloaded};
use super::auth::require_key;
use super::queue::Refused;
use super::State as Shared;
use crate::model::Precision;

/// The OpenAPI 3.1 description of these routes; [`openapi_document`] fills in the model's labels.
const OPENAPI: &str = include_str!("openapi.json");

/// The OpenAPI document for a model with `labels`: `thresholds` names exactly those labels.
pub(crate) fn openapi_document(labels: &[String]) -> String {
    let mut doc: Value = serde_json::from_str(OPENAPI).expect("openapi.json is valid JSON");
    let threshold = json!({"type": "number", "minimum": 0, "maximum": 1});
    let properties: serde_json::Map<String, Value> = labels
        .iter()
        .map(|l| (l.clone(), threshold.clone()))
        .collect();
    let schema = &mut doc["components"]["schemas"]["ClassifyRequest"]["properties"]["thresholds"];
    schema["properties"] = Value::Object(properties);
    schema["additionalProperties"] = Value::Bool(false);
    doc["info"]["version"] = json!(env!("CARGO_PKG_VERSION"));
    doc.to_string()
}

pub(crate) fn router(state: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/classify", post(classify))
        .route("/health", get(health))
        .route("/info", get(info))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(state.options.max_body_bytes))
        .layer(middleware::from_fn_with_state(state.clone(), require_key))
        .layer(middleware::from_fn_with_state(state.clone(), count))
        .with_state(state)
}

/// Counts the answer by route and status.
async fn count(State(state): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let response = next.run(request).await;
    state.metrics.request(&route, response.status().as_u16());
    response
}

/// Holds one admitted request's place until its answer is made.
struct Admitted<'a>(&'a Shared);

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        self.0.metrics.requests_in_flight.dec();
    }
}

impl Shared {
    /// A place for one more classify request, or `None` when all are taken.
    fn admit(&self) -> Option<Admitted<'_>> {
        let limit = self.options.max_concurrent_requests.max(1) as i64;
        if self.metrics.requests_in_flight.inc() >= limit {
            self.metrics.requests_in_flight.dec();
            return None;
        }
        Some(Admitted(self))
    }
}

async fn classify(
    State(state): State<Arc<Shared>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Some(_admitted) = state.admit() else {
        return overloaded("too many requests in flight; retry later");
    };
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            let status = rejection.status();
            let kind = if status == StatusCode::PAYLOAD_TOO_LARGE {
                "payload_too_large"
            } else {
                "body"
            };
            let limit = state.options.max_body_bytes;
            return error(
                status,
                kind,
                format!("body: {} (limit {limit} bytes)", rejection.body_text()),
            );
        }
    };
    let request = match api::parse(
        &body,
        &state.classifier,
        state.options.max_texts_per_request,
    ) {
        Ok(r) => r,
        Err(message) => return error(StatusCode::UNPROCESSABLE_ENTITY, "validation", message),
    };
    let pending = match state.queue.submit(request.texts, request.ask) {
        Ok(p) => p,
        Err(Refused::Full) => return overloaded("the queue is full; retry later"),
        Err(Refused::Closed) => return unavailable(),
    };
    match pending.wait().await {
        Some(predictions) => json_response(StatusCode::OK, &api::answers(&predictions)),
        None => unavailable(),
    }
}

fn unavailable() -> Response {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "the scoring batcher has stopped",
    )
}

async fn health(State(state): State<Arc<Shared>>) -> Response {
    if state.healthy.load(Ordering::SeqCst) {
        json_response(StatusCode::OK, &json!({"status": "ok"}))
    } else {
        unavailable()
    }
}

async fn info(State(state): State<Arc<Shared>>) -> Response {
    let c = &state.classifier;
    let o = &state.options;
    let thresholds: serde_json::Map<String, Value> = c
        .labels()
        .iter()
        .zip(c.thresholds())
        .map(|(l, t)| (l.clone(), json!(t)))
        .collect();
    let precision = match c.precision() {
        Precision::F32 => "f32",
        _ => "fast",
    };
    json_response(
        StatusCode::OK,
        &json!({
            "model": c.name(),
            "version": env!("CARGO_PKG_VERSION"),
            "labels": c.labels(),
            "thresholds": thresholds,
            "max_length": c.max_length(),
            "precision": precision,
            "untrained": c.is_untrained(),
            "max_batch_tokens": c.options().max_batch_tokens,
            "max_batch": o.max_batch,
            "max_wait_ms": o.max_wait.as_millis() as u64,
            "max_concurrent_requests": o.max_concurrent_requests,
            "max_texts_per_request": o.max_texts_per_request,
            "max_body_bytes": o.max_body_bytes,
            "auth": o.api_key.is_some(),
        }),
    )
}

async fn metrics(State(state): State<Arc<Shared>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.encode(),
    )
        .into_response()
}

async fn openapi(State(state): State<Arc<Shared>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.openapi.clone(),
    )
        .into_response()
}

async fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such route; see /openapi.json",
    )
}
