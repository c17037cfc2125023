//! The desk's errors: `{"message", "code"}` (plus `position` for a bad query), one code
//! per kind of failure, with the status it maps to. Internal errors are logged where they
//! happen and never shown to the caller.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use yuqing_indexer::query::QueryError;

#[derive(Debug, Serialize)]
struct ApiError {
    message: String,
    code: &'static str,
    /// For a bad query: the character of the query where the problem is.
    #[serde(skip_serializing_if = "Option::is_none")]
    position: Option<usize>,
}

#[derive(Debug)]
pub(crate) enum DeskError {
    BadQuery(QueryError),
    BadParameter(String),
    NotFound(String),
    /// No route has this path (as opposed to a route that found no such document).
    NoRoute(String),
    Conflict(String),
    /// No credentials, or ones no longer valid: the message says how to get some.
    Unauthorized(String),
    /// Credentials valid, but the role (or the link) does not allow this.
    Forbidden(String),
    /// The path is a route, the method is not one of it.
    MethodNotAllowed(String),
    /// The Host header names another site.
    MisdirectedHost(String),
    /// Too many attempts (logins); the message says until when.
    TooMany(String),
    /// The part of the system this route needs does not run in this process; the message
    /// says what to start.
    Unavailable(&'static str),
    Internal,
}

impl IntoResponse for DeskError {
    fn into_response(self) -> Response {
        let (status, code, message, position) = match self {
            DeskError::BadQuery(error) => (
                StatusCode::BAD_REQUEST,
                "bad_query",
                error.message,
                Some(error.position),
            ),
            DeskError::BadParameter(message) => {
                (StatusCode::BAD_REQUEST, "bad_parameter", message, None)
            }
            DeskError::NotFound(message) => (StatusCode::NOT_FOUND, "not_found", message, None),
            DeskError::NoRoute(message) => (StatusCode::NOT_FOUND, "no_route", message, None),
            DeskError::Conflict(message) => (StatusCode::CONFLICT, "conflict", message, None),
            DeskError::Unauthorized(message) => {
                let mut response = (
                    StatusCode::UNAUTHORIZED,
                    Json(ApiError {
                        message,
                        code: "unauthorized",
                        position: None,
                    }),
                )
                    .into_response();
                // Bearer, never Basic: a Basic challenge makes browsers open a login box.
                response.headers_mut().insert(
                    axum::http::header::WWW_AUTHENTICATE,
                    axum::http::HeaderValue::from_static("Bearer realm=\"yuqing\""),
                );
                return response;
            }
            DeskError::Forbidden(message) => (StatusCode::FORBIDDEN, "forbidden", message, None),
            DeskError::MethodNotAllowed(message) => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                message,
                None,
            ),
            DeskError::MisdirectedHost(message) => {
                (StatusCode::MISDIRECTED_REQUEST, "bad_host", message, None)
            }
            DeskError::TooMany(message) => {
                (StatusCode::TOO_MANY_REQUESTS, "too_many", message, None)
            }
            DeskError::Unavailable(message) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                message.to_string(),
                None,
            ),
            DeskError::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the request failed; see the server log".to_string(),
                None,
            ),
        };
        (
            status,
            Json(ApiError {
                message,
                code,
                position,
            }),
        )
            .into_response()
    }
}

/// Runs blocking work (the index, SQLite) off the async threads; a panic in it is a 500
/// for this request, logged, and nothing more.
pub(crate) async fn blocking<T: Send + 'static>(
    what: &'static str,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, DeskError> {
    tokio::task::spawn_blocking(work).await.map_err(|panic| {
        tracing::error!(%panic, what, "desk request panicked");
        DeskError::Internal
    })
}

/// The answer to a request whose handler panicked: a 500 like any internal error, the
/// panic logged; the server and every other request go on.
pub(crate) fn panicked(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    tracing::error!(panic = %message, "desk request panicked");
    DeskError::Internal.into_response()
}
