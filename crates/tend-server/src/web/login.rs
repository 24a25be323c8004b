//! The login form and logging out of a browser session.

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;

use super::render;
use crate::api::check_password;
use crate::auth::{Caller, SESSION_COOKIE, Secret, Via, cookie, hash_secret};
use crate::{AppState, Error};

/// Double-submit cookie protecting the login form itself (there is no session yet).
const LOGIN_CSRF_COOKIE: &str = "tend_login_csrf";

#[derive(askama::Template)]
#[template(path = "login.html")]
struct LoginPage {
    csrf: String,
    error: Option<String>,
    username: String,
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    csrf: String,
}

#[derive(Deserialize)]
pub struct LogoutForm {
    csrf: String,
}

fn set_cookie(state: &AppState, name: &str, value: &str, max_age_secs: i64) -> HeaderValue {
    let secure = if state.config.secure_cookies() { "; Secure" } else { "" };
    let cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}");
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn login_page(
    state: &AppState,
    status: StatusCode,
    error: Option<String>,
    username: String,
) -> Result<Response, Error> {
    let csrf = Secret::Csrf.generate()?;
    let mut response = render(&LoginPage { csrf: csrf.clone(), error, username }, status);
    response.headers_mut().append(header::SET_COOKIE, set_cookie(state, LOGIN_CSRF_COOKIE, &csrf, 3600));
    Ok(response)
}

pub async fn form(State(state): State<AppState>) -> Result<Response, Error> {
    login_page(&state, StatusCode::OK, None, String::new())
}

pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, Error> {
    if cookie(&headers, LOGIN_CSRF_COOKIE).as_deref() != Some(form.csrf.as_str()) {
        let error = "The form expired. Please log in again.".to_owned();
        return login_page(&state, StatusCode::FORBIDDEN, Some(error), form.username);
    }
    let user = match check_password(&state, &form.username, &form.password).await {
        Ok(user) => user,
        Err(Error::Unauthorized(reason)) => {
            return login_page(&state, StatusCode::UNAUTHORIZED, Some(capitalized(reason)), form.username);
        }
        Err(other) => return Err(other),
    };
    // A fresh session id at every login: a planted cookie can never become a logged-in session.
    let session = Secret::Session.generate()?;
    let now = Timestamp::now();
    let lifetime = SignedDuration::from_hours(i64::from(state.config.sessions.lifetime_hours));
    let csrf = Secret::Csrf.generate()?;
    state.store.create_session(user.id, &hash_secret(&session), &csrf, now, now + lifetime).await?;
    tracing::info!(user = %user.username, "logged in");
    let mut response = Redirect::to("/").into_response();
    let headers = response.headers_mut();
    headers.append(header::SET_COOKIE, set_cookie(&state, SESSION_COOKIE, &session, lifetime.as_secs()));
    headers.append(header::SET_COOKIE, set_cookie(&state, LOGIN_CSRF_COOKIE, "", 0));
    Ok(response)
}

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Result<Response, Error> {
    let caller = Caller::from_session(&state, &headers).await?;
    if let (Some(Caller { via: Via::Session { csrf_token }, .. }), Some(session)) =
        (caller, cookie(&headers, SESSION_COOKIE))
    {
        // A forged logout from another site must not log anyone out.
        if csrf_token != form.csrf {
            return Err(Error::Refused(tend_core::Error::Forbidden("the logout form is not from this session")));
        }
        state.store.delete_session(&hash_secret(&session), Timestamp::now()).await?;
    }
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().append(header::SET_COOKIE, set_cookie(&state, SESSION_COOKIE, "", 0));
    Ok(response)
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect::<String>() + ".").unwrap_or_default()
}
