//! `tend vault put|list|reveal` and `tend audit list`.
//!
//! Secrets come in on standard input only (argv is visible to every user of the machine and
//! lands in shell history) and go out on standard output only when revealed; never in a log
//! line or an error message.

use std::io::{IsTerminal, Read};

use anyhow::{Context, bail};
use tend_proto::api::{AuditEntry, Credential, NewCredential, RevealRequest, RevealedCredential};

use super::hosts::resolve_host;
use crate::cli::{AuditCommand, VaultCommand};
use crate::client::Api;
use crate::output::{Table, json, or_dash};

pub async fn run(command: VaultCommand) -> anyhow::Result<()> {
    let api = Api::logged_in()?;
    match command {
        VaultCommand::Put { host, name, kind, username, ticket, output } => {
            let id = resolve_host(&api, &host).await?;
            let secret = read_secret(&kind)?;
            let new = NewCredential { name, kind, username, secret, ticket_id: ticket };
            let stored: Credential = api.post(&format!("/api/v1/hosts/{id}/credentials"), &new).await?;
            if output.json {
                return json(&stored);
            }
            println!("Stored credential {} '{}' for host {id}.", stored.id, stored.name);
        }
        VaultCommand::List { host, output } => {
            let id = resolve_host(&api, &host).await?;
            let credentials: Vec<Credential> = api.get(&format!("/api/v1/hosts/{id}/credentials")).await?;
            if output.json {
                return json(&credentials);
            }
            let mut table = Table::new(&["ID", "NAME", "KIND", "USERNAME", "TICKET", "CREATED", "PURGED"]);
            for c in &credentials {
                table.row(vec![
                    c.id.to_string(),
                    c.name.clone(),
                    c.kind.clone(),
                    or_dash((!c.username.is_empty()).then_some(&c.username)),
                    or_dash(c.ticket_id),
                    c.created_at.clone(),
                    or_dash(c.purged_at.as_deref()),
                ]);
            }
            print!("{}", table.render());
        }
        VaultCommand::Reveal { id, reason, output } => {
            let request = RevealRequest { reason };
            let revealed: RevealedCredential = api.post(&format!("/api/v1/credentials/{id}/reveal"), &request).await?;
            if output.json {
                return json(&revealed);
            }
            // The secret alone on standard output, so `tend vault reveal … | ssh-add -` works;
            // what it is goes to standard error.
            let c = &revealed.credential;
            let user = if c.username.is_empty() { String::new() } else { format!(", user {}", c.username) };
            eprintln!(
                "Credential {} '{}' ({}{user}), revealed under ticket {}:",
                c.id, c.name, c.kind, revealed.ticket_id
            );
            println!("{}", revealed.secret.trim_end_matches('\n'));
        }
    }
    Ok(())
}

/// The secret from standard input: a hidden prompt on a terminal, else everything piped in.
/// One trailing line break is the shell's, not the password's; an SSH key keeps its own.
fn read_secret(kind: &str) -> anyhow::Result<String> {
    let secret = if std::io::stdin().is_terminal() {
        rpassword::prompt_password("Secret: ").context("reading the secret")?
    } else {
        let mut text = String::new();
        std::io::stdin().lock().read_to_string(&mut text).context("reading the secret from standard input")?;
        if kind != "ssh_key" {
            text.truncate(text.trim_end_matches(['\r', '\n']).len());
        }
        text
    };
    if secret.trim().is_empty() {
        bail!("no secret on standard input: pipe it in, e.g. `tend vault put HOST … < file`");
    }
    Ok(secret)
}

pub async fn audit(command: AuditCommand) -> anyhow::Result<()> {
    let api = Api::logged_in()?;
    let AuditCommand::List { host, limit, output } = command;
    let filter = match host {
        Some(host) => format!("&host={}", resolve_host(&api, &host).await?),
        None => String::new(),
    };
    let entries: Vec<AuditEntry> = api.get(&format!("/api/v1/audit?limit={limit}{filter}")).await?;
    if output.json {
        return json(&entries);
    }
    let mut table = Table::new(&["ID", "AT", "ACTOR", "HOST", "TICKET", "ACTION", "OUTCOME", "DETAIL"]);
    for e in &entries {
        table.row(vec![
            e.id.to_string(),
            e.at.clone(),
            or_dash(e.actor_id),
            or_dash(e.host_id),
            or_dash(e.ticket_id),
            e.action.clone(),
            e.outcome.clone(),
            e.detail.clone(),
        ]);
    }
    print!("{}", table.render());
    Ok(())
}
