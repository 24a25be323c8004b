//! `tend probe KIND TARGET [options]`: one synthetic probe, now, from this shell, with the same
//! code the server's scheduler runs.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use tend_probe::{ProbeOutcome, ProbeSpec};

use crate::cli::ProbeArgs;
use crate::output::json;

/// Exit status: 0 when the probe passes, 1 when it fails; bad arguments are 2 (usage).
pub async fn run(args: ProbeArgs) -> anyhow::Result<ExitCode> {
    let mut options = options(&args.options)?;
    // Placed after the target, the CLI's own flags arrive among the probe's options.
    let as_json = args.output.json || options.remove("json").is_some();
    let timeout = match options.remove("timeout") {
        Some(seconds) => {
            seconds.parse().map_err(|_| anyhow::anyhow!("--timeout: expected seconds, got '{seconds}'"))?
        }
        None => args.timeout,
    };
    let spec = match ProbeSpec::from_cli(&args.kind, &args.target, &options) {
        Ok(spec) => spec,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(crate::exit::USAGE));
        }
    };
    let outcome = tend_probe::run(&spec, Duration::from_secs(timeout)).await;
    if as_json {
        json(&outcome)?;
    } else {
        print!("{}", describe(&outcome));
    }
    Ok(if outcome.ok { ExitCode::SUCCESS } else { ExitCode::from(crate::exit::FAILURE) })
}

/// `--name value` pairs after the target, as the probe spec reads them.
fn options(raw: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    let mut options = BTreeMap::new();
    let mut words = raw.iter();
    while let Some(word) = words.next() {
        let Some(name) = word.strip_prefix("--") else {
            anyhow::bail!("expected an option like --name value, got '{word}'");
        };
        match name.split_once('=') {
            Some((name, value)) => options.insert(name.to_owned(), value.to_owned()),
            None => options.insert(name.to_owned(), words.next().cloned().unwrap_or_default()),
        };
    }
    Ok(options)
}

fn describe(outcome: &ProbeOutcome) -> String {
    let verdict = if outcome.ok { "PASS" } else { "FAIL" };
    let mut text = format!("{verdict} in {} ms: {}\n", outcome.duration_ms, outcome.summary);
    for (name, value) in &outcome.evidence {
        text.push_str(&format!("  {name:<18} {value}\n"));
    }
    for (name, value) in &outcome.metrics {
        text.push_str(&format!("  {name:<18} {value}\n"));
    }
    text
}
