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
            let new = NewPingCheck { client_id, host_id, name, period_secs: period, grace_secs: grace };
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

/// `90s`, `15m`, `1h`, `1d`, `2w`, or plain seconds, as a number of seconds.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let (digits, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let value: i64 = digits.parse().map_err(|_| format!("'{text}' is not a duration like 90s, 15m, 1h, 1d"))?;
    let scale = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(format!("unknown unit '{unit}' in '{text}': use s, m, h, d or w")),
    };
    value.checked_mul(scale).ok_or_else(|| format!("'{text}' is too long"))
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn durations_read_units_and_refuse_the_rest() {
        assert_eq!(parse_duration("90"), Ok(90));
        assert_eq!(parse_duration("15m"), Ok(900));
        assert_eq!(parse_duration("1d"), Ok(86_400));
        assert!(parse_duration("1y").is_err());
        assert!(parse_duration("h").is_err());
    }
}
