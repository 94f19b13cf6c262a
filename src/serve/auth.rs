//! The API key: with one set, every route but `/health` needs `Authorization: Bearer <key>`,
//! compared in constant time.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use subtle::ConstantTimeEq;

use super::api::error;
use super::State as Shared;

/// True when `header` is `Bearer <key>`. Only the key's length can leak through timing.
pub(crate) fn authorized(header: Option<&HeaderValue>, key: &[u8]) -> bool {
    let Some(given) = header.and_then(|h| h.as_bytes().strip_prefix(b"Bearer ")) else {
        return false;
    };
    bool::from(given.ct_eq(key))
}

/// Refuses a request without the key, with 401 and `WWW-Authenticate`.
pub(crate) async fn require_key(
    State(state): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(key) = state.api_key.as_deref() else {
        return next.run(request).await;
    };
    if request.uri().path() == "/health"
        || authorized(request.headers().get(header::AUTHORIZATION), key)
    {
        return next.run(request).await;
    }
    let mut response = error(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "missing or wrong API key: send Authorization: Bearer <key>",
    );
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_bearer_key_passes() {
        let key = b"s3cret";
        let h = |s: &str| HeaderValue::from_str(s).unwrap();
        assert!(authorized(Some(&h("Bearer s3cret")), key));
        assert!(!authorized(Some(&h("Bearer s3cre")), key));
        assert!(!authorized(Some(&h("Bearer s3cret2")), key));
        assert!(!authorized(Some(&h("bearer s3cret")), key));
        assert!(!authorized(Some(&h("s3cret")), key));
        assert!(!authorized(None, key));
    }
}
