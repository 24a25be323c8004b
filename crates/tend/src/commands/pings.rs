//! `tend ping add|list|delete`: heartbeat checks that cron jobs and backup tools ping.

use tend_proto::pings::{NewPingCheck, PingCheck};

use super::clients::resolve_client;
use super::hosts::resolve_host;
use crate::cli::PingCommand;
use crate::client::{Api, load_login};
use crate::output::{Table, json, or_dash};

pub async fn run(command: PingCommand) -> anyhow::Result<()> {
    let api = Api::logged_in()?;
    match command {
        PingCommand::Add { client, name, period, grace, host } => {
            let client_id = resolve_client(&api, &client).await?;
            let host_id = match host {
                Some(host) => Some(resolve_host(&api, &host).await?),
                None => None,
            };
            let new =
                NewPingCheck { client_id, host_id, name, period_secs: period.as_secs(), grace_secs: grace.as_secs() };
            let created: PingCheck = api.post("/api/v1/ping-checks", &new).await?;
            let url = created.ping_url.unwrap_or_default();
            // Without a configured public URL the server answers a path: this login's server
            // is where the job pings then.
            let url =
                if url.starts_with('/') { format!("{}{url}", load_login()?.server.trim_end_matches('/')) } else { url };
            println!("ping check {} created; its URL, shown only now:\n{url}", created.id);
        }
        PingCommand::List { client, output } => {
            let query = match client {
                Some(client) => format!("?client={}", resolve_client(&api, &client).await?),
                None => String::new(),
            };
            let checks: Vec<PingCheck> = api.get(&format!("/api/v1/ping-checks{query}")).await?;
            if output.json {
                return json(&checks);
            }
            let mut table = Table::new(&["ID", "CLIENT", "NAME", "PERIOD", "GRACE", "STATUS", "LAST SUCCESS"]);
            for c in &checks {
                table.row(vec![
                    c.id.to_string(),
                    c.client_id.to_string(),
                    c.name.clone(),
                    format!("{}s", c.period_secs),
                    format!("{}s", c.grace_secs),
                    c.status.clone(),
                    or_dash(c.last_success_at.as_deref()),
                ]);
            }
            print!("{}", table.render());
        }
        PingCommand::Delete { id } => {
            api.delete(&format!("/api/v1/ping-checks/{id}")).await?;
            println!("ping check {id} deleted");
        }
    }
    Ok(())
}
