//! `tend patch rollout new|list|show|promote` and `tend host ring`: patch sets through a
//! client's rings, test before production.

use tend_proto::rollouts::{HostRing, NewRollout, PromoteRollout, Rollout};

use super::clients::resolve_client;
use super::hosts::resolve_host;
use crate::cli::RolloutCommand;
use crate::client::Api;
use crate::output::{Table, json, or_dash};

pub async fn rollout(api: &Api, command: RolloutCommand) -> anyhow::Result<()> {
    match command {
        RolloutCommand::New { client, name, packages, rings, emergency, soak_secs, output } => {
            let client_id = resolve_client(api, &client).await?;
            let urgency = Some(if emergency { "emergency" } else { "regular" }.to_owned());
            let new = NewRollout { client_id, name, packages, rings, urgency, soak_secs };
            let created: Rollout = api.post("/api/v1/rollouts", &new).await?;
            show(&created, output.json)?;
        }
        RolloutCommand::List { client, output } => {
            let query = match client {
                Some(client) => format!("?client={}", resolve_client(api, &client).await?),
                None => String::new(),
            };
            let rollouts: Vec<Rollout> = api.get(&format!("/api/v1/rollouts{query}")).await?;
            if output.json {
                return json(&rollouts);
            }
            let mut table = Table::new(&["ID", "CLIENT", "NAME", "URGENCY", "STATUS", "NEXT"]);
            for r in &rollouts {
                table.row(vec![
                    r.id.to_string(),
                    r.client_id.to_string(),
                    r.name.clone(),
                    r.urgency.clone(),
                    r.status.clone(),
                    r.next.clone(),
                ]);
            }
            print!("{}", table.render());
        }
        RolloutCommand::Show { id, output } => {
            let found: Rollout = api.get(&format!("/api/v1/rollouts/{id}")).await?;
            show(&found, output.json)?;
        }
        RolloutCommand::Promote { id, reason, output } => {
            let promoted: Rollout =
                api.post(&format!("/api/v1/rollouts/{id}/promote"), &PromoteRollout { reason }).await?;
            show(&promoted, output.json)?;
        }
    }
    Ok(())
}

fn show(rollout: &Rollout, as_json: bool) -> anyhow::Result<()> {
    if as_json {
        return json(rollout);
    }
    println!(
        "Rollout {} ({}): {} [{}], {}",
        rollout.id,
        rollout.urgency,
        rollout.name,
        rollout.packages.join(" "),
        rollout.status
    );
    println!("Next: {}", rollout.next);
    if let Some(reason) = &rollout.halt_reason {
        println!("Halted: {reason} (ticket {})", or_dash(rollout.ticket_id));
    }
    if let Some(ticket) = rollout.reboot_ticket_id {
        println!("Reboots asked for in ticket {ticket}");
    }
    let mut table = Table::new(&["RING", "HOST", "STATE", "AT", "SOAK UNTIL", "DETAIL"]);
    for ring in &rollout.rings {
        let promoted = ring.promoted_without_soak.as_ref().map(|why| format!("promoted without soak: {why}"));
        for host in &ring.hosts {
            table.row(vec![
                ring.name.clone(),
                host.host_id.to_string(),
                host.state.clone(),
                or_dash(host.at.as_deref()),
                or_dash(ring.soak_until.as_deref()),
                or_dash(host.reason.as_deref().or(promoted.as_deref())),
            ]);
        }
    }
    print!("{}", table.render());
    Ok(())
}

/// `tend host ring HOST RING`; `none` takes the host out of every ring.
pub async fn set_ring(api: &Api, host: &str, ring: &str) -> anyhow::Result<()> {
    let id = resolve_host(api, host).await?;
    let ring = (ring != "none").then(|| ring.to_owned());
    let set: HostRing = api.put(&format!("/api/v1/hosts/{id}/ring"), &HostRing { ring }).await?;
    println!("Host {host} is in ring {}.", set.ring.as_deref().unwrap_or("none"));
    Ok(())
}
