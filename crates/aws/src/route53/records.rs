//! Reading many records in few ListResourceRecordSets calls, over any
//! [`DnsReader`] (this adapter or the tests' fake). Route 53's cursor is
//! three fields (NextRecordName, Type, Identifier), which the SDK's
//! paginators cannot follow, so the paging is ours.

use crate::error::AwsError;
use crate::ports::{DnsReader, PageStart};
use lifeboat_core::dns::{RecordIndex, RecordKey, normalize_record_name};
use std::collections::{BTreeMap, BTreeSet};

/// Up to this many (name, type) lookups in a zone are made one by one; past
/// it the zone is read page by page (300 record sets a call), which costs
/// fewer calls whenever the records sit in a few pages.
pub const PER_NAME_LOOKUPS_MAX: usize = 3;

/// Reads every record the keys name, with as few ListResourceRecordSets calls
/// as it can: one lookup per (name, type) in zones where few are wanted, a
/// scan of the zone's pages where many are, bounded so it never costs more
/// pages than there are names wanted (the rest are then looked up one by one).
pub async fn read_records<'a>(
    dns: &dyn DnsReader,
    keys: impl IntoIterator<Item = &'a RecordKey>,
) -> Result<RecordIndex, AwsError> {
    let mut by_zone: BTreeMap<&str, BTreeSet<(&str, &str)>> = BTreeMap::new();
    for k in keys {
        by_zone
            .entry(k.hosted_zone_id.as_str())
            .or_default()
            .insert((k.name.as_str(), k.record_type.as_str()));
    }
    let mut index = RecordIndex::default();
    for (zone, wanted) in by_zone {
        let mut lookup: Vec<(&str, &str)> = Vec::new();
        if wanted.len() <= PER_NAME_LOOKUPS_MAX {
            lookup.extend(wanted.iter().copied());
        } else {
            let mut missing = wanted.clone();
            let mut start: Option<PageStart> = None;
            let mut pages = 0;
            loop {
                let page = dns.list_page(zone, start.as_ref()).await?;
                pages += 1;
                for r in page.records {
                    let group = (normalize_record_name(&r.name), r.record_type.clone());
                    if let Some(&(n, t)) = wanted.iter().find(|(n, t)| *n == group.0 && *t == group.1) {
                        missing.remove(&(n, t));
                        index.insert(zone, r);
                    }
                }
                let Some(next) = page.next else { break };
                // A (name, type) group cut by the page boundary is not complete yet.
                let cut = wanted
                    .iter()
                    .find(|(n, t)| *n == normalize_record_name(&next.name) && *t == next.record_type);
                if missing.is_empty() && cut.is_none() {
                    break;
                }
                if pages >= wanted.len() {
                    lookup.extend(cut.copied());
                    break;
                }
                start = Some(next);
            }
            lookup.extend(missing.iter().copied());
            lookup.sort();
            lookup.dedup();
        }
        for (name, record_type) in lookup {
            for r in dns.record_sets(zone, name, record_type).await? {
                index.insert(zone, r);
            }
        }
    }
    Ok(index)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fakes::FakeRoute53;
    use lifeboat_core::dns::RecordSet;

    fn rec(name: &str, set: &str, weight: i64) -> RecordSet {
        RecordSet::weighted(name, "A", set, weight, "192.0.2.1")
    }

    /// `n` names, each with a primary and a secondary record.
    fn zone(n: usize, page_size: usize) -> (FakeRoute53, Vec<RecordKey>) {
        let r53 = FakeRoute53::new();
        *r53.page_size.lock().unwrap() = page_size;
        let mut keys = Vec::new();
        for i in 0..n {
            let name = format!("r{i:03}.x.");
            for set in ["p", "s"] {
                r53.add_record("Z1", rec(&name, set, 1));
                keys.push(RecordKey::new("Z1", &name, "A", set));
            }
        }
        (r53, keys)
    }

    fn list_calls(r53: &FakeRoute53) -> u64 {
        r53.calls.lock().unwrap().get("route53:ListResourceRecordSets")
    }

    #[tokio::test]
    async fn a_few_names_are_looked_up_one_by_one() {
        let (r53, keys) = zone(50, 300);
        let idx = read_records(&r53, keys[..6].iter()).await.unwrap();
        assert_eq!(idx.len(), 6);
        assert_eq!(list_calls(&r53), 3);
    }

    #[tokio::test]
    async fn many_names_are_read_by_scanning_the_zone() {
        let (r53, keys) = zone(200, 300);
        let idx = read_records(&r53, keys.iter()).await.unwrap();
        assert_eq!(idx.len(), 400);
        // 400 record sets at 300 a page: 2 calls instead of 200.
        assert_eq!(list_calls(&r53), 2);
    }

    #[tokio::test]
    async fn a_group_cut_by_a_page_boundary_is_read_whole() {
        // Pages of 3 cut every other name's pair in two.
        let (r53, keys) = zone(8, 3);
        let idx = read_records(&r53, keys.iter()).await.unwrap();
        assert_eq!(idx.len(), 16);
        for k in &keys {
            assert!(idx.get(k).is_some(), "{k} missing");
        }
    }

    #[tokio::test]
    async fn the_scan_never_costs_more_pages_than_names_wanted() {
        // 4 wanted names spread over a 1000-name zone with tiny pages.
        let (r53, keys) = zone(1000, 10);
        let wanted: Vec<RecordKey> = keys
            .iter()
            .filter(|k| ["r000.x.", "r300.x.", "r600.x.", "r999.x."].contains(&k.name.as_str()))
            .cloned()
            .collect();
        let idx = read_records(&r53, wanted.iter()).await.unwrap();
        assert_eq!(idx.len(), 8);
        assert!(list_calls(&r53) <= 4 + 4, "{} calls", list_calls(&r53));
    }
}
