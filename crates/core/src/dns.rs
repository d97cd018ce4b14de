//! Route 53 weight arithmetic: from the record sets as they are and the
//! weights they should have, the smallest set of change batches.
//!
//! Rules (docs/architecture.md, "Rules the code keeps"): change only the weight (keep TTL, values, alias
//! target, health check); one ChangeBatch per hosted zone, split only past
//! Route 53's limits; no change at all when the weights are already right.

use crate::error::LifeboatError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An alias target, kept as Route 53 returned it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AliasTarget {
    pub hosted_zone_id: String,
    pub dns_name: String,
    pub evaluate_target_health: bool,
}

/// The parts of a weighted resource record set lifeboat reads and writes back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordSet {
    pub name: String,
    pub record_type: String,
    pub set_identifier: Option<String>,
    pub weight: Option<i64>,
    pub ttl: Option<i64>,
    pub values: Vec<String>,
    pub alias: Option<AliasTarget>,
    pub health_check_id: Option<String>,
    /// Set when the record uses something lifeboat will not rewrite (another
    /// routing policy, a traffic policy): the reason, for the error message.
    pub unsupported: Option<String>,
}

/// Route 53 answers ids as `/hostedzone/Z123`; the registry may say either.
pub fn normalize_zone_id(id: &str) -> String {
    id.trim().trim_start_matches("/hostedzone/").to_string()
}

/// Route 53 names are case-insensitive, fully qualified, and escape `*` as `\052`.
pub fn normalize_record_name(name: &str) -> String {
    let mut n = name.trim().to_ascii_lowercase().replace("\\052", "*");
    if !n.ends_with('.') {
        n.push('.');
    }
    n
}

impl RecordSet {
    /// A weighted record with one value, a 60 s TTL, no health check (tests,
    /// fixtures; add the rest with struct update syntax).
    pub fn weighted(name: &str, record_type: &str, set_identifier: &str, weight: i64, value: &str) -> RecordSet {
        RecordSet {
            name: name.into(),
            record_type: record_type.into(),
            set_identifier: Some(set_identifier.into()),
            weight: Some(weight),
            ttl: Some(60),
            values: vec![value.into()],
            alias: None,
            health_check_id: None,
            unsupported: None,
        }
    }
}

/// Identifies one weighted record.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RecordKey {
    pub hosted_zone_id: String,
    pub name: String,
    pub record_type: String,
    pub set_identifier: String,
}

impl RecordKey {
    pub fn new(zone: &str, name: &str, record_type: &str, set_identifier: &str) -> Self {
        RecordKey {
            hosted_zone_id: normalize_zone_id(zone),
            name: normalize_record_name(name),
            record_type: record_type.to_ascii_uppercase(),
            set_identifier: set_identifier.to_string(),
        }
    }
}

impl std::fmt::Display for RecordKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} ({}) in zone {}",
            self.name, self.record_type, self.set_identifier, self.hosted_zone_id
        )
    }
}

/// A weight one record should have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredWeight {
    pub key: RecordKey,
    pub weight: i64,
}

/// Record sets as read from Route 53, by key.
#[derive(Debug, Clone, Default)]
pub struct RecordIndex(BTreeMap<RecordKey, RecordSet>);

impl RecordIndex {
    pub fn insert(&mut self, zone: &str, record: RecordSet) {
        if let Some(set_id) = record.set_identifier.clone() {
            let key = RecordKey::new(zone, &record.name, &record.record_type, &set_id);
            self.0.insert(key, record);
        }
    }
    pub fn get(&self, key: &RecordKey) -> Option<&RecordSet> {
        self.0.get(key)
    }
    /// Adds another read's records (another account's zones).
    pub fn extend(&mut self, other: RecordIndex) {
        self.0.extend(other.0);
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Route 53's per-request limits (ChangeResourceRecordSets).
#[derive(Debug, Clone, Copy)]
pub struct BatchLimits {
    /// ResourceRecord elements per request; an UPSERT counts twice.
    pub max_records: usize,
    /// Characters in all Value elements per request; an UPSERT counts twice.
    pub max_value_chars: usize,
}

impl Default for BatchLimits {
    fn default() -> Self {
        BatchLimits {
            max_records: 1000,
            max_value_chars: 32_000,
        }
    }
}

/// UPSERTs for one hosted zone, to send as one ChangeResourceRecordSets call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneBatch {
    pub hosted_zone_id: String,
    pub upserts: Vec<RecordSet>,
}

/// Checks every desired record exists, is weighted and can be rewritten, and
/// returns the UPSERTs needed, one batch per zone (split past `limits`).
/// Nothing is returned for records already at their weight.
pub fn plan_weight_changes(
    desired: &[DesiredWeight],
    current: &RecordIndex,
    limits: BatchLimits,
) -> Result<Vec<ZoneBatch>, LifeboatError> {
    plan_changes(desired, current, Vec::new(), limits)
}

/// As [`plan_weight_changes`], with other UPSERTs (`(zone, record)`, e.g. a
/// database endpoint CNAME) in the same batches as their zone's weights.
pub fn plan_changes(
    desired: &[DesiredWeight],
    current: &RecordIndex,
    other_upserts: Vec<(String, RecordSet)>,
    limits: BatchLimits,
) -> Result<Vec<ZoneBatch>, LifeboatError> {
    let mut problems = Vec::new();
    let mut by_zone: BTreeMap<String, Vec<RecordSet>> = BTreeMap::new();
    let mut seen: BTreeMap<&RecordKey, i64> = BTreeMap::new();
    for d in desired {
        if let Some(prev) = seen.insert(&d.key, d.weight) {
            if prev != d.weight {
                problems.push(format!("{} is asked to be both weight {prev} and {}", d.key, d.weight));
            }
            continue;
        }
        let Some(record) = current.get(&d.key) else {
            problems.push(format!("record {} does not exist", d.key));
            continue;
        };
        if let Some(why) = &record.unsupported {
            problems.push(format!("record {} cannot be shifted: {why}", d.key));
            continue;
        }
        if record.weight.is_none() {
            problems.push(format!("record {} has no weight: it is not a weighted record", d.key));
            continue;
        }
        if !(0..=255).contains(&d.weight) {
            problems.push(format!("weight {} for {} is outside 0-255", d.weight, d.key));
            continue;
        }
        if record.weight == Some(d.weight) {
            continue;
        }
        let mut changed = record.clone();
        changed.weight = Some(d.weight);
        by_zone.entry(d.key.hosted_zone_id.clone()).or_default().push(changed);
    }
    if !problems.is_empty() {
        return Err(LifeboatError::invalid(problems.join("; ")));
    }
    for (zone, record) in other_upserts {
        by_zone.entry(normalize_zone_id(&zone)).or_default().push(record);
    }
    let mut batches = Vec::new();
    for (zone, upserts) in by_zone {
        for chunk in split_by_limits(upserts, limits) {
            batches.push(ZoneBatch {
                hosted_zone_id: zone.clone(),
                upserts: chunk,
            });
        }
    }
    Ok(batches)
}

/// Splits UPSERTs so each request stays within Route 53's limits, counting
/// each UPSERT twice as Route 53 does (an alias record counts as one record).
fn split_by_limits(upserts: Vec<RecordSet>, limits: BatchLimits) -> Vec<Vec<RecordSet>> {
    let mut out: Vec<Vec<RecordSet>> = Vec::new();
    let mut current: Vec<RecordSet> = Vec::new();
    let (mut records, mut chars) = (0usize, 0usize);
    for r in upserts {
        let r_records = 2 * r.values.len().max(1);
        let r_chars = 2 * r.values.iter().map(String::len).sum::<usize>();
        if !current.is_empty() && (records + r_records > limits.max_records || chars + r_chars > limits.max_value_chars)
        {
            out.push(std::mem::take(&mut current));
            records = 0;
            chars = 0;
        }
        records += r_records;
        chars += r_chars;
        current.push(r);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(name: &str, set: &str, weight: i64) -> RecordSet {
        RecordSet {
            health_check_id: Some("hc-1".into()),
            ..RecordSet::weighted(name, "A", set, weight, "192.0.2.1")
        }
    }

    fn want(zone: &str, name: &str, set: &str, weight: i64) -> DesiredWeight {
        DesiredWeight {
            key: RecordKey::new(zone, name, "A", set),
            weight,
        }
    }

    #[test]
    fn only_the_weight_changes_and_records_at_weight_are_left_alone() {
        let mut idx = RecordIndex::default();
        idx.insert("Z1", rec("a.example.com.", "p", 100));
        idx.insert("Z1", rec("a.example.com.", "s", 100));
        let batches = plan_weight_changes(
            &[
                want("Z1", "a.example.com", "p", 0),
                want("Z1", "a.example.com", "s", 100),
            ],
            &idx,
            BatchLimits::default(),
        )
        .unwrap();
        assert_eq!(batches.len(), 1);
        let up = &batches[0].upserts;
        assert_eq!(up.len(), 1);
        assert_eq!(up[0].weight, Some(0));
        assert_eq!((up[0].ttl, up[0].health_check_id.as_deref()), (Some(60), Some("hc-1")));
        assert_eq!(up[0].values, vec!["192.0.2.1".to_string()]);
    }

    #[test]
    fn already_shifted_means_no_batches() {
        let mut idx = RecordIndex::default();
        idx.insert("Z1", rec("a.example.com.", "p", 0));
        let batches = plan_weight_changes(
            &[want("/hostedzone/Z1", "A.example.com.", "p", 0)],
            &idx,
            BatchLimits::default(),
        )
        .unwrap();
        assert!(batches.is_empty());
    }

    #[test]
    fn one_batch_per_zone() {
        let mut idx = RecordIndex::default();
        for (z, n) in [("Z1", "a.x."), ("Z1", "b.x."), ("Z2", "c.y.")] {
            idx.insert(z, rec(n, "p", 100));
        }
        let batches = plan_weight_changes(
            &[
                want("Z1", "a.x.", "p", 0),
                want("Z2", "c.y.", "p", 0),
                want("Z1", "b.x.", "p", 0),
            ],
            &idx,
            BatchLimits::default(),
        )
        .unwrap();
        let zones: Vec<(&str, usize)> = batches
            .iter()
            .map(|b| (b.hosted_zone_id.as_str(), b.upserts.len()))
            .collect();
        assert_eq!(zones, vec![("Z1", 2), ("Z2", 1)]);
    }

    #[test]
    fn splits_only_past_route53_limits_counting_upserts_twice() {
        let mut idx = RecordIndex::default();
        let mut desired = Vec::new();
        for i in 0..1200 {
            let name = format!("r{i}.x.");
            idx.insert("Z1", rec(&name, "p", 100));
            desired.push(want("Z1", &name, "p", 0));
        }
        let batches = plan_weight_changes(&desired, &idx, BatchLimits::default()).unwrap();
        // 1 value each, counted twice: 500 records per request.
        let sizes: Vec<usize> = batches.iter().map(|b| b.upserts.len()).collect();
        assert_eq!(sizes, vec![500, 500, 200]);
        let tight = BatchLimits {
            max_records: 1000,
            max_value_chars: 18 * 3,
        };
        let batches = plan_weight_changes(&desired[..7], &idx, tight).unwrap();
        // "192.0.2.1" is 9 chars, 18 as an UPSERT: 3 records fit in 54 chars.
        assert_eq!(
            batches.iter().map(|b| b.upserts.len()).collect::<Vec<_>>(),
            vec![3, 3, 1]
        );
    }

    #[test]
    fn every_missing_or_unweighted_record_is_reported_before_any_change() {
        let mut idx = RecordIndex::default();
        let mut simple = rec("s.x.", "p", 1);
        simple.weight = None;
        idx.insert("Z1", simple);
        let mut failover = rec("f.x.", "p", 1);
        failover.unsupported = Some("it uses failover routing".into());
        idx.insert("Z1", failover);
        let err = plan_weight_changes(
            &[
                want("Z1", "missing.x.", "p", 0),
                want("Z1", "s.x.", "p", 0),
                want("Z1", "f.x.", "p", 0),
            ],
            &idx,
            BatchLimits::default(),
        )
        .unwrap_err();
        assert_eq!(err.name, crate::ErrorName::InvalidRequest);
        assert!(
            err.message.contains("missing.x. A (p) in zone Z1 does not exist"),
            "{err}"
        );
        assert!(err.message.contains("not a weighted record"), "{err}");
        assert!(err.message.contains("failover routing"), "{err}");
    }
}

#[cfg(test)]
mod properties {
    //! The batch splitter: no record lost or duplicated, order kept, every
    //! batch within Route 53's limits (an UPSERT counted twice), as few
    //! batches as the greedy fill allows.

    use super::*;
    use proptest::prelude::*;

    fn record() -> impl Strategy<Value = RecordSet> {
        // Realistic records: 1-8 values of 1-255 characters (one fits alone).
        // (Lengths, not random text: what the limits count is characters.)
        (0u32..100_000, prop::collection::vec(1usize..=255, 1..=8), 0i64..=255).prop_map(|(id, lengths, weight)| {
            RecordSet {
                values: lengths.iter().map(|n| "v".repeat(*n)).collect(),
                ..RecordSet::weighted(&format!("r{id}.example.com."), "A", &format!("r{id}"), weight, "")
            }
        })
    }

    fn cost(r: &RecordSet) -> (usize, usize) {
        (
            2 * r.values.len().max(1),
            2 * r.values.iter().map(String::len).sum::<usize>(),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn batches_keep_every_record_once_in_order_and_within_limits(
            upserts in prop::collection::vec(record(), 0..400),
            max_records in 16usize..=1000,
            max_value_chars in 4_096usize..=32_000,
        ) {
            let limits = BatchLimits { max_records, max_value_chars };
            let batches = split_by_limits(upserts.clone(), limits);
            // Nothing lost, nothing duplicated, the order kept.
            let flat: Vec<RecordSet> = batches.iter().flatten().cloned().collect();
            prop_assert_eq!(&flat, &upserts);
            for b in &batches {
                prop_assert!(!b.is_empty());
                let (records, chars) = b.iter().map(cost).fold((0, 0), |(a, c), (x, y)| (a + x, c + y));
                prop_assert!(records <= limits.max_records, "{} records > {}", records, limits.max_records);
                prop_assert!(chars <= limits.max_value_chars, "{} chars > {}", chars, limits.max_value_chars);
            }
            // Greedy: each batch but the last would overflow with the next batch's first record.
            for pair in batches.windows(2) {
                let (records, chars) = pair[0].iter().map(cost).fold((0, 0), |(a, c), (x, y)| (a + x, c + y));
                let (r, c) = cost(&pair[1][0]);
                prop_assert!(records + r > limits.max_records || chars + c > limits.max_value_chars);
            }
        }

        #[test]
        fn route53_default_limits_hold_for_a_thousand_weight_changes(
            upserts in prop::collection::vec(record(), 0..1000),
        ) {
            let limits = BatchLimits::default();
            for b in split_by_limits(upserts, limits) {
                let (records, chars) = b.iter().map(cost).fold((0, 0), |(a, c), (x, y)| (a + x, c + y));
                prop_assert!(records <= 1000 && chars <= 32_000);
            }
        }
    }
}
