//! `tend client list|add|contacts|add-contact`, and finding a client or site by id or name.

use anyhow::bail;
use tend_proto::api::{Client, Contact, NewClient, NewContact, Site};

use crate::cli::ClientCommand;
use crate::client::Api;
use crate::exit::Refused;
use crate::output::{Table, json};

pub async fn run(command: ClientCommand) -> anyhow::Result<()> {
    let api = Api::logged_in()?;
    match command {
        ClientCommand::List { output } => {
            let clients: Vec<Client> = api.all("/api/v1/clients").await?;
            if output.json {
                return json(&clients);
            }
            let mut table = Table::new(&["ID", "NAME", "HOSTS", "CREATED"]);
            for c in &clients {
                table.row(vec![c.id.to_string(), c.name.clone(), c.host_count.to_string(), c.created_at.clone()]);
            }
            print!("{}", table.render());
        }
        ClientCommand::Add { name, output } => {
            let client: Client = api.post("/api/v1/clients", &NewClient { name }).await?;
            if output.json {
                return json(&client);
            }
            println!("Added client {} (id {}).", client.name, client.id);
        }
        ClientCommand::Contacts { client, output } => {
            let id = resolve_client(&api, &client).await?;
            let contacts: Vec<Contact> = api.get(&format!("/api/v1/clients/{id}/contacts")).await?;
            if output.json {
                return json(&contacts);
            }
            let mut table = Table::new(&["ID", "NAME", "EMAIL", "PHONE", "ROLE", "NOTICES"]);
            for c in &contacts {
                let notices = if c.maintenance_notices { "yes" } else { "no" };
                table.row(vec![
                    c.id.to_string(),
                    c.name.clone(),
                    c.email.clone(),
                    c.phone.clone(),
                    c.role.clone(),
                    notices.into(),
                ]);
            }
            print!("{}", table.render());
        }
        ClientCommand::AddContact { client, name, email, phone, role, no_maintenance_notices, output } => {
            let id = resolve_client(&api, &client).await?;
            let new = NewContact { name, email, phone, role, maintenance_notices: Some(!no_maintenance_notices) };
            let contact: Contact = api.post(&format!("/api/v1/clients/{id}/contacts"), &new).await?;
            if output.json {
                return json(&contact);
            }
            println!("Added contact {} <{}> (id {}).", contact.name, contact.email, contact.id);
        }
    }
    Ok(())
}

/// A client id from an id or an exact name.
pub async fn resolve_client(api: &Api, text: &str) -> anyhow::Result<i64> {
    if let Ok(id) = text.parse() {
        return Ok(id);
    }
    let clients: Vec<Client> = api.all("/api/v1/clients").await?;
    match clients.iter().find(|c| c.name == text) {
        Some(client) => Ok(client.id),
        None => Err(Refused { status: 404, detail: format!("no client named '{text}'") }.into()),
    }
}

/// A site id of the client from an id or an exact name.
pub async fn resolve_site(api: &Api, client_id: i64, text: &str) -> anyhow::Result<i64> {
    if let Ok(id) = text.parse() {
        return Ok(id);
    }
    let sites: Vec<Site> = api.get(&format!("/api/v1/clients/{client_id}/sites")).await?;
    match sites.iter().filter(|s| s.name == text).collect::<Vec<_>>()[..] {
        [site] => Ok(site.id),
        [] => Err(Refused { status: 404, detail: format!("the client has no site named '{text}'") }.into()),
        _ => bail!("several sites are named '{text}'"),
    }
}
