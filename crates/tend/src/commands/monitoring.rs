//! `tend alert`, `tend maintenance`, `tend check`.

use serde_json::{Value, json};
use tend_proto::api::{Alert, CheckExplanation, CheckInfo, CheckTestResult, MaintenanceWindow};

use super::clients::resolve_client;
use super::hosts::resolve_host;
use crate::cli::{AlertCommand, CheckCommand, MaintenanceCommand};
use crate::client::Api;
use crate::output::{Table, json, or_dash};

pub async fn alerts(command: AlertCommand) -> anyhow::Result<()> {
    let api = Api::logged_in()?;
    match command {
        AlertCommand::List { all, output } => {
            let state = if all { "all" } else { "open" };
            let alerts: Vec<Alert> = api.get(&format!("/api/v1/alerts?state={state}")).await?;
            if output.json {
                return json(&alerts);
            }
            let mut table = Table::new(&["ID", "STATE", "SEVERITY", "CHECK", "TARGET", "SINCE", "ACK", "SUMMARY"]);
            for a in &alerts {
                table.row(vec![
                    a.id.to_string(),
                    a.state.clone(),
                    or_dash(a.severity.as_deref()),
                    a.check.clone(),
                    a.target.clone(),
                    or_dash(a.opened_at.as_deref()),
                    if a.acknowledged_by.is_some() { "yes".into() } else { "-".into() },
                    a.summary.clone(),
                ]);
            }
            print!("{}", table.render());
        }
        AlertCommand::Ack { id, comment, until } => {
            let alert: Alert =
                api.post(&format!("/api/v1/alerts/{id}/ack"), &json!({ "comment": comment, "until": until })).await?;
            println!("Acknowledged alert {} ({} {}).", alert.id, alert.check, alert.target);
        }
    }
    Ok(())
}

pub async fn maintenance(command: MaintenanceCommand) -> anyhow::Result<()> {
    let api = Api::logged_in()?;
    match command {
        MaintenanceCommand::List { client, output } => {
            let filter = match client {
                Some(client) => format!("?client={}", resolve_client(&api, &client).await?),
                None => String::new(),
            };
            let windows: Vec<MaintenanceWindow> = api.get(&format!("/api/v1/maintenance{filter}")).await?;
            if output.json {
                return json(&windows);
            }
            let mut table = Table::new(&["ID", "CLIENT", "TITLE", "KIND", "ACTIVE", "NEXT START", "NEXT END", "RRULE"]);
            for w in &windows {
                let (start, end) = w.next.clone().unzip();
                table.row(vec![
                    w.id.to_string(),
                    w.client_id.to_string(),
                    w.title.clone(),
                    w.kind.clone(),
                    if w.active { "yes".into() } else { "-".into() },
                    or_dash(start),
                    or_dash(end),
                    or_dash(w.rrule.as_deref()),
                ]);
            }
            print!("{}", table.render());
        }
        MaintenanceCommand::Add {
            client,
            title,
            start,
            time_zone,
            duration,
            rrule,
            host,
            check,
            kind,
            description,
            notice_days,
            output,
        } => {
            let client_id = resolve_client(&api, &client).await?;
            let body = json!({
                "client_id": client_id, "title": title, "start": start, "time_zone": time_zone,
                "duration_minutes": duration, "rrule": rrule, "host_id": host, "check": check, "kind": kind,
                "description": description, "notice_days": notice_days,
            });
            let window: MaintenanceWindow = api.post("/api/v1/maintenance", &body).await?;
            if output.json {
                return json(&window);
            }
            let next = window.next.map_or_else(|| "none".to_owned(), |(s, e)| format!("{s} – {e}"));
            println!("Planned maintenance window {} '{}'; next: {next}.", window.id, window.title);
        }
        MaintenanceCommand::End { id } => {
            api.post_empty(&format!("/api/v1/maintenance/{id}/end")).await?;
            println!("Ended maintenance window {id}.");
        }
    }
    Ok(())
}

pub async fn checks(command: CheckCommand) -> anyhow::Result<()> {
    let api = Api::logged_in()?;
    match command {
        CheckCommand::List { output } => {
            let checks: Vec<CheckInfo> = api.get("/api/v1/checks").await?;
            if output.json {
                return json(&checks);
            }
            let mut table = Table::new(&["CHECK", "WARNING", "CRITICAL", "PENDING S", "DESCRIPTION"]);
            for c in &checks {
                let value =
                    |name: &str| c.defaults.get(name).filter(|v| !v.is_null()).map_or("-".into(), Value::to_string);
                table.row(vec![
                    c.name.clone(),
                    value("warning"),
                    value("critical"),
                    value("pending_for_secs"),
                    c.description.clone(),
                ]);
            }
            print!("{}", table.render());
        }
        CheckCommand::Explain { host, check, output } => {
            let id = resolve_host(&api, &host).await?;
            let explained: CheckExplanation = api.get(&format!("/api/v1/hosts/{id}/checks/{check}")).await?;
            if output.json {
                return json(&explained);
            }
            println!("{}", explained.explanation);
        }
        CheckCommand::Test { host, check, output } => {
            let id = resolve_host(&api, &host).await?;
            let run: CheckTestResult = api.post(&format!("/api/v1/hosts/{id}/checks/{check}/test"), &json!({})).await?;
            let problems = run.findings.iter().filter(|f| f.status != "ok").count();
            if output.json {
                json(&run)?;
            } else {
                let mut table = Table::new(&["TARGET", "STATUS", "SUMMARY"]);
                for f in &run.findings {
                    table.row(vec![f.target.clone(), f.status.to_uppercase(), f.summary.clone()]);
                }
                print!("{}", table.render());
                println!("{} on host {}: {} finding(s) in {} ms.", run.check, id, run.findings.len(), run.duration_ms);
            }
            if problems > 0 {
                anyhow::bail!("{problems} finding(s) of {check} report a problem");
            }
        }
        CheckCommand::Set { host, check, layer, warning, critical, pending, disable, enable } => {
            let id = resolve_host(&api, &host).await?;
            let mut settings = serde_json::Map::new();
            for (name, value) in [("warning", warning.map(Value::from)), ("critical", critical.map(Value::from))] {
                if let Some(value) = value {
                    settings.insert(name.into(), value);
                }
            }
            if let Some(pending) = pending {
                settings.insert("pending_for_secs".into(), pending.into());
            }
            if disable || enable {
                settings.insert("enabled".into(), enable.into());
            }
            let body = json!({ "layer": layer, "settings": settings });
            let explained: CheckExplanation = api.put(&format!("/api/v1/hosts/{id}/checks/{check}"), &body).await?;
            println!("{}", explained.explanation);
        }
    }
    Ok(())
}
