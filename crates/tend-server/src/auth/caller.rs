//! Extractors that authenticate a request.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use jiff::Timestamp;
use tend_core::tenancy::{Principal, Scope};
use tend_store::{AgentIdentity, UserRow};

use super::hash_secret;
use crate::{AppState, Error};

/// Name of the browser session cookie.
pub const SESSION_COOKIE: &str = "tend_session";
/// Header carrying the session's CSRF token on API calls made from the browser.
const CSRF_HEADER: &str = "x-csrf-token";

/// An authenticated user.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: UserRow,
    pub via: Via,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    ApiToken {
        id: i64,
    },
    /// A browser session, with the CSRF token its forms and scripts must echo.
    Session {
        csrf_token: String,
    },
}

impl Caller {
    pub fn principal(&self) -> Principal {
        self.user.principal()
    }

    pub fn scope(&self) -> Scope {
        self.principal().scope()
    }

    /// Looks for a session cookie; `None` when absent, expired or unknown.
    pub async fn from_session(state: &AppState, headers: &HeaderMap) -> Result<Option<Caller>, Error> {
        let Some(session) = cookie(headers, SESSION_COOKIE) else { return Ok(None) };
        let found = state.store.session(&hash_secret(&session), Timestamp::now()).await?;
        Ok(found.map(|s| Caller { user: s.user, via: Via::Session { csrf_token: s.csrf_token } }))
    }

    async fn from_bearer(state: &AppState, token: &str) -> Result<Caller, Error> {
        let found = state.store.user_by_api_token(&hash_secret(token), Timestamp::now()).await?;
        let (user, id) = found.ok_or(Error::Unauthorized("the API token is unknown or revoked"))?;
        Ok(Caller { user, via: Via::ApiToken { id } })
    }
}

/// The value of a cookie in the request.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ").map(str::trim)
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, Error> {
        if let Some(token) = bearer(&parts.headers) {
            return Caller::from_bearer(state, token).await;
        }
        let caller = Caller::from_session(state, &parts.headers)
            .await?
            .ok_or(Error::Unauthorized("log in, or send an API token as 'Authorization: Bearer …'"))?;
        // A cookie rides along with any request the browser makes, including forged ones from
        // other sites: changes through a session must prove they come from our own pages.
        if let Via::Session { csrf_token } = &caller.via {
            let echoed = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
            if !is_safe(&parts.method) && echoed != Some(csrf_token.as_str()) {
                return Err(Error::Refused(tend_core::Error::Forbidden("missing or wrong X-CSRF-Token header")));
            }
        }
        Ok(caller)
    }
}

/// An authenticated, unrevoked agent.
#[derive(Debug, Clone)]
pub struct Agent(pub AgentIdentity);

impl FromRequestParts<AppState> for Agent {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Agent, Error> {
        let credential = bearer(&parts.headers).ok_or(Error::Unauthorized("agent credential missing"))?;
        match state.store.agent_by_credential(&hash_secret(credential)).await? {
            Some(agent) if !agent.revoked => Ok(Agent(agent)),
            Some(agent) => {
                tracing::info!(agent_id = agent.agent_id, host_id = agent.host_id, "refused a revoked agent");
                Err(Error::Unauthorized("this agent's credential was revoked; enroll it again"))
            }
            None => Err(Error::Unauthorized("unknown agent credential")),
        }
    }
}
