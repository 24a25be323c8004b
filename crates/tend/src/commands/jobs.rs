//! `tend job run|list|show`.

use tend_proto::jobs::{Job, JobKind, NewJob};

use super::hosts::resolve_host;
use crate::cli::JobCommand;
use crate::client::Api;
use crate::output::{Table, json, or_dash};

pub async fn run(command: JobCommand) -> anyhow::Result<()> {
    let api = Api::logged_in()?;
    match command {
        JobCommand::Run { host, kind, ticket, script, packages, security_only, output } => {
            let host_id = resolve_host(&api, &host).await?;
            let kind = JobKind::from_name(&kind).expect("clap allows only known kinds");
            let params = match script {
                Some(script) => serde_json::json!({ "script": script }),
                None if kind == JobKind::ApplyUpdates => {
                    serde_json::json!({ "packages": packages, "security_only": security_only })
                }
                None => serde_json::Value::Null,
            };
            let new = NewJob { kind, ticket_id: ticket, params };
            let job: Job = api.post(&format!("/api/v1/hosts/{host_id}/jobs"), &new).await?;
            if output.json {
                return json(&job);
            }
            let on_ticket = job.ticket_id.map_or_else(String::new, |id| format!(" on ticket {id}"));
            println!(
                "Job {} queued{on_ticket}: {} of host {host_id}; the agent picks it up within seconds.\n\
                 Follow it with `tend job show {}`.",
                job.id,
                kind.as_str(),
                job.id
            );
        }
        JobCommand::List { host, output } => {
            let host_id = resolve_host(&api, &host).await?;
            let jobs: Vec<Job> = api.get(&format!("/api/v1/hosts/{host_id}/jobs")).await?;
            if output.json {
                return json(&jobs);
            }
            print!("{}", job_table(&jobs));
        }
        JobCommand::Show { id, output } => {
            let job: Job = api.get(&format!("/api/v1/jobs/{id}")).await?;
            if output.json {
                return json(&job);
            }
            print!("{}", describe(&job));
        }
    }
    Ok(())
}

fn job_table(jobs: &[Job]) -> String {
    let mut table = Table::new(&["ID", "KIND", "STATUS", "TICKET", "CREATED", "FINISHED", "RESULT"]);
    for job in jobs {
        table.row(vec![
            job.id.to_string(),
            job.kind.as_str().to_owned(),
            job.status.as_str().to_owned(),
            or_dash(job.ticket_id),
            job.created_at.clone(),
            or_dash(job.finished_at.as_deref()),
            job.result.as_ref().map_or_else(|| "-".to_owned(), |r| first_line(&r.output)),
        ]);
    }
    table.render()
}

fn first_line(text: &str) -> String {
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let mut short: String = line.chars().take(60).collect();
    if line.chars().count() > 60 {
        short.push('…');
    }
    short
}

fn describe(job: &Job) -> String {
    let mut lines = vec![
        format!("job {} ({}) on host {}, client {}", job.id, job.kind.as_str(), job.host_id, job.client_id),
        format!("status       {}", job.status.as_str()),
        format!("ticket       {}", or_dash(job.ticket_id)),
        format!("requested    {} by user {}", job.created_at, or_dash(job.requested_by)),
        format!("claimed      {}", or_dash(job.claimed_at.as_deref())),
        format!("finished     {}", or_dash(job.finished_at.as_deref())),
    ];
    if let Some(result) = &job.result {
        lines.push(format!("exit code    {}", or_dash(result.exit_code)));
        lines.push(format!("duration     {} ms", result.duration_ms));
        for change in result.changes.iter().flatten() {
            let version = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".into());
            lines.push(format!("changed      {} {} → {}", change.package, version(&change.from), version(&change.to)));
        }
        lines.push(String::new());
        lines.push(result.output.trim_end().to_owned());
    }
    lines.join("\n") + "\n"
}
