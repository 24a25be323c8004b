//! The server's one error type, and how each error answers over HTTP.
//!
//! Every API error is an RFC 9457 problem document. Client errors are logged at debug level
//! only; internal errors are logged with their cause and answered without internals.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use tend_proto::PROBLEM_CONTENT_TYPE;
use tend_proto::api::Problem;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Store(#[from] tend_store::Error),
    #[error(transparent)]
    Refused(#[from] tend_core::Error),
    #[error("{0}")]
    Unauthorized(&'static str),
    /// The request cannot be read (malformed JSON, bad parameters).
    #[error("{0}")]
    BadRequest(String),
    /// The request is readable but its content is refused; `field` names the culprit if known.
    #[error("{detail}")]
    Invalid { detail: String, field: Option<String> },
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Internal(String),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    pub fn bad_request(detail: impl Into<String>) -> Error {
        Error::BadRequest(detail.into())
    }

    pub fn invalid_field(field: &str, detail: impl Into<String>) -> Error {
        Error::Invalid { detail: detail.into(), field: Some(field.to_owned()) }
    }

    /// (status, problem type slug, title, field).
    fn classify(&self) -> (StatusCode, &'static str, &'static str, Option<String>) {
        use tend_store::Error as Store;
        match self {
            Error::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized", "Not authenticated", None),
            Error::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad-request", "Bad request", None),
            Error::Invalid { field, .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid", "Invalid request", field.clone())
            }
            Error::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too-large", "Request too large", None),
            Error::NotFound(_) | Error::Store(Store::NotFound(_)) => {
                (StatusCode::NOT_FOUND, "not-found", "Not found", None)
            }
            Error::Store(Store::Conflict(_)) => (StatusCode::CONFLICT, "conflict", "Conflict", None),
            Error::Refused(refusal) | Error::Store(Store::Refused(refusal)) => refusal_status(refusal),
            Error::Config(_) | Error::Store(_) | Error::Internal(_) | Error::Io(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal server error", None)
            }
        }
    }
}

fn refusal_status(refusal: &tend_core::Error) -> (StatusCode, &'static str, &'static str, Option<String>) {
    match refusal {
        tend_core::Error::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "Forbidden", None),
        tend_core::Error::EnrollmentRefused(_) => {
            (StatusCode::FORBIDDEN, "enrollment-refused", "Enrollment refused", None)
        }
        tend_core::Error::NothingToAcknowledge => (StatusCode::CONFLICT, "conflict", "Conflict", None),
        tend_core::Error::Invalid { field, .. } => {
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid", "Invalid request", Some((*field).to_owned()))
        }
    }
}

/// The problem document for an error; internal details stay in the log.
pub fn problem(status: StatusCode, slug: &str, title: &str, detail: String, field: Option<String>) -> Problem {
    Problem {
        type_uri: format!("urn:tend:problem:{slug}"),
        title: title.to_owned(),
        status: status.as_u16(),
        detail,
        field,
    }
}

pub fn problem_response(problem: Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    (status, [(header::CONTENT_TYPE, PROBLEM_CONTENT_TYPE)], body).into_response()
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, slug, title, field) = self.classify();
        let detail = if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
            "the server failed to handle the request; the cause is in its log".to_owned()
        } else {
            tracing::debug!(error = %self, %status, "request refused");
            self.to_string()
        };
        problem_response(problem(status, slug, title, detail, field))
    }
}
