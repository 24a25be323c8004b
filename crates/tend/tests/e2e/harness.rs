//! A real server on an ephemeral port, real `tend` processes, and a small API client.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tend_server::{AppState, Config, setup};
use tend_store::Store;
use tend_store::testing::TestDatabase;
use tokio::sync::oneshot;

pub const ADMIN_PASSWORD: &str = "correct-horse-battery-staple";

/// A running control plane with an administrator.
pub struct Server {
    pub url: String,
    pub store: Store,
    pub admin: Api,
    pub dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), tend_server::Error>>>,
}

impl Server {
    pub async fn start(db: &TestDatabase) -> Server {
        Server::start_with(db, |_| {}).await
    }

    pub async fn start_with(db: &TestDatabase, adjust: impl FnOnce(&mut Config)) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let mut config = Config {
            listen: listener.local_addr().unwrap(),
            data_dir: dir.path().to_owned(),
            database_url: db.url.clone(),
            public_url: url.clone(),
            ..Config::default()
        };
        adjust(&mut config);
        let store = Store::open(&config.database_url()).await.unwrap();
        setup::ensure_admin(&store, Some(ADMIN_PASSWORD.into())).await.unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let state = AppState::new(store.clone(), config);
        let task = tokio::spawn(tend_server::serve(state, listener, async {
            let _ = stopped.await;
        }));
        let admin = Api::login(&url, "admin", ADMIN_PASSWORD).await;
        Server { url, store, admin, dir, stop: Some(stop), task: Some(task) }
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
        self.store.close().await;
    }

    /// A client and a token that enrolls `uses` machines into it.
    pub async fn client_with_token(&self, name: &str, uses: u32) -> (i64, String) {
        let client: tend_proto::api::Client =
            self.admin.post_ok("/api/v1/clients", &serde_json::json!({ "name": name })).await;
        let token: tend_proto::api::EnrollmentToken = self
            .admin
            .post_ok("/api/v1/enrollment-tokens", &serde_json::json!({ "client_id": client.id, "uses": uses }))
            .await;
        (client.id, token.token.unwrap())
    }

    pub fn state_dir(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// Enrolls an agent with the real CLI, its state in `dir/state`: the state directory and the
/// host id the server gave it.
pub async fn enroll_agent(server: &Server, token: &str, dir: &Path) -> (PathBuf, i64) {
    let state_dir = dir.join("state");
    let mut enroll = tend(server.dir.path());
    enroll.args(["agent", "enroll", "--server", &server.url, "--token", token, "--state-dir"]).arg(&state_dir);
    let output = run(enroll).await;
    assert!(output.status.success(), "enroll failed: {}", text(&output.stderr));
    let stdout = text(&output.stdout);
    let host_id = stdout.split("(host ").nth(1).and_then(|rest| rest.split(')').next()).unwrap().parse().unwrap();
    (state_dir, host_id)
}

/// Runs `test` on a fresh database of every configured backend.
pub async fn each_backend<F, Fut>(test: F)
where
    F: Fn(TestDatabase) -> Fut,
    Fut: std::future::Future<Output = TestDatabase>,
{
    for db in TestDatabase::all().await {
        eprintln!("--- backend {:?}", db.backend);
        test(db).await.remove().await;
    }
}

/// Like [`each_backend`], with the backends side by side: for tests that mostly wait on the clock.
pub async fn each_backend_at_once<F, Fut>(test: F)
where
    F: Fn(TestDatabase) -> Fut,
    Fut: std::future::Future<Output = TestDatabase>,
{
    let mut databases = TestDatabase::all().await.into_iter();
    let first = databases.next().expect("the embedded database is always there");
    match databases.next() {
        Some(second) => {
            let (first, second) = tokio::join!(test(first), test(second));
            first.remove().await;
            second.remove().await;
        }
        None => test(first).await.remove().await,
    }
}

/// A minimal API client that returns status and body, so tests can assert on refusals.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    pub url: String,
    pub token: Option<String>,
}

pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: serde_json::Value,
}

impl Answer {
    /// The body of a problem document, checking that it is one.
    pub fn problem(&self) -> tend_proto::api::Problem {
        assert_eq!(self.content_type, "application/problem+json", "status {} body {}", self.status, self.body);
        serde_json::from_value(self.body.clone()).expect("a problem document")
    }
}

impl Api {
    pub fn anonymous(url: &str) -> Api {
        let _ = rustls::crypto::ring::default_provider().install_default();
        Api { http: reqwest::Client::new(), url: url.to_owned(), token: None }
    }

    pub async fn login(url: &str, username: &str, password: &str) -> Api {
        let anonymous = Api::anonymous(url);
        let body = serde_json::json!({ "username": username, "password": password });
        let issued: tend_proto::api::IssuedToken = anonymous.post_ok("/api/v1/auth/login", &body).await;
        Api { token: Some(issued.token), ..anonymous }
    }

    pub fn with_token(&self, token: &str) -> Api {
        Api { token: Some(token.to_owned()), ..self.clone() }
    }

    pub async fn request(&self, method: reqwest::Method, path: &str, body: Option<Vec<u8>>) -> Answer {
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status().as_u16();
        let content_type =
            response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        let bytes = response.bytes().await.unwrap();
        let body = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        Answer { status, content_type, body }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.request(reqwest::Method::GET, path, None).await
    }

    pub async fn post<B: Serialize>(&self, path: &str, body: &B) -> Answer {
        self.request(reqwest::Method::POST, path, Some(serde_json::to_vec(body).unwrap())).await
    }

    pub async fn get_ok<T: DeserializeOwned>(&self, path: &str) -> T {
        let answer = self.get(path).await;
        assert_eq!(answer.status, 200, "GET {path}: {}", answer.body);
        serde_json::from_value(answer.body).unwrap()
    }

    pub async fn post_ok<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> T {
        let answer = self.post(path, body).await;
        assert!(answer.status == 200 || answer.status == 201, "POST {path}: {} {}", answer.status, answer.body);
        serde_json::from_value(answer.body).unwrap()
    }
}

/// The `tend` binary, with its CLI login kept in `home`.
pub fn tend(home: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tend"));
    command.env("XDG_CONFIG_HOME", home.join("config")).env("TEND_LOG", "info").env_remove("TEND_SERVER");
    command.stdin(Stdio::null());
    command
}

/// Runs a `tend` command to completion off the async threads.
pub async fn run(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || command.output().expect("tend runs")).await.unwrap()
}

/// Runs a command with `input` on standard input.
pub async fn run_with_input(mut command: Command, input: &str) -> Output {
    use std::io::Write;
    let input = input.to_owned();
    command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    tokio::task::spawn_blocking(move || {
        let mut child = command.spawn().unwrap();
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap()
}

/// Logs the CLI whose login lives in `home` in as `user`, through `tend login --password-stdin`.
pub async fn cli_login(home: &Path, url: &str, user: &str, password: &str) {
    let mut login = tend(home);
    login.args(["login", "--server", url, "--user", user, "--password-stdin"]);
    let done = run_with_input(login, &format!("{password}\n")).await;
    assert!(done.status.success(), "{}", text(&done.stderr));
}

/// `tend` with `args`, logged in as the server's administrator by its saved login (the login
/// command itself is tested in cli.rs).
pub fn admin_cli(server: &Server, args: &[&str]) -> Command {
    use std::os::unix::fs::PermissionsExt;
    let dir = server.dir.path().join("config/tend");
    std::fs::create_dir_all(&dir).unwrap();
    let login = serde_json::json!({ "server": server.url, "username": "admin", "token": server.admin.token });
    let path = dir.join("login.json");
    std::fs::write(&path, login.to_string()).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut command = tend(server.dir.path());
    command.args(args);
    command
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Sends a signal to a child process.
pub fn signal(child: &std::process::Child, name: &str) {
    let status = Command::new("kill").arg(format!("-{name}")).arg(child.id().to_string()).status().unwrap();
    assert!(status.success());
}

/// Waits for a child to exit, at most `limit`.
pub async fn wait_exit(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "process {} did not exit in {limit:?}", child.id());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls `probe` until it yields a value, at most `limit`.
pub async fn eventually<T, F, Fut>(limit: Duration, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub fn now() -> Timestamp {
    Timestamp::now()
}
