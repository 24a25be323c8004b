//! `tend host list|show`.

use tend_proto::api::{Host, HostDetail};

use super::clients::resolve_client;
use crate::cli::HostCommand;
use crate::client::Api;
use crate::exit::Refused;
use crate::output::{Table, json, or_dash, percent};

pub async fn run(command: HostCommand) -> anyhow::Result<()> {
    let api = Api::logged_in()?;
    match command {
        HostCommand::List { client, output } => {
            let client_id = match client {
                Some(client) => Some(resolve_client(&api, &client).await?),
                None => None,
            };
            let hosts = all_hosts(&api, client_id).await?;
            if output.json {
                return json(&hosts);
            }
            print!("{}", host_table(&hosts));
        }
        HostCommand::Ring { host, ring } => super::rollouts::set_ring(&api, &host, &ring).await?,
        HostCommand::Show { host, output } => {
            let id = resolve_host(&api, &host).await?;
            let detail: HostDetail = api.get(&format!("/api/v1/hosts/{id}")).await?;
            if output.json {
                return json(&detail);
            }
            print!("{}", describe(&detail));
        }
    }
    Ok(())
}

async fn all_hosts(api: &Api, client_id: Option<i64>) -> anyhow::Result<Vec<Host>> {
    match client_id {
        Some(client) => api.all(&format!("/api/v1/hosts?client={client}")).await,
        None => api.all("/api/v1/hosts").await,
    }
}

/// A host id from an id or an exact hostname.
pub async fn resolve_host(api: &Api, text: &str) -> anyhow::Result<i64> {
    if let Ok(id) = text.parse() {
        return Ok(id);
    }
    let hosts = all_hosts(api, None).await?;
    let matching: Vec<&Host> = hosts.iter().filter(|h| h.hostname == text).collect();
    match matching[..] {
        [host] => Ok(host.id),
        [] => Err(Refused { status: 404, detail: format!("no host named '{text}'") }.into()),
        _ => Err(Refused { status: 409, detail: format!("several hosts are named '{text}'; use the id") }.into()),
    }
}

fn host_table(hosts: &[Host]) -> String {
    let mut table = Table::new(&["ID", "HOST", "CLIENT", "STATUS", "LAST SEEN", "CPU", "MEM", "DISK", "LOAD"]);
    for h in hosts {
        table.row(vec![
            h.id.to_string(),
            h.hostname.clone(),
            h.client_name.clone(),
            status(h),
            or_dash(h.last_seen.as_deref()),
            percent(h.cpu_percent),
            percent(h.memory_used_percent),
            percent(h.disk_used_percent),
            h.load1.map_or_else(|| "-".to_owned(), |l| format!("{l:.2}")),
        ]);
    }
    table.render()
}

fn status(host: &Host) -> String {
    serde_json::to_value(host.status).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn describe(detail: &HostDetail) -> String {
    let h = &detail.host;
    let mut lines = vec![
        format!("{} (host {}, client {})", h.hostname, h.id, h.client_name),
        format!("status       {}", status(h)),
        format!("last seen    {}", or_dash(h.last_seen.as_deref())),
    ];
    if let Some(f) = &detail.facts {
        lines.push(format!("os           {} ({} {})", f.os_name, f.os_id, f.os_version));
        lines.push(format!("kernel       {} {}", f.kernel, f.architecture));
        lines.push(format!("cpu          {} × {}", f.cpu_cores, f.cpu_model));
        lines.push(format!("memory       {:.1} GiB", f.memory_total_bytes as f64 / f64::from(1u32 << 30)));
        lines.push(format!("addresses    {}", f.ip_addresses.join(", ")));
    }
    let mut table = Table::new(&["METRIC", "LABELS", "VALUE", "AT"]);
    for s in &detail.latest {
        let labels = s.labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",");
        table.row(vec![s.name.clone(), labels, format!("{}", s.value), s.at.clone()]);
    }
    format!("{}\n\n{}", lines.join("\n"), table.render())
}
