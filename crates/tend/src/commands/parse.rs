//! `tend agent parse KIND FILE`: one captured tool output through the agent's own parser.

use std::path::Path;

use anyhow::{Context, bail};
use tend_agent::collect::parse::{self, KINDS};

pub fn run(kind: &str, file: Option<&Path>) -> anyhow::Result<()> {
    if kind == "list" {
        for (name, description) in KINDS {
            println!("{name:<18} {description}");
        }
        return Ok(());
    }
    let Some(file) = file else { bail!("name the FILE (or directory) to parse") };
    let value = parse::parse(kind, file).with_context(|| format!("{} as {kind}", file.display()))?;
    println!("{}", serde_json::to_string_pretty(&value)?);
    Ok(())
}
