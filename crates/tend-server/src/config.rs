//! The server's configuration: defaults in code, then the TOML file, then `TEND_*` variables.
//!
//! Every key of the file has an environment override named after its path:
//! `listen` → `TEND_LISTEN`, `http.max_body_bytes` → `TEND_HTTP_MAX_BODY_BYTES`.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::Error;

/// Prefix of every environment override.
pub const ENV_PREFIX: &str = "TEND_";

#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP server listens on.
    pub listen: SocketAddr,
    /// Where tend keeps its embedded database and files.
    pub data_dir: PathBuf,
    /// `postgres://…` to use PostgreSQL; empty for the embedded SQLite in `data_dir`.
    pub database_url: String,
    /// The address users and agents reach this server at; decides the cookie `Secure` flag.
    pub public_url: String,
    /// `text` or `json`.
    pub log_format: LogFormat,
    pub http: HttpConfig,
    pub sessions: SessionConfig,
    pub notifications: NotificationsConfig,
    pub desk: DeskConfig,
    pub vault: VaultConfig,
    pub patching: PatchingConfig,
    pub self_backup: SelfBackupConfig,
    /// The thresholds backups are judged by (`[backups]`): the domain's policy as it is.
    pub backups: tend_core::backups::BackupPolicy,
}

/// The server's scheduled backup of its own database; see [`crate::self_backup`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SelfBackupConfig {
    /// Where backups go; empty: no scheduled backups.
    pub dir: PathBuf,
    /// Hours between two backups; at least 1.
    pub every_hours: u32,
    /// How many backups are kept; older ones are removed; at least 1.
    pub keep: u32,
}

impl Default for SelfBackupConfig {
    fn default() -> Self {
        SelfBackupConfig { dir: PathBuf::new(), every_hours: 24, keep: 7 }
    }
}

/// Where advisories come from and what the provider promises about security fixes.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct PatchingConfig {
    /// Files, directories (every `*.json` and `*.jsonl` inside) or `http(s)://` URLs read every
    /// `refresh_hours`; the format of each is detected. In the environment: comma-separated.
    #[serde(deserialize_with = "list_or_commas")]
    pub advisory_sources: Vec<String>,
    /// Hours between two readings of the sources; at least 1.
    pub refresh_hours: u32,
    /// Time within which a security fix is applied once tend learned of it, e.g. "24h".
    pub security_promise: String,
}

impl Default for PatchingConfig {
    fn default() -> Self {
        PatchingConfig { advisory_sources: Vec::new(), refresh_hours: 6, security_promise: "24h".into() }
    }
}

impl PatchingConfig {
    /// The promise as a duration; [`Config::validate`] made sure it reads.
    pub fn security_promise(&self) -> jiff::SignedDuration {
        self.security_promise.parse().unwrap_or(tend_core::patching::DEFAULT_SECURITY_PROMISE)
    }
}

/// A URL's user and password are secrets: `Debug` shows the sources without them.
impl fmt::Debug for PatchingConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sources: Vec<String> = self.advisory_sources.iter().map(|s| without_userinfo(s)).collect();
        f.debug_struct("PatchingConfig")
            .field("advisory_sources", &sources)
            .field("refresh_hours", &self.refresh_hours)
            .field("security_promise", &self.security_promise)
            .finish()
    }
}

/// `source` with the `user:password@` of a URL replaced by `<credentials>@`.
pub(crate) fn without_userinfo(source: &str) -> String {
    let Some((scheme, rest)) = source.split_once("://") else { return source.to_owned() };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://<credentials>@{}", &rest[at + 1..]),
        None => source.to_owned(),
    }
}

/// A TOML list, or one string of comma-separated items (as an environment variable gives it).
fn list_or_commas<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum ListOrCommas {
        List(Vec<String>),
        Commas(String),
    }
    Ok(match ListOrCommas::deserialize(deserializer)? {
        ListOrCommas::List(items) => items,
        ListOrCommas::Commas(text) => {
            text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
        }
    })
}

/// Where the credential vault's key comes from; see [`crate::vault`].
#[derive(Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct VaultConfig {
    /// The key file (32 random bytes, mode 0600), created on first start; empty:
    /// `<data_dir>/vault.key`.
    pub key_file: PathBuf,
    /// The key itself, base64 or hex of 32 bytes, instead of the file (meant for `TEND_VAULT_KEY`).
    pub key: String,
}

impl fmt::Debug for VaultConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VaultConfig")
            .field("key_file", &self.key_file)
            .field("key", &if self.key.is_empty() { "" } else { "<set>" })
            .finish()
    }
}

/// The service desk's mail: where customers' replies go, the mailbox they are read from, and who
/// hears of SLA breaches.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DeskConfig {
    /// The desk's address, e.g. "support@provider.example": ticket e-mails are answered to
    /// "support+<ticket token>@provider.example", which routes the reply to its ticket.
    pub reply_address: String,
    /// Told of every SLA breach, besides the channels of the ticket's new support level.
    pub manager_email: String,
    /// The IMAP server holding the mailbox that `reply_address` delivers to; its replies land on
    /// their tickets. Empty: replies by e-mail are not read.
    pub imap_host: String,
    pub imap_port: u16,
    /// Implicit TLS (IMAPS); off only for a server on the same host.
    pub imap_tls: bool,
    pub imap_username: String,
    pub imap_password: String,
    pub imap_mailbox: String,
}

impl Default for DeskConfig {
    fn default() -> Self {
        DeskConfig {
            reply_address: String::new(),
            manager_email: String::new(),
            imap_host: String::new(),
            imap_port: 993,
            imap_tls: true,
            imap_username: String::new(),
            imap_password: String::new(),
            imap_mailbox: "INBOX".into(),
        }
    }
}

impl fmt::Debug for DeskConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeskConfig")
            .field("reply_address", &self.reply_address)
            .field("manager_email", &self.manager_email)
            .field("imap_host", &self.imap_host)
            .field("imap_port", &self.imap_port)
            .field("imap_tls", &self.imap_tls)
            .field("imap_username", &self.imap_username)
            .field("imap_password", &if self.imap_password.is_empty() { "" } else { "<set>" })
            .field("imap_mailbox", &self.imap_mailbox)
            .finish()
    }
}

/// How notifications leave: the SMTP relay for e-mail channels.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct NotificationsConfig {
    /// SMTP relay for e-mail notifications; empty: e-mail channels fail visibly.
    pub smtp_host: String,
    pub smtp_port: u16,
    /// STARTTLS before authenticating (off only for a relay on the same host).
    pub smtp_starttls: bool,
    pub smtp_username: String,
    pub smtp_password: String,
    /// The sender address, e.g. "tend <alerts@provider.example>".
    pub from: String,
    /// Remind the notified channels this often while an alert fires unacknowledged, e.g.
    /// "1h"; "0s": never.
    pub repeat_every: String,
    /// Escalate an alert firing this long unacknowledged to the channels of the next support
    /// level, e.g. "30m"; "0s": never.
    pub escalate_after: String,
    /// Days before a planned maintenance window its client's contacts get a notice, unless the
    /// window says otherwise; 0: no notice.
    pub maintenance_notice_days: u32,
}

impl Default for NotificationsConfig {
    fn default() -> Self {
        NotificationsConfig {
            smtp_host: String::new(),
            smtp_port: 587,
            smtp_starttls: true,
            smtp_username: String::new(),
            smtp_password: String::new(),
            from: "tend <tend@localhost>".into(),
            repeat_every: "1h".into(),
            escalate_after: "30m".into(),
            maintenance_notice_days: 3,
        }
    }
}

impl fmt::Debug for NotificationsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotificationsConfig")
            .field("smtp_host", &self.smtp_host)
            .field("smtp_port", &self.smtp_port)
            .field("smtp_starttls", &self.smtp_starttls)
            .field("smtp_username", &self.smtp_username)
            .field("smtp_password", &if self.smtp_password.is_empty() { "" } else { "<set>" })
            .field("from", &self.from)
            .field("repeat_every", &self.repeat_every)
            .field("escalate_after", &self.escalate_after)
            .field("maintenance_notice_days", &self.maintenance_notice_days)
            .finish()
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Largest request body of the user API.
    pub max_body_bytes: usize,
    /// Largest agent report batch (a replay after an outage carries many reports).
    pub max_report_bytes: usize,
    /// A request taking longer is answered 408 and dropped.
    pub request_timeout_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SessionConfig {
    /// How long a browser login lasts.
    pub lifetime_hours: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("/var/lib/tend"),
            database_url: String::new(),
            public_url: String::new(),
            log_format: LogFormat::Text,
            http: HttpConfig::default(),
            sessions: SessionConfig::default(),
            notifications: NotificationsConfig::default(),
            desk: DeskConfig::default(),
            vault: VaultConfig::default(),
            patching: PatchingConfig::default(),
            self_backup: SelfBackupConfig::default(),
            backups: tend_core::backups::BackupPolicy::default(),
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig { max_body_bytes: 1 << 20, max_report_bytes: 16 << 20, request_timeout_secs: 60 }
    }
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig { lifetime_hours: 12 }
    }
}

/// The database URL is the one secret here: never printed.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("database_url", &if self.database_url.is_empty() { "" } else { "<set>" })
            .field("public_url", &self.public_url)
            .field("log_format", &self.log_format)
            .field("http", &self.http)
            .field("sessions", &self.sessions)
            .field("notifications", &self.notifications)
            .field("desk", &self.desk)
            .field("vault", &self.vault)
            .field("patching", &self.patching)
            .field("self_backup", &self.self_backup)
            .field("backups", &self.backups)
            .finish()
    }
}

impl Config {
    /// Reads `file` (when given) over the defaults, then the `TEND_*` overrides from `env`.
    pub fn load(file: Option<&Path>, env: impl IntoIterator<Item = (String, String)>) -> Result<Config, Error> {
        let mut table = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))?;
                // The file alone first: its errors carry the line and the key.
                toml::from_str::<Config>(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
                text.parse::<toml::Table>().map_err(|e| Error::Config(format!("{}: {e}", path.display())))?
            }
            None => toml::Table::new(),
        };
        apply_env(&mut table, env)?;
        let config: Config = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| Error::Config(format!("environment ({ENV_PREFIX}*): {e}")))?;
        config.validate()?;
        Ok(config)
    }

    /// The commented example printed by `tend config example`.
    pub fn example() -> &'static str {
        include_str!("../config.example.toml")
    }

    pub fn validate(&self) -> Result<(), Error> {
        let invalid = |key: &str, reason: &str| Err(Error::Config(format!("{key}: {reason}")));
        if !self.database_url.is_empty() && tend_store::Backend::from_url(&self.database_url).is_none() {
            return invalid("database_url", "expected postgres://… or sqlite://…, or empty for the embedded database");
        }
        if !(self.public_url.is_empty()
            || self.public_url.starts_with("http://")
            || self.public_url.starts_with("https://"))
        {
            return invalid("public_url", "expected an http:// or https:// URL");
        }
        if self.http.max_body_bytes < 1024 || self.http.max_report_bytes < 1024 {
            return invalid("http", "body limits below 1024 bytes would refuse every request");
        }
        if self.http.request_timeout_secs == 0 {
            return invalid("http.request_timeout_secs", "must be at least 1");
        }
        if self.sessions.lifetime_hours == 0 {
            return invalid("sessions.lifetime_hours", "must be at least 1");
        }
        for (key, text) in [
            ("notifications.repeat_every", &self.notifications.repeat_every),
            ("notifications.escalate_after", &self.notifications.escalate_after),
        ] {
            if text.parse::<jiff::SignedDuration>().is_err() {
                return invalid(key, "expected a duration such as 30m, 1h or 0s");
            }
        }
        if !self.desk.imap_host.is_empty() {
            if self.desk.imap_port == 0 {
                return invalid("desk.imap_port", "must be a port number");
            }
            // IMAP quoted strings carry printable ASCII only; anything else would fail at every poll.
            let printable = |s: &str| !s.is_empty() && s.bytes().all(|b| (0x20..0x7f).contains(&b));
            for (key, value) in [
                ("desk.imap_username", &self.desk.imap_username),
                ("desk.imap_password", &self.desk.imap_password),
                ("desk.imap_mailbox", &self.desk.imap_mailbox),
            ] {
                if !printable(value) {
                    return invalid(key, "required with desk.imap_host; printable ASCII only");
                }
            }
        }
        if !self.vault.key.is_empty() && crate::vault::parse_key(&self.vault.key).is_err() {
            return invalid("vault.key", "expected 32 bytes, base64 or hex encoded (e.g. `openssl rand -base64 32`)");
        }
        if self.patching.refresh_hours == 0 {
            return invalid("patching.refresh_hours", "must be at least 1");
        }
        let promise = self.patching.security_promise.parse::<jiff::SignedDuration>();
        let max = tend_core::patching::MAX_SECURITY_PROMISE;
        if !promise.is_ok_and(|p| p > jiff::SignedDuration::ZERO && p <= max) {
            return invalid("patching.security_promise", &format!("expected a duration such as 24h, at most {max:#}"));
        }
        for source in &self.patching.advisory_sources {
            if source.trim().is_empty() {
                return invalid("patching.advisory_sources", "an empty source names nothing");
            }
            if source.contains("://") && !(source.starts_with("http://") || source.starts_with("https://")) {
                return invalid("patching.advisory_sources", "URLs must be http:// or https://");
            }
        }
        if self.self_backup.every_hours == 0 || self.self_backup.keep == 0 {
            return invalid("self_backup", "every_hours and keep must be at least 1");
        }
        match self.backups.validate() {
            Err(tend_core::Error::Invalid { field, reason }) => return invalid(&format!("backups.{field}"), &reason),
            Err(other) => return invalid("backups", &other.to_string()),
            Ok(()) => {}
        }
        Ok(())
    }

    /// The configured database, or the embedded SQLite file in the data directory.
    pub fn database_url(&self) -> String {
        if self.database_url.is_empty() {
            format!("sqlite://{}", self.data_dir.join("tend.db").display())
        } else {
            self.database_url.clone()
        }
    }

    /// The URL to show people: the configured public one or the listen address.
    pub fn base_url(&self) -> String {
        if self.public_url.is_empty() {
            format!("http://{}", self.listen)
        } else {
            self.public_url.trim_end_matches('/').to_owned()
        }
    }

    /// Cookies are `Secure` whenever the server is reached over HTTPS.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

/// Overlays `TEND_*` variables on the file's table, following the keys of the defaults so that
/// every key has an override and misspelt variables are reported instead of ignored.
fn apply_env(table: &mut toml::Table, env: impl IntoIterator<Item = (String, String)>) -> Result<(), Error> {
    let defaults = toml::Table::try_from(Config::default()).map_err(|e| Error::Config(e.to_string()))?;
    let keys = env_keys(&defaults, "");
    for (name, value) in env {
        let Some(rest) = name.strip_prefix(ENV_PREFIX) else { continue };
        if NOT_CONFIG_VARS.contains(&rest) || rest.starts_with("AGENT_") {
            continue;
        }
        let Some(path) = keys.iter().find(|(var, _)| var == rest).map(|(_, path)| path) else {
            return Err(Error::Config(format!("{name}: no such setting (see `tend config example`)")));
        };
        insert(table, path, parse_env_value(&value));
    }
    Ok(())
}

/// `TEND_*` variables read elsewhere (the CLI, the agent, tests), not server settings; so are
/// all `TEND_AGENT_*`.
const NOT_CONFIG_VARS: &[&str] =
    &["ADMIN_PASSWORD", "CONFIG", "SERVER", "TOKEN", "LOG", "TEST_DATABASE_URL", "STATE_DIR", "DATA"];

/// (VARIABLE_SUFFIX, [table, key]) for every leaf of the defaults.
fn env_keys(table: &toml::Table, prefix: &str) -> Vec<(String, Vec<String>)> {
    let mut keys = Vec::new();
    for (key, value) in table {
        let var = format!("{prefix}{}", key.to_uppercase());
        match value {
            toml::Value::Table(inner) => {
                for (inner_var, mut path) in env_keys(inner, &format!("{var}_")) {
                    path.insert(0, key.clone());
                    keys.push((inner_var, path));
                }
            }
            _ => keys.push((var, vec![key.clone()])),
        }
    }
    keys
}

/// Numbers and booleans are typed; anything else is a string. Only digits around one dot make
/// a float: Rust would also read "inf" or "NaN" as one, which may well be a password.
fn parse_env_value(value: &str) -> toml::Value {
    let decimal = |s: &str| {
        s.split_once('.').is_some_and(|(i, f)| {
            !(i.is_empty() && f.is_empty()) && i.bytes().chain(f.bytes()).all(|b| b.is_ascii_digit())
        })
    };
    if let Ok(n) = value.parse::<i64>() {
        toml::Value::Integer(n)
    } else if decimal(value)
        && let Ok(f) = value.parse::<f64>()
    {
        toml::Value::Float(f)
    } else if let Ok(b) = value.parse::<bool>() {
        toml::Value::Boolean(b)
    } else {
        toml::Value::String(value.to_owned())
    }
}

fn insert(table: &mut toml::Table, path: &[String], value: toml::Value) {
    let Some((last, parents)) = path.split_last() else { return };
    let mut current = table;
    for key in parents {
        let entry = current.entry(key.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        let toml::Value::Table(inner) = entry else { return };
        current = inner;
    }
    current.insert(last.clone(), value);
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    #[test]
    fn defaults_then_file_then_environment() {
        let f = file("listen = \"0.0.0.0:9000\"\n[http]\nmax_body_bytes = 2048\n");
        let config = Config::load(
            Some(f.path()),
            env(&[("TEND_HTTP_MAX_BODY_BYTES", "4096"), ("TEND_DATA_DIR", "/srv/tend"), ("HOME", "/root")]),
        )
        .unwrap();
        assert_eq!(config.listen.to_string(), "0.0.0.0:9000");
        assert_eq!(config.http.max_body_bytes, 4096);
        assert_eq!(config.data_dir, PathBuf::from("/srv/tend"));
        assert_eq!(config.database_url(), "sqlite:///srv/tend/tend.db");
        assert_eq!(config.sessions.lifetime_hours, 12);
    }

    #[test]
    fn errors_name_the_key_and_line() {
        let f = file("listen = \"0.0.0.0:9000\"\n\n[http]\nmax_body_bytes = \"lots\"\n");
        let err = Config::load(Some(f.path()), env(&[])).unwrap_err().to_string();
        assert!(err.contains("line 4") && err.contains("max_body_bytes"), "{err}");

        let f = file("lisen = \"0.0.0.0:9000\"\n");
        let err = Config::load(Some(f.path()), env(&[])).unwrap_err().to_string();
        assert!(err.contains("lisen") && err.contains("line 1"), "{err}");

        let err = Config::load(None, env(&[("TEND_LISTN", "x")])).unwrap_err().to_string();
        assert!(err.contains("TEND_LISTN"), "{err}");

        let err = Config::load(None, env(&[("TEND_DATABASE_URL", "mysql://x")])).unwrap_err().to_string();
        assert!(err.starts_with("invalid configuration: database_url"), "{err}");

        let err = Config::load(None, env(&[("TEND_NOTIFICATIONS_ESCALATE_AFTER", "soon")])).unwrap_err().to_string();
        assert!(err.contains("notifications.escalate_after"), "{err}");
        let config = Config::load(None, env(&[("TEND_NOTIFICATIONS_REPEAT_EVERY", "2h 30m")])).unwrap();
        assert_eq!(config.notifications.repeat_every, "2h 30m");
    }

    #[test]
    fn the_example_is_valid_and_complete() {
        let f = file(Config::example());
        let config = Config::load(Some(f.path()), env(&[])).unwrap();
        let defaults = toml::Table::try_from(Config::default()).unwrap();
        for (var, _) in env_keys(&defaults, "") {
            let documented = format!("TEND_{var}");
            assert!(Config::example().contains(&documented), "config.example.toml does not mention {documented}");
        }
        assert_eq!(config.http, HttpConfig::default());
    }

    #[test]
    fn the_backup_policy_comes_from_the_file_and_the_environment_and_is_validated() {
        let f = file("[backups]\nstale_grace_hours = 2\nrequire_off_site = false\n");
        let vars = env(&[("TEND_BACKUPS_SIZE_FACTOR", "2.5"), ("TEND_BACKUPS_MIN_COPIES", "2")]);
        let config = Config::load(Some(f.path()), vars).unwrap();
        let expected = tend_core::backups::BackupPolicy {
            stale_grace_hours: 2,
            require_off_site: false,
            size_factor: 2.5,
            min_copies: 2,
            ..Default::default()
        };
        assert_eq!(config.backups, expected);
        let err = Config::load(None, env(&[("TEND_BACKUPS_STALE_CRITICAL_HOURS", "12")])).unwrap_err().to_string();
        assert!(err.contains("backups.stale_critical_hours"), "{err}");
        // Not a number: kept as text, so the float field refuses it rather than reading NaN.
        assert!(Config::load(None, env(&[("TEND_BACKUPS_SIZE_FACTOR", "NaN")])).is_err());
        assert_eq!(parse_env_value("hunter2.5x"), toml::Value::String("hunter2.5x".into()));
    }

    #[test]
    fn debug_hides_the_database_url() {
        let config = Config { database_url: "postgres://u:pw@h/db".into(), ..Config::default() };
        assert!(!format!("{config:?}").contains("pw"));
    }

    #[test]
    fn the_inbound_imap_mailbox_is_checked_and_its_password_hidden() {
        let config = Config::load(
            None,
            env(&[
                ("TEND_DESK_IMAP_HOST", "imap.provider.test"),
                ("TEND_DESK_IMAP_USERNAME", "support"),
                ("TEND_DESK_IMAP_PASSWORD", "imap-hunter2"),
            ]),
        )
        .unwrap();
        assert_eq!(
            (config.desk.imap_port, config.desk.imap_tls, config.desk.imap_mailbox.as_str()),
            (993, true, "INBOX")
        );
        let shown = format!("{config:?}");
        assert!(!shown.contains("imap-hunter2") && shown.contains("imap_password: \"<set>\""), "{shown}");

        let err = Config::load(None, env(&[("TEND_DESK_IMAP_HOST", "imap.provider.test")])).unwrap_err().to_string();
        assert!(err.contains("desk.imap_username"), "{err}");
    }

    #[test]
    fn patching_sources_come_from_a_list_or_commas_and_hide_credentials() {
        let f = file("[patching]\nadvisory_sources = [\"/srv/osv\"]\nsecurity_promise = \"4h\"\n");
        let config = Config::load(Some(f.path()), env(&[])).unwrap();
        assert_eq!(config.patching.advisory_sources, ["/srv/osv"]);
        assert_eq!(config.patching.security_promise(), jiff::SignedDuration::from_hours(4));

        let sources = "https://mirror:s3cret@feeds.example/osv.json, /srv/tracker.json";
        let config = Config::load(None, env(&[("TEND_PATCHING_ADVISORY_SOURCES", sources)])).unwrap();
        assert_eq!(
            config.patching.advisory_sources,
            ["https://mirror:s3cret@feeds.example/osv.json", "/srv/tracker.json"]
        );
        let debug = format!("{config:?}");
        assert!(!debug.contains("s3cret") && debug.contains("<credentials>@feeds.example"), "{debug}");

        for (var, value) in [
            ("TEND_PATCHING_SECURITY_PROMISE", "soon"),
            ("TEND_PATCHING_SECURITY_PROMISE", "0s"),
            ("TEND_PATCHING_REFRESH_HOURS", "0"),
            ("TEND_PATCHING_ADVISORY_SOURCES", "ftp://feeds.example/osv.json"),
        ] {
            let err = Config::load(None, env(&[(var, value)])).unwrap_err().to_string();
            assert!(err.contains("patching."), "{var}={value}: {err}");
        }
    }

    #[test]
    fn self_backups_are_off_until_a_directory_is_set() {
        assert_eq!(Config::default().self_backup.dir, PathBuf::new());
        let vars = env(&[("TEND_SELF_BACKUP_DIR", "/srv/backups"), ("TEND_SELF_BACKUP_KEEP", "3")]);
        let config = Config::load(None, vars).unwrap();
        assert_eq!(
            config.self_backup,
            SelfBackupConfig { dir: PathBuf::from("/srv/backups"), every_hours: 24, keep: 3 }
        );
        let err = Config::load(None, env(&[("TEND_SELF_BACKUP_EVERY_HOURS", "0")])).unwrap_err().to_string();
        assert!(err.contains("self_backup"), "{err}");
    }
}
