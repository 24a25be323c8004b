//! `tend enroll-token create`.

use tend_proto::api::{EnrollmentToken, NewEnrollmentToken};

use super::clients::{resolve_client, resolve_site};
use crate::cli::EnrollTokenCommand;
use crate::client::{Api, load_login};
use crate::output::json;

pub async fn run(command: EnrollTokenCommand) -> anyhow::Result<()> {
    let EnrollTokenCommand::Create { client, site, expires, uses, output } = command;
    let api = Api::logged_in()?;
    let client_id = resolve_client(&api, &client).await?;
    let site_id = match site {
        Some(site) => Some(resolve_site(&api, client_id, &site).await?),
        None => None,
    };
    let request = NewEnrollmentToken { client_id, site_id, expires, uses };
    let token: EnrollmentToken = api.post("/api/v1/enrollment-tokens", &request).await?;
    if output.json {
        return json(&token);
    }
    let secret = token.token.unwrap_or_default();
    let server = load_login()?.server;
    println!(
        "Enrollment token {} (uses: {}, expires {}):\n\n  {secret}\n",
        token.id, token.uses_allowed, token.expires_at
    );
    println!(
        "On the server to manage, as root:\n\n  tend agent enroll --server {server} --token {secret}\n  tend agent run"
    );
    Ok(())
}
