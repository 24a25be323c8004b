//! The CLI's typed client of the tend API, and where its login is kept.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tend_proto::api::{Page, Problem};

use crate::exit::{NotLoggedIn, Refused, Unreachable};

/// What `tend login` keeps: the server and an API token.
#[derive(Clone, Serialize, Deserialize)]
pub struct Login {
    pub server: String,
    pub username: String,
    pub token: String,
}

/// `$XDG_CONFIG_HOME/tend/login.json`, or `~/.config/tend/login.json`.
pub fn login_path() -> anyhow::Result<PathBuf> {
    let base = match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => {
            PathBuf::from(std::env::var_os("HOME").context("neither XDG_CONFIG_HOME nor HOME is set")?).join(".config")
        }
    };
    Ok(base.join("tend").join("login.json"))
}

pub fn save_login(login: &Login) -> anyhow::Result<PathBuf> {
    let path = login_path()?;
    let dir = path.parent().context("login path has a directory")?;
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(&serde_json::to_vec_pretty(login)?)?;
    Ok(path)
}

pub fn load_login() -> anyhow::Result<Login> {
    let path = login_path()?;
    match fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).with_context(|| format!("{} is damaged; log in again", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(NotLoggedIn.into()),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

pub fn forget_login() -> anyhow::Result<()> {
    match fs::remove_file(login_path()?) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
        _ => Ok(()),
    }
}

pub struct Api {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Api {
    pub fn new(server: &str, token: Option<String>) -> anyhow::Result<Api> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build()?;
        Ok(Api { http, base: server.trim_end_matches('/').to_owned(), token })
    }

    /// A client with the stored login.
    pub fn logged_in() -> anyhow::Result<Api> {
        let login = load_login()?;
        Api::new(&login.server, Some(login.token))
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        self.send(self.http.get(self.url(path))).await
    }

    pub async fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> anyhow::Result<T> {
        self.send(self.http.post(self.url(path)).json(body)).await
    }

    /// Every item of a paginated list; `path` may carry its own query (`/api/v1/hosts?client=3`).
    pub async fn all<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<Vec<T>> {
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut items = Vec::new();
        let mut after = 0;
        loop {
            let page: Page<T> = self.get(&format!("{path}{separator}after={after}&limit=1000")).await?;
            items.extend(page.items);
            match page.next_cursor {
                Some(next) => after = next,
                None => return Ok(items),
            }
        }
    }

    pub async fn put<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> anyhow::Result<T> {
        self.send(self.http.put(self.url(path)).json(body)).await
    }

    /// A raw body (a file as published), e.g. an advisory import.
    pub async fn post_bytes<T: DeserializeOwned>(&self, path: &str, body: Vec<u8>) -> anyhow::Result<T> {
        self.send(self.http.post(self.url(path)).header("content-type", "application/json").body(body)).await
    }

    /// A request whose answer has no body (204).
    pub async fn post_empty(&self, path: &str) -> anyhow::Result<()> {
        self.answer(self.http.post(self.url(path))).await.map(drop)
    }

    /// A DELETE, whose answer has no body (204).
    pub async fn delete(&self, path: &str) -> anyhow::Result<()> {
        self.answer(self.http.delete(self.url(path))).await.map(drop)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn send<T: DeserializeOwned>(&self, request: reqwest::RequestBuilder) -> anyhow::Result<T> {
        let response = self.answer(request).await?;
        response.json().await.context("the server's answer is not what this tend expects")
    }

    async fn answer(&self, mut request: reqwest::RequestBuilder) -> anyhow::Result<reqwest::Response> {
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response =
            request.send().await.map_err(|e| Unreachable(format!("cannot reach {}: {}", self.base, root_cause(&e))))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let detail = match response.json::<Problem>().await {
            Ok(problem) => problem.detail,
            Err(_) => status.canonical_reason().unwrap_or("error").to_owned(),
        };
        Err(Refused { status: status.as_u16(), detail }.into())
    }
}

fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}
