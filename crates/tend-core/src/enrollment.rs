//! Rules of enrollment tokens: the one-time secrets with which a machine joins a client.

use std::fmt;

use jiff::{Span, Timestamp};

use crate::Error;

/// Default lifetime of an enrollment token.
pub const DEFAULT_LIFETIME_HOURS: i64 = 24;
/// Longest lifetime: a token lying around for longer is a standing invitation.
pub const MAX_LIFETIME_DAYS: i64 = 365;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Unknown,
    Expired,
    Exhausted,
    Revoked,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Refusal::Unknown => "is unknown",
            Refusal::Expired => "has expired",
            Refusal::Exhausted => "has no uses left",
            Refusal::Revoked => "was revoked",
        })
    }
}

/// The state of a stored token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenState {
    pub expires_at: Timestamp,
    pub uses_left: u32,
    pub revoked: bool,
}

/// Whether a token may enroll one more agent at `now`. Revocation wins over expiry, expiry over
/// exhaustion, so the message names the most deliberate reason.
pub fn check(state: &TokenState, now: Timestamp) -> Result<(), Error> {
    let refusal = if state.revoked {
        Refusal::Revoked
    } else if now >= state.expires_at {
        Refusal::Expired
    } else if state.uses_left == 0 {
        Refusal::Exhausted
    } else {
        return Ok(());
    };
    Err(Error::EnrollmentRefused(refusal))
}

/// When a token created at `now` expires, from an RFC 3339 time or a span such as "24h" or
/// "7d". Refuses the past and anything beyond [`MAX_LIFETIME_DAYS`].
pub fn expiry(requested: Option<&str>, now: Timestamp) -> Result<Timestamp, Error> {
    let invalid = |reason: String| Error::Invalid { field: "expires", reason };
    let expires_at = match requested.map(str::trim) {
        None | Some("") => now + Span::new().hours(DEFAULT_LIFETIME_HOURS),
        Some(text) => match text.parse::<Timestamp>() {
            Ok(at) => at,
            Err(_) => {
                let span: Span = text
                    .parse()
                    .map_err(|_| invalid(format!("'{text}' is neither an RFC 3339 time nor a span like 24h or 7d")))?;
                let span = span
                    .to_duration(jiff::SpanRelativeTo::days_are_24_hours())
                    .map_err(|e| invalid(format!("'{text}': {e}")))?;
                now.checked_add(span).map_err(|e| invalid(format!("'{text}': {e}")))?
            }
        },
    };
    if expires_at <= now {
        return Err(invalid("the expiry must lie in the future".into()));
    }
    if expires_at > now + Span::new().hours(24 * MAX_LIFETIME_DAYS) {
        return Err(invalid(format!("a token may live at most {MAX_LIFETIME_DAYS} days")));
    }
    Ok(expires_at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).unwrap()
    }

    #[test]
    fn check_table() {
        let state = |expires, uses_left, revoked| TokenState { expires_at: at(expires), uses_left, revoked };
        let cases = [
            (state(100, 1, false), 0, None),
            (state(100, 1, false), 100, Some(Refusal::Expired)),
            (state(100, 0, false), 0, Some(Refusal::Exhausted)),
            (state(100, 0, false), 200, Some(Refusal::Expired)),
            (state(100, 5, true), 0, Some(Refusal::Revoked)),
            (state(100, 0, true), 200, Some(Refusal::Revoked)),
        ];
        for (state, now, expected) in cases {
            let got = check(&state, at(now)).err();
            assert_eq!(got, expected.map(Error::EnrollmentRefused), "{state:?} at {now}");
        }
    }

    #[test]
    fn expiry_accepts_spans_and_times() {
        let now = at(0);
        assert_eq!(expiry(None, now).unwrap(), at(86_400));
        assert_eq!(expiry(Some("2h"), now).unwrap(), at(7_200));
        assert_eq!(expiry(Some("7d"), now).unwrap(), at(7 * 86_400));
        let later = at(3_600).to_string();
        assert_eq!(expiry(Some(&later), now).unwrap(), at(3_600));
    }

    #[test]
    fn expiry_refuses_nonsense_past_and_forever() {
        let now = at(0);
        for bad in ["yesterday", "-2h", "400d", &at(-1).to_string()] {
            let err = expiry(Some(bad), now).unwrap_err();
            assert!(matches!(err, Error::Invalid { field: "expires", .. }), "{bad}: {err}");
        }
    }
}
