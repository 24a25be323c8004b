//! Secrets: generating them, and hashing them for storage.
//!
//! Tokens and credentials are 256 random bits, so a plain SHA-256 is enough to make a stolen
//! database useless to log in with; passwords are chosen by people and get argon2id.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use sha2::{Digest, Sha256};

use crate::Error;

/// What a secret is for; its prefix lets secret scanners and people recognise a leaked one.
#[derive(Debug, Clone, Copy)]
pub enum Secret {
    ApiToken,
    AgentCredential,
    EnrollmentToken,
    /// The secret in a heartbeat check's ping URL.
    PingToken,
    Session,
    Csrf,
}

impl Secret {
    fn prefix(self) -> &'static str {
        match self {
            Secret::ApiToken => "tnd_u_",
            Secret::AgentCredential => "tnd_a_",
            Secret::EnrollmentToken => "tnd_e_",
            Secret::PingToken => "tnd_p_",
            Secret::Session | Secret::Csrf => "",
        }
    }

    pub fn generate(self) -> Result<String, Error> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| Error::Internal(format!("no randomness: {e}")))?;
        Ok(format!("{}{}", self.prefix(), hex::encode(bytes)))
    }
}

/// The stored form of a token, credential or session id.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// argon2id with the crate's recommended parameters; runs off the async threads.
pub async fn hash_password(password: String) -> Result<String, Error> {
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|e| Error::Internal(format!("no randomness: {e}")))?;
        let salt = SaltString::encode_b64(&salt).map_err(|e| Error::Internal(e.to_string()))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| Error::Internal(format!("password hashing failed: {e}")))
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))?
}

pub async fn verify_password(password: String, stored: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&stored)
            .is_ok_and(|hash| Argon2::default().verify_password(password.as_bytes(), &hash).is_ok())
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_unique_and_hashed() {
        let a = Secret::ApiToken.generate().unwrap();
        let b = Secret::ApiToken.generate().unwrap();
        assert!(a.starts_with("tnd_u_") && a.len() == 6 + 64);
        assert_ne!(a, b);
        assert_eq!(hash_secret(&a), hash_secret(&a));
        assert_ne!(hash_secret(&a), a);
    }

    #[tokio::test]
    async fn passwords_verify_only_themselves() {
        let hash = hash_password("correct horse".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse".into(), hash.clone()).await);
        assert!(!verify_password("battery staple".into(), hash.clone()).await);
        assert!(!verify_password("x".into(), "not a hash".into()).await);
    }
}
