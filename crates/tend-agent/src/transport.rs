//! HTTP(S) to the control plane. The agent always calls; the server never calls the agent.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tend_proto::agent::{EnrollRequest, EnrollResponse, ReportAck, ReportBatch};
use tend_proto::api::Problem;

use crate::Error;

/// A request that takes longer is abandoned and retried later.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct Transport {
    http: reqwest::Client,
    base: String,
}

impl Transport {
    pub fn new(server_url: &str) -> Result<Transport, Error> {
        // rustls needs one process-wide crypto provider; a second install is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("tend-agent/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Unreachable(e.to_string()))?;
        Ok(Transport { http, base: server_url.trim_end_matches('/').to_owned() })
    }

    pub async fn enroll(&self, request: &EnrollRequest) -> Result<EnrollResponse, Error> {
        self.post("/api/agent/v1/enroll", None, request).await
    }

    pub async fn report(&self, credential: &str, batch: &ReportBatch) -> Result<ReportAck, Error> {
        self.post("/api/agent/v1/report", Some(credential), batch).await
    }

    async fn post<B: Serialize, R: DeserializeOwned>(
        &self,
        path: &str,
        credential: Option<&str>,
        body: &B,
    ) -> Result<R, Error> {
        let mut request = self.http.post(format!("{}{path}", self.base)).json(body);
        if let Some(credential) = credential {
            request = request.bearer_auth(credential);
        }
        let response = request.send().await.map_err(|e| Error::Unreachable(describe(&e)))?;
        if response.status().is_success() {
            return read_json(response).await;
        }
        Err(refusal(response).await)
    }

    /// GETs `path` with the agent's credential unless the server's copy still has `etag`:
    /// `None` when it answers 304 Not Modified, else the value and its new entity tag.
    pub(crate) async fn get_if_changed<R: DeserializeOwned>(
        &self,
        path: &str,
        credential: &str,
        etag: Option<&str>,
    ) -> Result<Option<(R, Option<String>)>, Error> {
        let mut request = self.http.get(format!("{}{path}", self.base)).bearer_auth(credential);
        if let Some(etag) = etag {
            request = request.header(reqwest::header::IF_NONE_MATCH, etag);
        }
        let response = request.send().await.map_err(|e| Error::Unreachable(describe(&e)))?;
        if response.status() == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(None);
        }
        if !response.status().is_success() {
            return Err(refusal(response).await);
        }
        let etag = response.headers().get(reqwest::header::ETAG).and_then(|v| v.to_str().ok()).map(str::to_owned);
        Ok(Some((read_json(response).await?, etag)))
    }
}

async fn read_json<R: DeserializeOwned>(response: reqwest::Response) -> Result<R, Error> {
    response.json().await.map_err(|e| Error::Unreachable(format!("unreadable answer: {e}")))
}

/// The error a non-success answer stands for.
async fn refusal(response: reqwest::Response) -> Error {
    let status = response.status();
    let detail = match response.json::<Problem>().await {
        Ok(problem) => problem.detail,
        Err(_) => status.canonical_reason().unwrap_or("no reason given").to_owned(),
    };
    match status.as_u16() {
        401 => Error::Unauthorized(detail),
        // Overload and server faults pass: the agent keeps its reports and tries again.
        408 | 429 | 500..=599 => Error::Unreachable(format!("{status}: {detail}")),
        code => Error::Rejected { status: code, detail },
    }
}

/// reqwest's error with its causes, without the URL's credentials (there are none in URLs).
pub(crate) fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
