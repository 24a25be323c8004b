//! The credential vault's key and sealing, the rule of who may reveal, and the purge when a
//! ticket closes.
//!
//! Credentials are sealed with ChaCha20-Poly1305 (ring) under a 32-byte key kept outside the
//! database: in a key file only the server's user may read (created on first start), or in
//! `TEND_VAULT_KEY`. Each seal takes a fresh random 96-bit nonce, and the host and name of the
//! credential are bound in as associated data, so sealed text copied onto another row does not
//! open. A stolen database or backup holds nothing readable without the key.
//!
//! Must not: log, print or put into an error message a secret or any key material. The key and
//! opened secrets are types whose `Debug` hides them; error messages name files and rows, never
//! contents.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jiff::Timestamp;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use tend_core::tenancy::{Role, Scope};
use tend_store::{AuditEntry, TicketRow, VaultCredentialRow};

use crate::config::Config;
use crate::{AppState, Error};

/// Bytes of a vault key.
pub const KEY_LEN: usize = 32;
/// The key file's name in the data directory unless `vault.key_file` says otherwise.
pub const KEY_FILE_NAME: &str = "vault.key";
/// Largest secret accepted: an RSA private key in PEM is about 3 KiB; certificates chains fit.
pub const MAX_SECRET_BYTES: usize = 16 * 1024;

/// Prefix of the sealed text's format: `v1:` then base64 of nonce ‖ ciphertext ‖ tag. A later
/// algorithm or key rotation gets another prefix, and old rows stay readable.
const SEALED_V1: &str = "v1:";
/// Domain separation: the associated data of a vault seal can be nothing else's.
const AAD_CONTEXT: &[u8] = b"tend vault credential v1\0";

/// The vault key. Its `Debug` shows nothing of it.
pub struct VaultKey {
    key: LessSafeKey,
    random: SystemRandom,
}

impl fmt::Debug for VaultKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VaultKey(<hidden>)")
    }
}

/// An opened secret. Its `Debug` shows nothing of it; `expose` is the one way to the text.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretText(String);

impl SecretText {
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn into_exposed(self) -> String {
        self.0
    }
}

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretText(<hidden>)")
    }
}

/// What a sealed credential belongs to: opening it under another binding fails.
#[derive(Debug, Clone, Copy)]
pub struct Binding<'a> {
    pub host_id: i64,
    pub name: &'a str,
}

impl Binding<'_> {
    pub fn of(row: &VaultCredentialRow) -> Binding<'_> {
        Binding { host_id: row.host_id, name: &row.name }
    }

    /// The host id has a fixed width and the name comes last, so no two bindings share bytes.
    fn associated_data(self) -> Vec<u8> {
        let mut data = AAD_CONTEXT.to_vec();
        data.extend_from_slice(&self.host_id.to_be_bytes());
        data.extend_from_slice(self.name.as_bytes());
        data
    }
}

impl VaultKey {
    pub fn from_bytes(bytes: &[u8]) -> Result<VaultKey, Error> {
        let unbound = UnboundKey::new(&CHACHA20_POLY1305, bytes)
            .map_err(|_| Error::Config(format!("a vault key is exactly {KEY_LEN} bytes")))?;
        Ok(VaultKey { key: LessSafeKey::new(unbound), random: SystemRandom::new() })
    }

    /// Seals a secret for one credential: `v1:` and base64 of nonce, ciphertext and tag.
    pub fn seal(&self, binding: Binding<'_>, secret: &str) -> Result<String, Error> {
        let mut nonce = [0u8; NONCE_LEN];
        self.random.fill(&mut nonce).map_err(|_| Error::Internal("no randomness for a vault nonce".into()))?;
        let mut sealed = secret.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(binding.associated_data()),
                &mut sealed,
            )
            .map_err(|_| Error::Internal("sealing a credential failed".into()))?;
        let mut out = nonce.to_vec();
        out.append(&mut sealed);
        Ok(format!("{SEALED_V1}{}", STANDARD.encode(out)))
    }

    /// Opens what [`VaultKey::seal`] sealed for the same binding. Another key, another binding
    /// or any changed byte fails, without saying more (a tampered row and a wrong key look
    /// alike, and either is for the operator, not the caller).
    pub fn open(&self, binding: Binding<'_>, sealed: &str) -> Result<SecretText, Error> {
        let refused = || Error::Internal("a sealed credential does not open with this vault key".into());
        let body = sealed.strip_prefix(SEALED_V1).ok_or_else(refused)?;
        let mut bytes = STANDARD.decode(body).map_err(|_| refused())?;
        if bytes.len() < NONCE_LEN {
            return Err(refused());
        }
        let mut in_out = bytes.split_off(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(&bytes).map_err(|_| refused())?;
        let opened = self.key.open_in_place(nonce, Aad::from(binding.associated_data()), &mut in_out);
        let length = opened.map_err(|_| refused())?.len();
        in_out.truncate(length);
        String::from_utf8(in_out).map(SecretText).map_err(|_| refused())
    }
}

/// A key given as text (`TEND_VAULT_KEY`): 64 hex digits or base64 of 32 bytes. The refusal
/// never repeats the text.
pub fn parse_key(text: &str) -> Result<[u8; KEY_LEN], &'static str> {
    let text = text.trim();
    let bytes = if text.len() == 2 * KEY_LEN && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex::decode(text).map_err(|_| "not hex")?
    } else {
        STANDARD.decode(text).map_err(|_| "neither 64 hex digits nor base64")?
    };
    bytes.try_into().map_err(|_| "not 32 bytes")
}

/// The vault of a running server: where its key comes from, and the key once loaded.
pub struct Vault {
    source: KeySource,
    key: OnceLock<VaultKey>,
}

enum KeySource {
    /// `vault.key` (`TEND_VAULT_KEY`).
    Given(String),
    File(PathBuf),
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = match &self.source {
            KeySource::Given(_) => "TEND_VAULT_KEY".to_owned(),
            KeySource::File(path) => path.display().to_string(),
        };
        f.debug_struct("Vault").field("key_source", &source).field("loaded", &self.key.get().is_some()).finish()
    }
}

impl Vault {
    /// Notes where the key comes from; nothing is read until [`Vault::key`].
    pub fn new(config: &Config) -> Vault {
        let source = if !config.vault.key.is_empty() {
            KeySource::Given(config.vault.key.clone())
        } else if config.vault.key_file.as_os_str().is_empty() {
            KeySource::File(config.data_dir.join(KEY_FILE_NAME))
        } else {
            KeySource::File(config.vault.key_file.clone())
        };
        Vault { source, key: OnceLock::new() }
    }

    /// The key, loaded (and the key file created) on first use. The server calls this before
    /// it listens, so a bad key stops it at start rather than at the first reveal.
    pub fn key(&self) -> Result<&VaultKey, Error> {
        if let Some(key) = self.key.get() {
            return Ok(key);
        }
        let loaded = match &self.source {
            KeySource::Given(text) => {
                let bytes = parse_key(text).map_err(|why| Error::Config(format!("TEND_VAULT_KEY: {why}")))?;
                VaultKey::from_bytes(&bytes)?
            }
            KeySource::File(path) => load_key_file(path)?,
        };
        // Two first uses at once load the same key; either may win.
        Ok(self.key.get_or_init(|| loaded))
    }
}

/// Reads the key file, creating it with a fresh key when it does not exist yet.
pub fn load_key_file(path: &Path) -> Result<VaultKey, Error> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            create_key_file(path)?;
            File::open(path).map_err(|e| key_file_error(path, &e))?
        }
        Err(e) => return Err(key_file_error(path, &e)),
    };
    read_key_file(path, file)
}

/// Checks the open file rather than the path, so what is checked is what is read.
fn read_key_file(path: &Path, file: File) -> Result<VaultKey, Error> {
    let shown = path.display();
    let metadata = file.metadata().map_err(|e| key_file_error(path, &e))?;
    if !metadata.is_file() {
        return Err(Error::Config(format!("vault key file {shown} is not a regular file")));
    }
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(Error::Config(format!(
            "vault key file {shown} is open to group or others (mode {mode:04o}); \
             make it readable by the server's user alone: chmod 600 {shown}"
        )));
    }
    // One byte more than a key, to tell a longer file from a key.
    let mut bytes = Vec::with_capacity(KEY_LEN + 1);
    file.take(KEY_LEN as u64 + 1).read_to_end(&mut bytes).map_err(|e| key_file_error(path, &e))?;
    if bytes.len() != KEY_LEN {
        return Err(Error::Config(format!(
            "vault key file {shown} is not a vault key: it must hold exactly {KEY_LEN} bytes; \
             restore it from your backup (a new key cannot open the credentials already stored)"
        )));
    }
    VaultKey::from_bytes(&bytes)
}

/// Writes a fresh key under a temporary name with mode 0600, then links it into place: the key
/// file appears whole or not at all, and never replaces one another instance just created.
fn create_key_file(path: &Path) -> Result<(), Error> {
    let mut key = [0u8; KEY_LEN];
    SystemRandom::new().fill(&mut key).map_err(|_| Error::Internal("no randomness for a vault key".into()))?;
    let temporary = path.with_file_name(format!(".{KEY_FILE_NAME}.{}.tmp", std::process::id()));
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temporary)
        .and_then(|mut file| file.write_all(&key).and_then(|()| file.sync_all()));
    let linked = written.and_then(|()| match std::fs::hard_link(&temporary, path) {
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(()),
        other => other,
    });
    let _ = std::fs::remove_file(&temporary);
    linked.map_err(|e| key_file_error(path, &e))?;
    if let Some(directory) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        File::open(directory).and_then(|d| d.sync_all()).map_err(|e| key_file_error(path, &e))?;
    }
    tracing::warn!(
        path = %path.display(),
        "created a new vault key; back it up apart from the database: without it stored credentials cannot be opened"
    );
    Ok(())
}

fn key_file_error(path: &Path, error: &std::io::Error) -> Error {
    Error::Config(format!("vault key file {}: {error}", path.display()))
}

/// Why a reveal is refused to someone who may see the credential.
pub const NOT_ASSIGNED: &str = "you are not assigned to an open ticket on this host";
pub const CUSTOMERS_NEVER_REVEAL: &str =
    "credentials are revealed only to the provider's technician assigned to an open ticket on the host";

/// Whether a caller of `role` may reveal a credential, given the open ticket on its host they
/// are assigned to, if any. Returns the ticket that allows it.
pub fn may_reveal(role: Role, assigned_ticket: Option<i64>) -> Result<i64, &'static str> {
    match role {
        Role::Admin | Role::Technician(_) => assigned_ticket.ok_or(NOT_ASSIGNED),
        Role::ClientAdmin | Role::ClientUser => Err(CUSTOMERS_NEVER_REVEAL),
    }
}

/// Call once a ticket has closed: its credentials are purged, unless the client's contract
/// keeps them; either way each is audited as `vault.purge`.
pub async fn purge_after_close(state: &AppState, ticket: &TicketRow) -> Result<(), Error> {
    let live = state.store.credentials_of_ticket(Scope::System, ticket.id).await?;
    if live.is_empty() {
        return Ok(());
    }
    let contract = state.store.contract(Scope::System, ticket.client_id).await?;
    let keep = contract.is_some_and(|c| c.keep_credentials);
    let now = Timestamp::now();
    let outcome = if keep {
        "kept"
    } else {
        state.store.purge_ticket_credentials(Scope::System, ticket.id, now).await?;
        "purged"
    };
    for credential in &live {
        let detail = if keep {
            format!(
                "credential '{}' kept after ticket {} closed: the contract keeps credentials",
                credential.name, ticket.id
            )
        } else {
            format!("credential '{}' purged: ticket {} closed", credential.name, ticket.id)
        };
        let entry = AuditEntry {
            id: 0,
            at: now,
            actor_id: None,
            client_id: Some(credential.client_id),
            host_id: Some(credential.host_id),
            ticket_id: Some(ticket.id),
            action: "vault.purge".into(),
            outcome: outcome.into(),
            detail,
        };
        state.store.audit(&entry).await?;
    }
    tracing::info!(ticket = ticket.id, credentials = live.len(), outcome, "vault credentials of a closed ticket");
    Ok(())
}

#[cfg(test)]
mod tests {
    use tend_core::tenancy::SupportLevel;

    use super::*;

    fn key(byte: u8) -> VaultKey {
        VaultKey::from_bytes(&[byte; KEY_LEN]).unwrap()
    }

    const ROOT: Binding<'static> = Binding { host_id: 7, name: "root" };

    #[test]
    fn seal_round_trips_with_a_fresh_nonce_each_time() {
        let key = key(1);
        let first = key.seal(ROOT, "hunter2 with spaces").unwrap();
        let second = key.seal(ROOT, "hunter2 with spaces").unwrap();
        assert!(first.starts_with("v1:"), "{first}");
        assert_ne!(first, second, "a nonce is never reused");
        assert!(!first.contains("hunter2"));
        assert_eq!(key.open(ROOT, &first).unwrap().expose(), "hunter2 with spaces");
        assert_eq!(key.open(ROOT, &second).unwrap().into_exposed(), "hunter2 with spaces");
        let long = "k".repeat(MAX_SECRET_BYTES);
        assert_eq!(key.open(ROOT, &key.seal(ROOT, &long).unwrap()).unwrap().expose(), long);
    }

    #[test]
    fn seal_refuses_tampered_text() {
        let key = key(1);
        let sealed = key.seal(ROOT, "hunter2").unwrap();
        let mut bytes = STANDARD.decode(&sealed[3..]).unwrap();
        for at in [0, NONCE_LEN, bytes.len() - 1] {
            bytes[at] ^= 1;
            let tampered = format!("v1:{}", STANDARD.encode(&bytes));
            assert!(key.open(ROOT, &tampered).is_err(), "byte {at} changed");
            bytes[at] ^= 1;
        }
        for broken in ["", "v1:", "v1:AAAA", "v2:AAAA", &sealed[3..], "v1:not base64!"] {
            assert!(key.open(ROOT, broken).is_err(), "{broken:?}");
        }
    }

    #[test]
    fn seal_binds_host_and_name_and_key() {
        let sealed = key(1).seal(ROOT, "hunter2").unwrap();
        assert!(key(1).open(Binding { host_id: 8, name: "root" }, &sealed).is_err(), "another host");
        assert!(key(1).open(Binding { host_id: 7, name: "ipmi" }, &sealed).is_err(), "another name");
        assert!(key(2).open(ROOT, &sealed).is_err(), "another key");
    }

    #[test]
    fn seal_errors_and_debug_output_hold_no_secret() {
        let key = key(1);
        assert_eq!(format!("{key:?}"), "VaultKey(<hidden>)");
        let sealed = key.seal(ROOT, "hunter2").unwrap();
        let opened = key.open(ROOT, &sealed).unwrap();
        assert_eq!(format!("{opened:?}"), "SecretText(<hidden>)");
        let error = key.open(Binding { host_id: 1, name: "x" }, &sealed).unwrap_err();
        assert!(!format!("{error} {error:?}").contains("hunter2"));
        let hex_key = "ab".repeat(KEY_LEN);
        let config = Config {
            vault: crate::config::VaultConfig { key: hex_key.clone(), ..Default::default() },
            ..Config::default()
        };
        assert!(!format!("{config:?} {:?}", Vault::new(&config)).contains(&hex_key));
    }

    #[test]
    fn seal_keys_parse_from_hex_or_base64_of_32_bytes() {
        assert_eq!(parse_key(&"0f".repeat(32)).unwrap(), [0x0f; 32]);
        assert_eq!(parse_key(&format!(" {}\n", STANDARD.encode([9u8; 32]))).unwrap(), [9; 32]);
        for bad in ["", "0f0f", &"0f".repeat(31), &STANDARD.encode([9u8; 31]), &"zz".repeat(32)] {
            assert!(parse_key(bad).is_err(), "{bad:?}");
        }
        let config = |key: &str| Config {
            vault: crate::config::VaultConfig { key: key.into(), ..Default::default() },
            ..Config::default()
        };
        assert!(config(&"0f".repeat(32)).validate().is_ok());
        let refused = config("secret-but-short").validate().unwrap_err().to_string();
        assert!(refused.contains("vault.key") && !refused.contains("secret-but-short"), "{refused}");
        let vault = Vault::new(&config(&STANDARD.encode([3u8; 32])));
        let sealed = vault.key().unwrap().seal(ROOT, "s").unwrap();
        assert_eq!(key(3).open(ROOT, &sealed).unwrap().expose(), "s");
    }

    #[test]
    fn seal_key_file_is_created_0600_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config { data_dir: dir.path().to_owned(), ..Config::default() };
        let sealed = Vault::new(&config).key().unwrap().seal(ROOT, "hunter2").unwrap();
        let path = dir.path().join(KEY_FILE_NAME);
        let metadata = std::fs::metadata(&path).unwrap();
        assert_eq!((metadata.permissions().mode() & 0o777, metadata.len()), (0o600, KEY_LEN as u64));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file left");
        let again = Vault::new(&config);
        assert_eq!(again.key().unwrap().open(ROOT, &sealed).unwrap().expose(), "hunter2", "the same key");
    }

    #[test]
    fn seal_key_file_refused_when_open_to_others_or_not_32_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("custom.key");
        std::fs::write(&path, [5u8; KEY_LEN]).unwrap();
        let config = Config {
            vault: crate::config::VaultConfig { key_file: path.clone(), ..Default::default() },
            ..Config::default()
        };
        for mode in [0o644, 0o640, 0o604, 0o660] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let refused = Vault::new(&config).key().unwrap_err().to_string();
            assert!(refused.contains("group or others") && refused.contains("chmod 600"), "{mode:o}: {refused}");
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        assert!(Vault::new(&config).key().is_ok(), "read-only for the owner is fine");

        for length in [0, 31, 33, 64] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
            std::fs::write(&path, vec![5u8; length]).unwrap();
            let refused = Vault::new(&config).key().unwrap_err().to_string();
            assert!(refused.contains("exactly 32 bytes"), "{length}: {refused}");
        }
        let missing_dir = Config {
            vault: crate::config::VaultConfig { key_file: dir.path().join("no/such/dir/key"), ..Default::default() },
            ..Config::default()
        };
        assert!(Vault::new(&missing_dir).key().unwrap_err().to_string().contains("vault key file"));
    }

    #[test]
    fn seal_reveal_rule_needs_staff_assigned_to_an_open_ticket() {
        let tech = Role::Technician(SupportLevel::L1);
        let cases: &[(Role, Option<i64>, Result<i64, &str>)] = &[
            (tech, Some(4), Ok(4)),
            (Role::Admin, Some(4), Ok(4)),
            (tech, None, Err(NOT_ASSIGNED)),
            (Role::Admin, None, Err(NOT_ASSIGNED)),
            (Role::ClientAdmin, Some(4), Err(CUSTOMERS_NEVER_REVEAL)),
            (Role::ClientUser, None, Err(CUSTOMERS_NEVER_REVEAL)),
        ];
        for (role, assigned, expected) in cases {
            assert_eq!(may_reveal(*role, *assigned), *expected, "{role:?} {assigned:?}");
        }
    }
}
