//! Durations as people write them on the command line, for every flag that takes one.

use jiff::SignedDuration;

/// What jiff reads (`90s`, `15m`, `1h 30m`), days and weeks as 24 h and 7 × 24 h (`1d`, `2w`:
/// a job's period or a promise, not a calendar), or plain seconds (`90`).
pub fn parse(text: &str) -> Result<SignedDuration, String> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<i64>() {
        return Ok(SignedDuration::from_secs(secs));
    }
    let (digits, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let day_scale = match unit {
        "d" => Some(86_400),
        "w" => Some(7 * 86_400),
        _ => None,
    };
    if let (Some(scale), Ok(count)) = (day_scale, digits.parse::<i64>()) {
        return count.checked_mul(scale).map(SignedDuration::from_secs).ok_or_else(|| format!("'{text}' is too long"));
    }
    text.parse().map_err(|_| format!("'{text}' is not a duration like 90s, 15m, 1h, 1d or 2w"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_units_and_refuse_the_rest() {
        let secs = |text: &str| parse(text).map(|d| d.as_secs());
        assert_eq!(secs("90"), Ok(90));
        assert_eq!(secs("15m"), Ok(900));
        assert_eq!(secs("1h 30m"), Ok(5_400));
        assert_eq!(secs("26h"), Ok(93_600));
        assert_eq!(secs("1d"), Ok(86_400));
        assert_eq!(secs("2w"), Ok(1_209_600));
        assert!(parse("1y").is_err());
        assert!(parse("h").is_err());
        assert!(parse("").is_err());
        assert!(parse("99999999999999999d").is_err());
    }
}
