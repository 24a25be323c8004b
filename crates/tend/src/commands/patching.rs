//! `tend advisory import` and `tend patch status|exposures`.
//!
//! `tend patch status` is meant for scripts and monitoring as much as for people: it exits 1
//! when a host is outside the security promise, after printing the whole table.

use anyhow::{Context, bail};
use tend_proto::patching::{HostExposures, ImportSummary, PatchStatus};

use super::clients::resolve_client;
use super::hosts::resolve_host;
use crate::cli::{AdvisoryCommand, PatchCommand};
use crate::client::Api;
use crate::output::{Table, json, or_dash};

pub async fn advisory(command: AdvisoryCommand) -> anyhow::Result<()> {
    let api = Api::logged_in()?;
    let AdvisoryCommand::Import { file, format, output } = command;
    let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
    let query = format.map(|f| format!("?format={f}")).unwrap_or_default();
    let summary: ImportSummary = api.post_bytes(&format!("/api/v1/advisories/import{query}"), bytes).await?;
    if output.json {
        return json(&summary);
    }
    println!(
        "Imported {} ({}): {} new, {} updated, {} unchanged, {} withdrawn, {} not for tend's distributions, {} skipped.",
        file.display(),
        summary.format,
        summary.added,
        summary.updated,
        summary.unchanged,
        summary.withdrawn,
        summary.irrelevant,
        summary.skipped.len()
    );
    for skipped in &summary.skipped {
        eprintln!("skipped {}: {}", skipped.record, skipped.reason);
    }
    Ok(())
}

pub async fn patch(command: PatchCommand) -> anyhow::Result<()> {
    let api = Api::logged_in()?;
    match command {
        PatchCommand::Status { client, output } => {
            let query = match client {
                Some(client) => format!("?client={}", resolve_client(&api, &client).await?),
                None => String::new(),
            };
            let status: PatchStatus = api.get(&format!("/api/v1/patch/status{query}")).await?;
            if output.json {
                json(&status)?;
            } else {
                print!("{}", status_table(&status));
            }
            let outside: Vec<&str> =
                status.hosts.iter().filter(|h| h.within_promise == Some(false)).map(|h| h.hostname.as_str()).collect();
            if !outside.is_empty() {
                bail!(
                    "{} host(s) outside the {} security promise: {}",
                    outside.len(),
                    status.security_promise,
                    outside.join(", ")
                );
            }
        }
        PatchCommand::Exposures { host, output } => {
            let id = resolve_host(&api, &host).await?;
            let found: HostExposures = api.get(&format!("/api/v1/hosts/{id}/exposures")).await?;
            if output.json {
                return json(&found);
            }
            print!("{}", exposures_table(&found));
        }
        PatchCommand::Rollout(command) => super::rollouts::rollout(&api, command).await?,
    }
    Ok(())
}

fn status_table(status: &PatchStatus) -> String {
    let mut table = Table::new(&[
        "HOST",
        "UPDATES",
        "SECURITY",
        "OLDEST FIX",
        "OPEN CVES",
        "EXPOSED",
        "MITIGATED",
        "DEFERRED",
        "PROMISE",
        "REBOOT",
        "OS EOL",
    ]);
    for h in &status.hosts {
        let oldest = h.pending_security.iter().map(|p| p.age_hours).max().map(|hours| format!("{hours}h"));
        let promise = match h.within_promise {
            Some(true) => "kept".to_owned(),
            Some(false) => "BROKEN".to_owned(),
            None => format!("unknown: {}", h.not_matched.as_deref().unwrap_or("not matched")),
        };
        let eol = match (&h.os_eol_date, h.os_eol) {
            (Some(date), Some(true)) => format!("{date} (past)"),
            (date, _) => or_dash(date.as_deref()),
        };
        table.row(vec![
            h.hostname.clone(),
            h.pending_updates.to_string(),
            format!("{} ({} fixes)", h.pending_security_updates, h.pending_security.len()),
            or_dash(oldest),
            h.open_cves.to_string(),
            h.exposed.to_string(),
            h.mitigated.to_string(),
            h.deferred.to_string(),
            promise,
            or_dash(h.reboot_required.map(|r| if r { "yes" } else { "no" })),
            eol,
        ]);
    }
    let mut text = format!("Security promise: fixes applied within {}.\n", status.security_promise);
    text.push_str(&table.render());
    text
}

fn exposures_table(found: &HostExposures) -> String {
    let release = match (&found.distribution, &found.release) {
        (Some(d), Some(r)) => format!("{d} {r}"),
        _ => "unknown release".to_owned(),
    };
    let mut text = format!("{} ({release})\n", found.hostname);
    if let Some(why) = &found.not_matched {
        text.push_str(&format!("Not matched: {why}\n"));
        return text;
    }
    let mut table = Table::new(&["ADVISORY", "SEVERITY", "PACKAGE", "INSTALLED", "FIXED", "STATE", "DETAIL"]);
    for e in &found.exposures {
        let detail = match (&e.update_available, &e.mitigation, &e.deferral) {
            (Some(true), _, _) => "update available".to_owned(),
            (Some(false), _, _) => "update not offered yet".to_owned(),
            (_, Some(m), _) => format!("{} by {}, review {}", m.kind, m.owner, m.review_at),
            (_, _, Some(reason)) => reason.clone(),
            _ => "no fix yet".to_owned(),
        };
        table.row(vec![
            e.advisory_id.clone(),
            e.severity.clone(),
            e.package.clone(),
            e.installed.clone(),
            or_dash(e.fixed.as_deref()),
            e.state.clone(),
            detail,
        ]);
    }
    text.push_str(&table.render());
    for u in &found.unjudged {
        text.push_str(&format!("not judged: {} {}: {}\n", u.advisory_id, u.package, u.reason));
    }
    text
}
