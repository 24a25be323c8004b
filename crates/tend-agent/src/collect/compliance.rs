//! The checks every collector's tests run (docs/collectors.md, "What every collector must do").

use std::time::Instant;

use super::{Collector, Section};

/// Runs `collector` twice on this machine and checks the contract: a snake-case name, a result
/// within its timeout, and on failure an error whose message says why. Returns the first
/// result, for the caller's own assertions.
pub fn check(collector: &mut dyn Collector) -> Result<Section, crate::Error> {
    let name = collector.name();
    assert!(
        !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
        "collector name {name:?} must be snake case"
    );
    let mut first = None;
    for _ in 0..2 {
        let started = Instant::now();
        let result = collector.collect();
        let took = started.elapsed();
        assert!(took <= collector.timeout(), "{name} took {took:?}, beyond its timeout {:?}", collector.timeout());
        if let Err(error) = &result {
            assert!(!error.to_string().trim().is_empty(), "{name} failed without saying why");
        }
        first.get_or_insert(result);
    }
    first.expect("ran twice")
}
