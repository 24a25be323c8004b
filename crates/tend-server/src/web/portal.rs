//! The customer portal: a client's users file requests through forms that explain what they
//! acknowledge, follow and answer their tickets, confirm or reopen them, and see their hosts and
//! planned maintenance. The signed link of a resolution e-mail confirms without logging in.
//!
//! - `home`: the overview of one client: hosts, upcoming maintenance, tickets.
//! - `request`: the request forms, turned into a `NewTicket` and filed through `desk::tickets`.
//! - `ticket`: one ticket with its public history, SLA clocks and acknowledgements; replies,
//!   confirmation and reopening.
//! - `link`: the page behind a resolution e-mail's link.
//!
//! Every read goes through the customer's own `Scope::Client`, so another client's ticket is a
//! 404 like a missing one. Every form behind a session echoes the session's CSRF token; the
//! signed link, which has no session, uses a double-submit cookie like the login form.
//!
//! Must not decide what a customer may do to a ticket or what a form requires: `desk::tickets`
//! and `tend_core::desk` do, and the portal shows their refusals next to the field they name.

mod home;
mod link;
mod request;
mod ticket;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use jiff::Timestamp;
use tend_core::tenancy::Scope;
use tend_store::UserRow;

use super::render;
use crate::auth::{Caller, Via};
use crate::desk::tickets::Who;
use crate::{AppState, Error};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/portal", get(home::page))
        .route("/portal/tickets/new", get(request::form).post(request::submit))
        .route("/portal/tickets/{id}", get(ticket::page))
        .route("/portal/tickets/{id}/reply", post(ticket::reply))
        .route("/portal/tickets/{id}/confirm", post(ticket::confirm))
        .route("/portal/tickets/{id}/reopen", post(ticket::reopen))
        .route("/tickets/confirm/{token}", get(link::page).post(link::submit))
}

/// A signed-in user of a client, with the CSRF token their forms echo.
struct Customer {
    user: UserRow,
    client_id: i64,
    csrf: String,
}

impl Customer {
    /// The customer behind the request's session. Visitors without one log in first; the
    /// provider's staff have their own pages.
    async fn of(state: &AppState, headers: &HeaderMap) -> Result<Customer, PageError> {
        let Some(caller) = Caller::from_session(state, headers).await? else {
            return Err(PageError::Redirect("/login"));
        };
        let Scope::Client(client_id) = caller.scope() else { return Err(PageError::Redirect("/")) };
        let Via::Session { csrf_token } = caller.via else { return Err(PageError::Redirect("/login")) };
        Ok(Customer { user: caller.user, client_id, csrf: csrf_token })
    }

    fn scope(&self) -> Scope {
        Scope::Client(self.client_id)
    }

    fn who(&self) -> Who {
        Who { user_id: Some(self.user.id), role: Some(self.user.role), scope: self.scope() }
    }

    /// A change must come from one of our own pages: a cookie rides along with forged requests
    /// from other sites too, the session's token does not.
    fn check_csrf(&self, fields: &Fields) -> Result<(), PageError> {
        if fields.get("csrf") == self.csrf {
            Ok(())
        } else {
            Err(PageError::page(
                StatusCode::FORBIDDEN,
                "This form has expired",
                "The form did not come from your current session. Go back, reload the page and send it again.",
            ))
        }
    }
}

/// The fields of a submitted form in their order; repeated names (several hosts, several
/// windows) keep every value.
#[derive(Debug, Clone, Default)]
struct Fields(Vec<(String, String)>);

impl Fields {
    /// The first value of a field, empty when absent.
    fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
    }

    /// The value of a field unless blank, trimmed.
    fn given(&self, name: &str) -> Option<&str> {
        Some(self.get(name).trim()).filter(|v| !v.is_empty())
    }

    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0.iter().filter(move |(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Whether a checkbox, radio button or option with this value was chosen.
    fn has(&self, name: &str, value: &str) -> bool {
        self.all(name).any(|v| v == value)
    }

    fn set(&mut self, name: &str, value: impl Into<String>) {
        self.0.retain(|(k, _)| k != name);
        self.0.push((name.to_owned(), value.into()));
    }
}

/// A refusal shown on the page it refuses: next to the field it names, or above the form.
#[derive(Debug, Clone)]
struct Problem {
    field: Option<String>,
    message: String,
    status: StatusCode,
}

impl Problem {
    /// The message next to `field`, if the problem is about it.
    fn on(&self, field: &str) -> Option<&str> {
        (self.field.as_deref() == Some(field)).then_some(self.message.as_str())
    }

    /// The id of the element the error summary links to.
    fn anchor(&self) -> String {
        self.field.as_deref().map_or_else(|| "main".to_owned(), anchor)
    }
}

/// A field's element id: dots (`server.primary_ip`) are valid in ids but awkward in selectors.
fn anchor(field: &str) -> String {
    field.replace('.', "-")
}

/// The refusals a person can act on become a [`Problem`] on the page; anything else is a
/// failure of the page itself. `rename` maps the domain's field names to the form's.
fn problem(error: Error, rename: &dyn Fn(&str) -> String) -> Result<Problem, PageError> {
    use tend_store::Error as Store;
    let field_problem = |field: &str, message: String| Problem {
        field: Some(rename(field)),
        message: sentence(&message),
        status: StatusCode::UNPROCESSABLE_ENTITY,
    };
    let general = |message: String, status| Problem { field: None, message: sentence(&message), status };
    Ok(match error {
        Error::Invalid { detail, field: Some(field) } => field_problem(&field, detail),
        Error::Invalid { detail, field: None } => general(detail, StatusCode::UNPROCESSABLE_ENTITY),
        Error::Refused(tend_core::Error::Invalid { field, reason })
        | Error::Store(Store::Refused(tend_core::Error::Invalid { field, reason })) => field_problem(field, reason),
        Error::Refused(tend_core::Error::Forbidden(why))
        | Error::Store(Store::Refused(tend_core::Error::Forbidden(why))) => {
            general(why.to_owned(), StatusCode::FORBIDDEN)
        }
        Error::Store(Store::Conflict(why)) => general(why, StatusCode::CONFLICT),
        other => return Err(other.into()),
    })
}

/// "required: choose the server" → "Required: choose the server."
fn sentence(text: &str) -> String {
    let text = text.trim();
    let mut chars = text.chars();
    let Some(first) = chars.next() else { return String::new() };
    let mut out: String = first.to_uppercase().chain(chars).collect();
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

/// What a portal page answers when it cannot show what was asked: a page for a person, not a
/// problem document.
enum PageError {
    Redirect(&'static str),
    Page { status: StatusCode, title: &'static str, message: String },
}

impl PageError {
    fn page(status: StatusCode, title: &'static str, message: impl Into<String>) -> PageError {
        PageError::Page { status, title, message: message.into() }
    }

    fn not_found() -> PageError {
        PageError::page(
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no such page, or it is not one of your organisation's.",
        )
    }
}

impl From<Error> for PageError {
    fn from(error: Error) -> PageError {
        use tend_store::Error as Store;
        match error {
            Error::NotFound(_) | Error::Store(Store::NotFound(_)) => PageError::not_found(),
            Error::Unauthorized(_) => PageError::Redirect("/login"),
            Error::Refused(tend_core::Error::Forbidden(why))
            | Error::Store(Store::Refused(tend_core::Error::Forbidden(why))) => {
                PageError::page(StatusCode::FORBIDDEN, "Not allowed", sentence(why))
            }
            Error::BadRequest(why) | Error::Invalid { detail: why, .. } => {
                PageError::page(StatusCode::BAD_REQUEST, "Bad request", sentence(&why))
            }
            other => {
                tracing::error!(error = %other, "a portal page failed");
                PageError::page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "The page failed; the cause is in the server's log. Please try again later.",
                )
            }
        }
    }
}

impl From<tend_store::Error> for PageError {
    fn from(error: tend_store::Error) -> PageError {
        Error::from(error).into()
    }
}

#[derive(askama::Template)]
#[template(path = "portal_error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::Redirect(to) => Redirect::to(to).into_response(),
            PageError::Page { status, title, message } => render(&ErrorPage { title, message: &message }, status),
        }
    }
}

/// "45 min", "3 h 20 min", "2 d 4 h".
fn duration_text(minutes: i64) -> String {
    let minutes = minutes.abs();
    match minutes {
        0..60 => format!("{minutes} min"),
        60..2880 if minutes % 60 == 0 => format!("{} h", minutes / 60),
        60..2880 => format!("{} h {} min", minutes / 60, minutes % 60),
        _ if minutes % 1440 / 60 == 0 => format!("{} d", minutes / 1440),
        _ => format!("{} d {} h", minutes / 1440, minutes % 1440 / 60),
    }
}

/// An instant as people read it, in UTC: "2026-03-28 22:00 UTC".
fn time_text(at: Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

/// "12 s ago", "5 min ago", "3 h ago", "2 d ago".
fn ago(now: Timestamp, at: Timestamp) -> String {
    let secs = now.duration_since(at).as_secs().max(0);
    match secs {
        0..60 => format!("{secs} s ago"),
        _ => format!("{} ago", duration_text(secs / 60)),
    }
}

/// A ticket status as the customer reads it.
fn status_text(status: &str) -> &'static str {
    match status {
        "new" => "New",
        "open" => "Open",
        "in_progress" => "In progress",
        "waiting_on_customer" => "Waiting for your answer",
        "resolved" => "Resolved: please confirm",
        "closed" => "Closed",
        _ => "Unknown",
    }
}

fn kind_text(kind: &str) -> &'static str {
    match kind {
        "incident" => "Incident",
        "service_request" => "Service request",
        "intervention" => "Intervention on a server",
        "os_reinstall" => "Operating system reinstall",
        "hardware_change" => "Hardware change",
        "change" => "Change",
        _ => "Request",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_people_say_them() {
        for (minutes, text) in [
            (0, "0 min"),
            (45, "45 min"),
            (60, "1 h"),
            (200, "3 h 20 min"),
            (-200, "3 h 20 min"),
            (2880, "2 d"),
            (3120, "2 d 4 h"),
        ] {
            assert_eq!(duration_text(minutes), text, "{minutes}");
        }
    }

    #[test]
    fn refusals_become_sentences_next_to_their_field() {
        let refused = Error::Refused(tend_core::Error::Invalid {
            field: "erase_acknowledged",
            reason: "required: acknowledge that reinstalling erases all data on the server".into(),
        });
        let problem = problem(refused, &|f| f.to_owned()).ok().unwrap();
        assert_eq!(
            problem.on("erase_acknowledged"),
            Some("Required: acknowledge that reinstalling erases all data on the server.")
        );
        assert_eq!(problem.on("os"), None);
        let renamed = problem_of_text(Error::invalid_field("text", "text must not be empty"));
        assert_eq!((renamed.field.as_deref(), renamed.anchor().as_str()), (Some("reason"), "reason"));
        assert_eq!(anchor("server.primary_ip"), "server-primary_ip");
    }

    fn problem_of_text(error: Error) -> Problem {
        problem(error, &|f| if f == "text" { "reason".into() } else { f.to_owned() }).ok().unwrap()
    }

    #[test]
    fn fields_keep_repeated_values() {
        let mut fields =
            Fields(vec![("host_ids".into(), "1".into()), ("host_ids".into(), "3".into()), ("os".into(), "  ".into())]);
        assert_eq!(fields.all("host_ids").collect::<Vec<_>>(), ["1", "3"]);
        assert!(fields.has("host_ids", "3") && !fields.has("host_ids", "2"));
        assert_eq!((fields.get("os"), fields.given("os"), fields.get("missing")), ("  ", None, ""));
        fields.set("os", "Debian");
        assert_eq!(fields.given("os"), Some("Debian"));
    }
}
