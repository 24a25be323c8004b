//! Server-rendered pages. Templates are compiled into the binary; the only script and style
//! sheet are our own.
//!
//! Forms are protected against cross-site request forgery: the login form by a double-submit
//! cookie, every form behind a session by the session's own CSRF token.

mod dashboard;
mod login;
mod portal;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(dashboard::page))
        .route("/login", get(login::form).post(login::submit))
        .route("/logout", axum::routing::post(login::logout))
        .route("/static/tend.css", get(stylesheet))
        .merge(portal::router())
}

async fn stylesheet() -> Response {
    let css = include_str!("../../static/tend.css");
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "max-age=3600")], css).into_response()
}

/// Renders a template, or a plain 500 page if the template itself fails.
fn render(template: &impl askama::Template, status: StatusCode) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "the page failed to render; the cause is in the server log")
                .into_response()
        }
    }
}
