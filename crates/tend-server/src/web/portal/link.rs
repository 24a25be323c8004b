//! The page behind the link of a resolution e-mail: confirm the fix with a rating, or reopen the
//! ticket with a reason, without logging in. The link's token is the ticket's reply secret,
//! sent only to the customer; it shows nothing but the ticket's number, subject and status.
//!
//! There is no session to hold a CSRF token, so the forms are protected like the login form: a
//! double-submit cookie, scoped to these pages, that the form must echo.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use tend_core::tenancy::{Role, Scope};
use tend_store::TicketRow;

use super::ticket::{ResolutionForms, confirmation};
use super::{Fields, PageError, Problem, problem, status_text};
use crate::auth::{Secret, cookie};
use crate::desk::tickets::{self, Action, Who};
use crate::web::render;
use crate::{AppState, Error};

const LINK_CSRF_COOKIE: &str = "tend_link_csrf";
const LINK_PATH: &str = "/tickets/confirm";

#[derive(askama::Template)]
#[template(path = "portal_link.html")]
struct LinkPage<'a> {
    token: &'a str,
    csrf: String,
    id: i64,
    subject: &'a str,
    status: &'a str,
    status_text: &'static str,
    rating: Option<i64>,
    fields: Fields,
    problem: Option<Problem>,
}

impl ResolutionForms for LinkPage<'_> {
    fn fields(&self) -> &Fields {
        &self.fields
    }

    fn problem(&self) -> Option<&Problem> {
        self.problem.as_ref()
    }
}

pub async fn page(State(state): State<AppState>, Path(token): Path<String>) -> Result<Response, PageError> {
    let ticket = by_token(&state, &token).await?;
    link_page(&state, &token, &ticket, Fields::default(), None)
}

pub async fn submit(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let ticket = by_token(&state, &token).await?;
    let fields = Fields(pairs);
    let echoed = fields.get("csrf");
    if echoed.is_empty() || cookie(&headers, LINK_CSRF_COOKIE).as_deref() != Some(echoed) {
        let expired = Problem {
            field: None,
            message: "The form expired or did not come from this page. Please send it again.".to_owned(),
            status: StatusCode::FORBIDDEN,
        };
        return link_page(&state, &token, &ticket, fields, Some(expired));
    }
    // Whoever holds the link acts as the client's customer, and only on this ticket.
    let customer = Who { user_id: None, role: Some(Role::ClientUser), scope: Scope::Client(ticket.client_id) };
    let (action, text_field) = match fields.get("action") {
        "confirm" => (confirmation(&fields), "comment"),
        "reopen" => (Ok(Action::Reopen(fields.get("reason").to_owned())), "reason"),
        _ => return Err(PageError::page(StatusCode::BAD_REQUEST, "Bad request", "Choose to confirm or to reopen.")),
    };
    let done = match action {
        Ok(action) => tickets::act(&state, customer, ticket.id, action, Timestamp::now()).await,
        Err(refused) => Err(refused),
    };
    match done {
        Ok(_) => Ok(Redirect::to(&format!("{LINK_PATH}/{token}")).into_response()),
        Err(refused) => {
            let problem =
                problem(refused, &|field| if field == "text" { text_field.to_owned() } else { field.to_owned() })?;
            let ticket = by_token(&state, &token).await?;
            link_page(&state, &token, &ticket, fields, Some(problem))
        }
    }
}

async fn by_token(state: &AppState, token: &str) -> Result<TicketRow, PageError> {
    state.store.ticket_by_reply_token(token).await?.ok_or_else(PageError::not_found)
}

/// The page with a fresh double-submit cookie. The token in the address must not travel on in
/// a Referer header, nor stay in a shared cache.
fn link_page(
    state: &AppState,
    token: &str,
    ticket: &TicketRow,
    fields: Fields,
    problem: Option<Problem>,
) -> Result<Response, PageError> {
    let csrf = Secret::Csrf.generate().map_err(PageError::from)?;
    let status = problem.as_ref().map_or(StatusCode::OK, |p| p.status);
    let page = LinkPage {
        token,
        csrf: csrf.clone(),
        id: ticket.id,
        subject: &ticket.subject,
        status: &ticket.status,
        status_text: status_text(&ticket.status),
        rating: ticket.rating,
        fields,
        problem,
    };
    let mut response = render(&page, status);
    let secure = if state.config.secure_cookies() { "; Secure" } else { "" };
    let cookie =
        format!("{LINK_CSRF_COOKIE}={csrf}; Path={LINK_PATH}; HttpOnly; SameSite=Strict; Max-Age=3600{secure}");
    let headers = response.headers_mut();
    headers.append(header::SET_COOKIE, HeaderValue::from_str(&cookie).map_err(|e| Error::Internal(e.to_string()))?);
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
