//! First start of a control plane: the first administrator, a client, an enrollment token.
//!
//! Used by `tend up`; every step finds what an earlier start made instead of making it again.

use jiff::Timestamp;
use tend_core::tenancy::{Role, Scope};
use tend_proto::api::NewEnrollmentToken;
use tend_store::{ClientRow, Store, UserRow};

use crate::Error;
use crate::api::{enrollment, users};

/// The first administrator's user name.
pub const ADMIN_USERNAME: &str = "admin";

/// The administrator, and the password when this call generated it (to be shown once).
pub async fn ensure_admin(store: &Store, password: Option<String>) -> Result<(UserRow, Option<String>), Error> {
    if let Some(admin) = store.user_by_username(ADMIN_USERNAME).await? {
        return Ok((admin, None));
    }
    let (password, generated) = match password {
        Some(password) => (password, false),
        None => (generate_password()?, true),
    };
    let admin = users::create(store, ADMIN_USERNAME, password.clone(), Role::Admin, None).await?;
    Ok((admin, generated.then_some(password)))
}

/// The client of this name, created when missing.
pub async fn ensure_client(store: &Store, name: &str) -> Result<ClientRow, Error> {
    match store.client_by_name(Scope::System, name).await {
        Ok(client) => Ok(client),
        Err(tend_store::Error::NotFound(_)) => Ok(store.create_client(name, Timestamp::now()).await?),
        Err(e) => Err(e.into()),
    }
}

/// A single-use enrollment token for `client`, valid for an hour, issued by `admin`.
pub async fn enrollment_token(store: &Store, admin: &UserRow, client: &ClientRow) -> Result<String, Error> {
    let request = NewEnrollmentToken { client_id: client.id, site_id: None, expires: Some("1h".into()), uses: Some(1) };
    let token = enrollment::issue(store, &admin.principal(), &request, Timestamp::now()).await?;
    token.token.ok_or_else(|| Error::Internal("an issued token carries its secret".into()))
}

/// 20 characters from an alphabet without look-alikes (no 0/O, 1/l/I): about 115 bits.
fn generate_password() -> Result<String, Error> {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 20];
    getrandom::fill(&mut bytes).map_err(|e| Error::Internal(format!("no randomness: {e}")))?;
    // 256 is not a multiple of the alphabet's size; the slight bias costs well under a bit.
    Ok(bytes.iter().map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect())
}
