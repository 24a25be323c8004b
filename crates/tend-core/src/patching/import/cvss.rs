//! CVSS v3.0 and v3.1 base scores, for OSV records whose only severity is a vector string
//! (`CVSS:3.1/AV:N/AC:L/...`). Computed with the specification's formulas and its `Roundup`.
//! Other CVSS versions give nothing: tend then says "unknown" rather than guess.

use crate::patching::advisory::Severity;

/// The base score of a CVSS v3 vector; `None` when it is not one (another version, a base metric
/// missing, repeated or with a value the specification does not define). Temporal and
/// environmental metrics are allowed and do not change the base score.
pub(super) fn base_score(vector: &str) -> Option<f64> {
    let rest = vector.strip_prefix("CVSS:3.1/").or_else(|| vector.strip_prefix("CVSS:3.0/"))?;
    let mut base: [Option<char>; 8] = [None; 8];
    const NAMES: [&str; 8] = ["AV", "AC", "PR", "UI", "S", "C", "I", "A"];
    for metric in rest.split('/') {
        let (name, value) = metric.split_once(':')?;
        let mut chars = value.chars();
        let (Some(value), None) = (chars.next(), chars.next()) else { return None };
        if let Some(slot) = NAMES.iter().position(|&n| n == name)
            && base[slot].replace(value).is_some()
        {
            return None;
        }
    }
    let [av, ac, pr, ui, s, c, i, a] = base.map(|value| value.unwrap_or('?'));
    let changed = match s {
        'U' => false,
        'C' => true,
        _ => return None,
    };
    let av = match av {
        'N' => 0.85,
        'A' => 0.62,
        'L' => 0.55,
        'P' => 0.2,
        _ => return None,
    };
    let ac = match ac {
        'L' => 0.77,
        'H' => 0.44,
        _ => return None,
    };
    let pr = match (pr, changed) {
        ('N', _) => 0.85,
        ('L', false) => 0.62,
        ('L', true) => 0.68,
        ('H', false) => 0.27,
        ('H', true) => 0.5,
        _ => return None,
    };
    let ui = match ui {
        'N' => 0.85,
        'R' => 0.62,
        _ => return None,
    };
    let cia = |value| match value {
        'H' => Some(0.56),
        'L' => Some(0.22),
        'N' => Some(0.0),
        _ => None,
    };
    let iss = 1.0 - (1.0 - cia(c)?) * (1.0 - cia(i)?) * (1.0 - cia(a)?);
    let impact = if changed { 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02_f64).powi(15) } else { 6.42 * iss };
    if impact <= 0.0 {
        return Some(0.0);
    }
    let exploitability = 8.22 * av * ac * pr * ui;
    let sum = if changed { 1.08 * (impact + exploitability) } else { impact + exploitability };
    Some(roundup(sum.min(10.0)))
}

/// CVSS v3.1's `Roundup`: the smallest number with one decimal at or above `value`, computed on
/// integers so that 4.000000001 (a floating-point artefact) is 4.0, not 4.1.
fn roundup(value: f64) -> f64 {
    let scaled = (value * 100_000.0).round() as i64;
    if scaled % 10_000 == 0 { scaled as f64 / 100_000.0 } else { (scaled / 10_000 + 1) as f64 / 10.0 }
}

/// The qualitative rating of a base score; "none" (0.0) counts as low.
pub(super) fn severity(score: f64) -> Severity {
    match score {
        s if s >= 9.0 => Severity::Critical,
        s if s >= 7.0 => Severity::High,
        s if s >= 4.0 => Severity::Medium,
        _ => Severity::Low,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_scores() {
        let cases = [
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", Some(9.8)),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", Some(10.0)),
            ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", Some(9.9)),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", Some(7.5)),
            ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", Some(7.8)),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", Some(6.1)),
            ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:H", Some(5.9)),
            ("CVSS:3.0/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", Some(1.6)),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", Some(0.0)),
            // Metrics in another order, with temporal ones: the base score is the same.
            ("CVSS:3.1/S:U/AV:N/AC:L/PR:N/UI:N/C:H/I:H/A:H/E:P/RL:O", Some(9.8)),
            ("CVSS:2.0/AV:N/AC:L/Au:N/C:P/I:P/A:P", None),
            ("AV:N/AC:L/Au:N/C:P/I:P/A:P", None),
            ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", None),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H", None),
            ("CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", None),
            ("CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", None),
            ("CVSS:3.1/AV:NN/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", None),
            ("CVSS:3.1/", None),
            ("", None),
        ];
        for (vector, expected) in cases {
            assert_eq!(base_score(vector), expected, "{vector}");
        }
    }

    #[test]
    fn ratings() {
        let cases = [
            (0.0, Severity::Low),
            (3.9, Severity::Low),
            (4.0, Severity::Medium),
            (6.9, Severity::Medium),
            (7.0, Severity::High),
            (8.9, Severity::High),
            (9.0, Severity::Critical),
            (10.0, Severity::Critical),
        ];
        for (score, expected) in cases {
            assert_eq!(severity(score), expected, "{score}");
        }
        assert_eq!(roundup(4.000_000_01), 4.0);
        assert_eq!(roundup(4.02), 4.1);
    }
}
