//! Routing-control traffic: apps whose traffic moves by Route 53 ARC routing
//! controls (On/Off switches that RECOVERY_CONTROL health checks follow)
//! instead of by record weights. Only ARC's data plane is used on a run's
//! path, so a move needs neither us-east-1 nor Route 53's control plane.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

crate::closed_names! {
    /// A routing control's state, as ARC spells it.
    pub enum ControlState {
        On = "On",
        Off = "Off",
    }
}

impl ControlState {
    /// ARC answers `On`/`Off`; older docs and tools say `ON`/`OFF`.
    pub fn parse_any_case(s: &str) -> Option<ControlState> {
        ControlState::ALL
            .iter()
            .copied()
            .find(|c| c.as_str().eq_ignore_ascii_case(s))
    }
}

/// One routing control's state before and after a phase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlChange {
    pub arn: String,
    pub before: ControlState,
    pub after: ControlState,
}

/// Routing controls as read from the cluster, by ARN.
pub type ControlStates = BTreeMap<String, ControlState>;

/// UpdateRoutingControlStates takes at most this many entries (ARC's quota).
pub const MAX_CONTROLS_PER_UPDATE: usize = 10;

/// The entries to send, in calls of at most [`MAX_CONTROLS_PER_UPDATE`]: only
/// controls not already in the wanted state. An app's pair always shares a
/// call, so a safety rule judges the end state of each app (never both Off).
pub fn update_batches(
    apps: &[Vec<(String, ControlState)>],
    current: &ControlStates,
) -> Vec<Vec<(String, ControlState)>> {
    let mut batches: Vec<Vec<(String, ControlState)>> = Vec::new();
    for wanted in apps {
        let changes: Vec<(String, ControlState)> = wanted
            .iter()
            .filter(|(arn, state)| current.get(arn) != Some(state))
            .cloned()
            .collect();
        if changes.is_empty() {
            continue;
        }
        match batches.last_mut() {
            Some(b) if b.len() + changes.len() <= MAX_CONTROLS_PER_UPDATE => b.extend(changes),
            _ => batches.push(changes),
        }
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(i: usize, on: bool) -> Vec<(String, ControlState)> {
        let (p, s) = if on {
            (ControlState::Off, ControlState::On)
        } else {
            (ControlState::On, ControlState::Off)
        };
        vec![(format!("p{i}"), p), (format!("s{i}"), s)]
    }

    #[test]
    fn controls_already_right_are_not_sent() {
        let mut current = ControlStates::new();
        current.insert("p0".into(), ControlState::Off);
        current.insert("s0".into(), ControlState::On);
        current.insert("p1".into(), ControlState::On);
        current.insert("s1".into(), ControlState::Off);
        let batches = update_batches(&[pair(0, true), pair(1, true)], &current);
        assert_eq!(
            batches,
            vec![vec![
                ("p1".to_string(), ControlState::Off),
                ("s1".to_string(), ControlState::On)
            ]]
        );
    }

    #[test]
    fn a_wave_goes_in_as_few_calls_as_arc_allows_and_pairs_are_never_split() {
        let apps: Vec<_> = (0..12).map(|i| pair(i, true)).collect();
        let batches = update_batches(&apps, &ControlStates::new());
        // 24 entries, 10 a call, pairs kept whole: 10 + 10 + 4.
        assert_eq!(batches.iter().map(Vec::len).collect::<Vec<_>>(), vec![10, 10, 4]);
        for b in &batches {
            for chunk in b.chunks(2) {
                assert_eq!(chunk[0].0[1..], chunk[1].0[1..], "a pair was split: {b:?}");
            }
        }
    }

    #[test]
    fn states_parse_as_arc_and_older_tools_spell_them() {
        assert_eq!(ControlState::parse_any_case("On"), Some(ControlState::On));
        assert_eq!(ControlState::parse_any_case("OFF"), Some(ControlState::Off));
        assert_eq!(ControlState::parse_any_case("maybe"), None);
    }
}
