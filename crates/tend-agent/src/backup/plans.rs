//! The backup plans the server gives this host, kept in `state_dir/backup/plans.json` (0600:
//! they carry repository passwords; replaced atomically), so an agent restarted while the
//! server is away still runs them.
//!
//! The agent asks `GET /api/agent/v1/backup-plans` with the entity tag of its copy; the server
//! answers 304 while nothing changed. A server older than backups answers 404, which means no
//! plans.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tend_proto::backups::BackupPlan;

use crate::Error;
use crate::state::replace_privately;
use crate::transport::Transport;

const PATH: &str = "/api/agent/v1/backup-plans";
pub(crate) const FILE: &str = "plans.json";

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct Cached {
    etag: Option<String>,
    /// Sorted by name: the order plans take turns in when due together.
    plans: Vec<BackupPlan>,
}

#[derive(Debug)]
pub struct PlanCache {
    path: PathBuf,
    cached: Cached,
    /// Whether the "server has no backup plans endpoint" line was logged already.
    told_not_served: bool,
}

impl PlanCache {
    /// The copy in `dir`; none yet, or an unreadable one (logged), is no plans until the server
    /// is reached.
    pub fn open(dir: &Path) -> Result<PlanCache, Error> {
        let path = dir.join(FILE);
        let cached = match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::error!(path = %path.display(), error = %e, "unreadable copy of the backup plans; asking the server again");
                Cached::default()
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Cached::default(),
            Err(source) => return Err(Error::State { path, source }),
        };
        Ok(PlanCache { path, cached, told_not_served: false })
    }

    pub fn plans(&self) -> &[BackupPlan] {
        &self.cached.plans
    }

    /// Asks the server for changed plans and keeps them; `true` when they changed.
    pub async fn refresh(&mut self, transport: &Transport, credential: &str) -> Result<bool, Error> {
        let (plans, etag) = match transport.get_if_changed(PATH, credential, self.cached.etag.as_deref()).await {
            Ok(None) => return Ok(false),
            Ok(Some(answer)) => answer,
            Err(Error::Rejected { status: 404, .. }) => {
                if !self.told_not_served {
                    tracing::info!("the server does not serve backup plans (older than this agent); no backups run");
                    self.told_not_served = true;
                }
                (Vec::new(), None)
            }
            Err(e) => return Err(e),
        };
        self.replace(Cached { etag, plans })
    }

    fn replace(&mut self, mut fresh: Cached) -> Result<bool, Error> {
        fresh.plans.sort_by(|a, b| a.name.cmp(&b.name));
        if fresh.plans == self.cached.plans && fresh.etag == self.cached.etag {
            return Ok(false);
        }
        let bytes = serde_json::to_vec(&fresh)
            .map_err(|e| Error::StateCorrupt { path: self.path.clone(), reason: e.to_string() })?;
        replace_privately(&self.path, &bytes)?;
        let changed = fresh.plans != self.cached.plans;
        self.cached = fresh;
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// A server that answers each connection with the next of `answers` and hands back the
    /// requests it read.
    async fn server(answers: Vec<String>) -> (String, tokio::task::JoinHandle<Vec<String>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let serve = tokio::spawn(async move {
            let mut requests = Vec::new();
            for answer in answers {
                let (mut stream, _) = listener.accept().await.unwrap();
                let mut request = Vec::new();
                while !request.ends_with(b"\r\n\r\n") {
                    let mut byte = [0u8; 1];
                    stream.read_exact(&mut byte).await.unwrap();
                    request.push(byte[0]);
                }
                requests.push(String::from_utf8(request).unwrap().to_lowercase());
                stream.write_all(answer.as_bytes()).await.unwrap();
            }
            requests
        });
        (url, serve)
    }

    fn answer(status: &str, headers: &str, body: &str) -> String {
        format!("HTTP/1.1 {status}\r\nconnection: close\r\ncontent-length: {}\r\n{headers}\r\n{body}", body.len())
    }

    #[tokio::test]
    async fn backup_plans_are_kept_asked_for_conditionally_and_none_from_an_older_server() {
        let plan = |name: &str| serde_json::json!({"name": name, "repository": "/srv/repo", "password": "pw", "paths": ["/etc"]});
        let body = serde_json::json!([plan("zeta"), plan("alpha")]).to_string();
        let (url, serve) = server(vec![
            answer("200 OK", "content-type: application/json\r\netag: \"v1\"\r\n", &body),
            answer("304 Not Modified", "etag: \"v1\"\r\n", ""),
            answer("404 Not Found", "", ""),
        ])
        .await;
        let transport = Transport::new(&url).unwrap();
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(FILE), "{not json").unwrap();
        let mut cache = PlanCache::open(dir.path()).unwrap();
        assert!(cache.plans().is_empty());

        assert!(cache.refresh(&transport, "cred").await.unwrap());
        let names: Vec<_> = cache.plans().iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["alpha", "zeta"]);
        let mode = std::os::unix::fs::PermissionsExt::mode(&fs::metadata(dir.path().join(FILE)).unwrap().permissions());
        assert_eq!(mode & 0o777, 0o600);
        // A restarted agent has them without the server; the next ask is conditional.
        let mut cache = PlanCache::open(dir.path()).unwrap();
        assert_eq!(cache.plans().len(), 2);
        assert!(!cache.refresh(&transport, "cred").await.unwrap());
        assert_eq!(cache.plans().len(), 2);
        // An older server has no plans for this host.
        assert!(cache.refresh(&transport, "cred").await.unwrap());
        assert!(PlanCache::open(dir.path()).unwrap().plans().is_empty());

        let requests = serve.await.unwrap();
        assert!(requests.iter().all(|r| r.starts_with("get /api/agent/v1/backup-plans ")), "{requests:?}");
        assert!(requests.iter().all(|r| r.contains("authorization: bearer cred")));
        assert!(!requests[0].contains("if-none-match"));
        assert!(requests[1].contains("if-none-match: \"v1\""), "{}", requests[1]);

        // Nobody listens on port 9: the copy stays as it is and the error says so.
        let away = Transport::new("http://127.0.0.1:9").unwrap();
        assert!(matches!(cache.refresh(&away, "cred").await, Err(Error::Unreachable(_))));
    }
}
