//! `tend advisory import`, `tend patch status|exposures` and `tend patch policy show|set|clear`.
//!
//! `tend patch status` is meant for scripts and monitoring as much as for people: it exits 1
//! when a host is outside the security promise, after printing the whole table.

use anyhow::{Context, bail};
use jiff::SignedDuration;
use tend_proto::patching::{
    EffectivePatchPolicy, HoldView, HostExposures, ImportSummary, PatchPolicyEntry, PatchPolicyView, PatchStatus,
    SetPatchPolicy,
};

use super::clients::{resolve_client, resolve_site};
use super::hosts::resolve_host;
use crate::cli::{AdvisoryCommand, PatchCommand, PolicyCommand};
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
        PatchCommand::Policy(command) => policy(&api, command).await?,
    }
    Ok(())
}

async fn policy(api: &Api, command: PolicyCommand) -> anyhow::Result<()> {
    match command {
        PolicyCommand::Show { client, host: Some(host), output } => {
            // The host alone decides its policy; the client is still resolved so that a mistyped
            // one is an error rather than ignored.
            resolve_client(api, &client).await?;
            let id = resolve_host(api, &host).await?;
            let effective: EffectivePatchPolicy = api.get(&format!("/api/v1/hosts/{id}/patch-policy")).await?;
            if output.json {
                return json(&effective);
            }
            let from = match effective.policy_id {
                Some(policy_id) => format!("the {} policy (id {policy_id})", effective.source),
                None => "the server's default".to_owned(),
            };
            println!("Host {id} follows {from}.");
            print!("{}", policy_table(&[(String::new(), &effective.policy)]));
        }
        PolicyCommand::Show { client, host: None, output } => {
            let client_id = resolve_client(api, &client).await?;
            let entries: Vec<PatchPolicyEntry> =
                api.get(&format!("/api/v1/clients/{client_id}/patch-policies")).await?;
            if output.json {
                return json(&entries);
            }
            if entries.is_empty() {
                println!("No stored policy: the client's hosts follow the server's default.");
                return Ok(());
            }
            let rows: Vec<(String, &PatchPolicyView)> = entries.iter().map(|e| (target(e), &e.policy)).collect();
            print!("{}", policy_table(&rows));
        }
        PolicyCommand::Set {
            client,
            site,
            host,
            promise,
            reboot,
            health_gate,
            auto_security_rollouts,
            holds,
            hold_until,
            output,
        } => {
            let client_id = resolve_client(api, &client).await?;
            let site_id = match site {
                Some(site) => Some(resolve_site(api, client_id, &site).await?),
                None => None,
            };
            let host_id = match host {
                Some(host) => Some(resolve_host(api, &host).await?),
                None => None,
            };
            let defaults = PatchPolicyView::default();
            let policy = PatchPolicyView {
                security_promise_secs: promise.map_or(defaults.security_promise_secs, |d| d.as_secs()),
                holds: holds
                    .iter()
                    .map(|hold| {
                        let (package, reason) = hold
                            .split_once('=')
                            .with_context(|| format!("--hold {hold:?}: expected PATTERN=REASON"))?;
                        Ok(HoldView { package: package.into(), until: hold_until.clone(), reason: reason.into() })
                    })
                    .collect::<anyhow::Result<_>>()?,
                reboot: reboot.unwrap_or(defaults.reboot),
                health_gate_secs: health_gate.map_or(defaults.health_gate_secs, |d| d.as_secs()),
                auto_security_rollouts,
            };
            let body = SetPatchPolicy { site_id, host_id, policy };
            let stored: PatchPolicyEntry = api.put(&format!("/api/v1/clients/{client_id}/patch-policy"), &body).await?;
            if output.json {
                return json(&stored);
            }
            println!("Set the {} policy (id {}).", target(&stored), stored.id);
            print!("{}", policy_table(&[(target(&stored), &stored.policy)]));
        }
        PolicyCommand::Clear { id } => {
            api.delete(&format!("/api/v1/patch-policies/{id}")).await?;
            println!("Cleared policy {id}: its client, site or host follows the next policy up.");
        }
    }
    Ok(())
}

/// "client", "site 3" or "host 7".
fn target(entry: &PatchPolicyEntry) -> String {
    match (entry.site_id, entry.host_id) {
        (_, Some(host)) => format!("host {host}"),
        (Some(site), None) => format!("site {site}"),
        (None, None) => "client".to_owned(),
    }
}

fn policy_table(policies: &[(String, &PatchPolicyView)]) -> String {
    let mut table = Table::new(&["FOR", "PROMISE", "REBOOT", "HEALTH GATE", "AUTO SECURITY", "HOLDS"]);
    for (target, policy) in policies {
        let holds: Vec<String> = policy
            .holds
            .iter()
            .map(|h| match &h.until {
                Some(until) => format!("{} until {until} ({})", h.package, h.reason),
                None => format!("{} ({})", h.package, h.reason),
            })
            .collect();
        table.row(vec![
            target.clone(),
            format!("{:#}", SignedDuration::from_secs(policy.security_promise_secs)),
            policy.reboot.clone(),
            format!("{:#}", SignedDuration::from_secs(policy.health_gate_secs)),
            if policy.auto_security_rollouts { "yes" } else { "no" }.to_owned(),
            or_dash((!holds.is_empty()).then(|| holds.join("; "))),
        ]);
    }
    table.render()
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
        "RING",
        "LAST PATCHED",
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
            or_dash(h.ring.as_deref()),
            or_dash(h.last_patched_at.as_deref()),
        ]);
    }
    let mut text = format!(
        "Security promise: fixes applied within {} unless a host's patch policy says otherwise.\n",
        status.security_promise
    );
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
