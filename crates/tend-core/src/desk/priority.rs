//! A ticket's priority: how much of the customer's business is hit (impact) and how soon that
//! hurts (urgency), mapped through a matrix. The default is the usual ITIL one; a client may
//! configure its own, as long as more impact or urgency never lowers the priority.
//!
//! Must not know SLA targets: `sla` maps a priority to its targets.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::validate_text;
use crate::Error;

/// How much of the customer's business a problem hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Impact {
    /// A whole site, a main service or many users.
    High,
    /// A department, a secondary service.
    Medium,
    /// One user, a workaround exists.
    Low,
}

/// How soon a problem hurts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    High,
    Medium,
    Low,
}

impl Impact {
    /// The name stored and sent on the wire, as serde writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Impact::High => "high",
            Impact::Medium => "medium",
            Impact::Low => "low",
        }
    }
}

impl Urgency {
    /// The name stored and sent on the wire, as serde writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::High => "high",
            Urgency::Medium => "medium",
            Urgency::Low => "low",
        }
    }
}

const IMPACTS: [Impact; 3] = [Impact::High, Impact::Medium, Impact::Low];
const URGENCIES: [Urgency; 3] = [Urgency::High, Urgency::Medium, Urgency::Low];

/// A ticket's priority. Ordered P1 first, so sorting puts the most pressing ticket on top.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    P1,
    P2,
    P3,
    P4,
}

impl Priority {
    pub const ALL: [Priority; 4] = [Priority::P1, Priority::P2, Priority::P3, Priority::P4];

    /// The name stored and sent on the wire, as serde writes it: "p1" to "p4".
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::P1 => "p1",
            Priority::P2 => "p2",
            Priority::P3 => "p3",
            Priority::P4 => "p4",
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Priority {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        Priority::ALL.into_iter().find(|priority| priority.as_str() == text).ok_or_else(|| Error::Invalid {
            field: "priority",
            reason: format!("'{text}' is not a priority (p1 to p4)"),
        })
    }
}

/// Impact × urgency → priority. Keyed first by impact, then by urgency:
/// `{"high": {"high": "p1", "medium": "p2", "low": "p3"}, "medium": {…}, "low": {…}}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriorityMatrix {
    pub high: ByUrgency,
    pub medium: ByUrgency,
    pub low: ByUrgency,
}

/// One impact's row of a [`PriorityMatrix`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ByUrgency {
    pub high: Priority,
    pub medium: Priority,
    pub low: Priority,
}

impl Default for PriorityMatrix {
    /// The ITIL matrix: P1 only when both are high; a low on either side caps the priority at P3.
    fn default() -> Self {
        use Priority::*;
        PriorityMatrix {
            high: ByUrgency { high: P1, medium: P2, low: P3 },
            medium: ByUrgency { high: P2, medium: P3, low: P4 },
            low: ByUrgency { high: P3, medium: P4, low: P4 },
        }
    }
}

impl PriorityMatrix {
    pub fn priority(&self, impact: Impact, urgency: Urgency) -> Priority {
        let row = match impact {
            Impact::High => &self.high,
            Impact::Medium => &self.medium,
            Impact::Low => &self.low,
        };
        match urgency {
            Urgency::High => row.high,
            Urgency::Medium => row.medium,
            Urgency::Low => row.low,
        }
    }

    /// Refuses a matrix in which more impact or more urgency gives a lower priority: almost
    /// certainly rows or columns swapped by mistake, and a trap for whoever files a ticket.
    pub fn validate(&self) -> Result<(), Error> {
        for (i, &impact) in IMPACTS.iter().enumerate() {
            for (u, &urgency) in URGENCIES.iter().enumerate() {
                let here = self.priority(impact, urgency);
                let less_impact = IMPACTS.get(i + 1).map(|&lower| (lower, urgency));
                let less_urgency = URGENCIES.get(u + 1).map(|&lower| (impact, lower));
                for (lower_impact, lower_urgency) in less_impact.into_iter().chain(less_urgency) {
                    let there = self.priority(lower_impact, lower_urgency);
                    if there < here {
                        return Err(Error::Invalid {
                            field: "priority_matrix",
                            reason: format!(
                                "{} impact with {} urgency gives {there}, above {here} for {} impact with {} \
                                 urgency",
                                lower_impact.as_str(),
                                lower_urgency.as_str(),
                                impact.as_str(),
                                urgency.as_str()
                            ),
                        });
                    }
                }
            }
        }
        Ok(())
    }
}

/// The trimmed reason required when staff set a priority other than the matrix gives: reports
/// on SLA performance must be able to tell a judgement from a mistake.
pub fn validate_override_reason(reason: &str) -> Result<&str, Error> {
    validate_text("override_reason", reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_matrix_is_itil() {
        use Impact as I;
        use Priority::*;
        use Urgency as U;
        let matrix = PriorityMatrix::default();
        let cases = [
            (I::High, U::High, P1),
            (I::High, U::Medium, P2),
            (I::Medium, U::High, P2),
            (I::High, U::Low, P3),
            (I::Medium, U::Medium, P3),
            (I::Low, U::High, P3),
            (I::Medium, U::Low, P4),
            (I::Low, U::Medium, P4),
            (I::Low, U::Low, P4),
        ];
        for (impact, urgency, expected) in cases {
            assert_eq!(matrix.priority(impact, urgency), expected, "{impact:?} × {urgency:?}");
        }
        matrix.validate().unwrap();
    }

    #[test]
    fn a_client_configures_its_matrix_in_json() {
        let json = r#"{
            "high":   {"high": "p1", "medium": "p1", "low": "p2"},
            "medium": {"high": "p2", "medium": "p2", "low": "p3"},
            "low":    {"high": "p3", "medium": "p4", "low": "p4"}
        }"#;
        let matrix: PriorityMatrix = serde_json::from_str(json).unwrap();
        matrix.validate().unwrap();
        assert_eq!(matrix.priority(Impact::High, Urgency::Medium), Priority::P1);
        assert_eq!(matrix.priority(Impact::Low, Urgency::High), Priority::P3);
        let round_trip: PriorityMatrix = serde_json::from_value(serde_json::to_value(matrix).unwrap()).unwrap();
        assert_eq!(round_trip, matrix);
        assert_eq!(serde_json::to_value(PriorityMatrix::default()).unwrap()["high"]["high"], "p1");
        // A typo is refused, not taken as a missing row.
        assert!(serde_json::from_str::<PriorityMatrix>(&json.replace("\"low\":    {", "\"lo\": {")).is_err());
    }

    #[test]
    fn a_matrix_where_more_impact_or_urgency_lowers_the_priority_is_refused() {
        let mut swapped_rows = PriorityMatrix::default();
        std::mem::swap(&mut swapped_rows.high, &mut swapped_rows.low);
        let err = swapped_rows.validate().unwrap_err().to_string();
        assert_eq!(
            err,
            "invalid priority_matrix: medium impact with high urgency gives p2, above p3 for high impact with high \
             urgency"
        );
        let mut inverted_cell = PriorityMatrix::default();
        inverted_cell.medium.low = Priority::P2;
        let err = inverted_cell.validate().unwrap_err().to_string();
        assert!(
            err.ends_with("medium impact with low urgency gives p2, above p3 for high impact with low urgency"),
            "{err}"
        );
        let flat = PriorityMatrix {
            high: ByUrgency { high: Priority::P2, medium: Priority::P2, low: Priority::P2 },
            medium: ByUrgency { high: Priority::P2, medium: Priority::P2, low: Priority::P2 },
            low: ByUrgency { high: Priority::P2, medium: Priority::P2, low: Priority::P2 },
        };
        flat.validate().unwrap();
    }

    #[test]
    fn priority_names_and_order() {
        for priority in Priority::ALL {
            assert_eq!(priority.as_str().parse::<Priority>().unwrap(), priority);
            assert_eq!(serde_json::to_value(priority).unwrap(), priority.as_str());
        }
        assert!(matches!("P1".parse::<Priority>(), Err(Error::Invalid { field: "priority", .. })));
        let mut sorted = [Priority::P3, Priority::P1, Priority::P4, Priority::P2];
        sorted.sort();
        assert_eq!(sorted, Priority::ALL);
        for (impact, urgency) in IMPACTS.into_iter().zip(URGENCIES) {
            assert_eq!(serde_json::to_value(impact).unwrap(), impact.as_str());
            assert_eq!(serde_json::to_value(urgency).unwrap(), urgency.as_str());
        }
    }

    #[test]
    fn an_override_needs_a_reason() {
        assert_eq!(validate_override_reason(" the shop's only till ").unwrap(), "the shop's only till");
        assert!(matches!(validate_override_reason(""), Err(Error::Invalid { field: "override_reason", .. })));
    }
}
