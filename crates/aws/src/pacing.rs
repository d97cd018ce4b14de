//! Client-side pacing: lifeboat keeps under AWS's documented rate quotas
//! rather than spending them and being throttled. One token bucket per
//! quota and scope (an account, a Region, an ARC cluster endpoint) for the
//! whole process, shared by every client and task in it; a caller takes a
//! token, waiting for the bucket to refill when it is empty, in the order
//! callers arrived. What the quotas are, and their pages, are below; the
//! emulator throttles by the same figures (emulator/lifeboat_emulator/quotas.py).
//!
//! Throttling that still happens (other tools in the account spend the same
//! quotas) is the SDK's retries' and, past them, the per-app isolation's.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A token bucket: `burst` tokens at most, refilling `per_second`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quota {
    pub burst: f64,
    pub per_second: f64,
}

impl Quota {
    pub const fn new(burst: f64, per_second: f64) -> Quota {
        Quota { burst, per_second }
    }
}

/// "Throttling for Amazon Route 53 API requests" (Route 53 developer guide):
/// every request takes from the account's bucket, 50 refilling 10 a second.
pub const ROUTE53_ACCOUNT: Quota = Quota::new(50.0, 10.0);
/// The same page: a second, independent bucket counts record changes (one
/// per Change of a ChangeResourceRecordSets). Its figures could not be read
/// from the stored copy of the page: 1,000 changes refilling 100 a second
/// stand in for them here and in the emulator (quotas.py), and are the
/// first figures to check against your account.
pub const ROUTE53_CHANGES: Quota = Quota::new(1000.0, 100.0);
/// The same page: GetHealthCheckStatus has its own bucket, 4 refilling 1 a second.
pub const ROUTE53_GET_HEALTH_CHECK_STATUS: Quota = Quota::new(4.0, 1.0);
/// "CloudWatch service quotas": DescribeAlarms 9 transactions a second per Region.
pub const CLOUDWATCH_DESCRIBE_ALARMS: Quota = Quota::new(9.0, 9.0);
/// The same page: GetMetricData 50 a second per Region (no Metrics Insights).
pub const CLOUDWATCH_GET_METRIC_DATA: Quota = Quota::new(50.0, 50.0);
/// The same page: PutMetricData 500 a second per Region.
pub const CLOUDWATCH_PUT_METRIC_DATA: Quota = Quota::new(500.0, 500.0);
/// The same page: PutMetricAlarm 3 a second per Region.
pub const CLOUDWATCH_PUT_METRIC_ALARM: Quota = Quota::new(3.0, 3.0);
/// "Request throttling for the Amazon RDS API" (RDS user guide): per account
/// and Region, a burst of 300 and a sustained 12 a second.
pub const RDS_ACCOUNT: Quota = Quota::new(300.0, 12.0);
/// "Quotas for routing control" (ARC developer guide): 3 mutating API calls a
/// second to a cluster endpoint.
pub const ARC_MUTATING_PER_ENDPOINT: Quota = Quota::new(3.0, 3.0);
/// "Step Functions service quotas": StartExecution (Standard) 1,300 refilling
/// 300 a second in us-east-1, us-west-2 and eu-west-1; 800 / 150 elsewhere.
pub fn sfn_start_execution(region: &str) -> Quota {
    if matches!(region, "us-east-1" | "us-west-2" | "eu-west-1") {
        Quota::new(1300.0, 300.0)
    } else {
        Quota::new(800.0, 150.0)
    }
}

#[derive(Debug)]
struct Bucket {
    /// Tokens now; below zero when callers have reserved tokens not yet refilled.
    tokens: f64,
    at: Instant,
}

fn buckets() -> &'static Mutex<HashMap<String, Bucket>> {
    static BUCKETS: OnceLock<Mutex<HashMap<String, Bucket>>> = OnceLock::new();
    BUCKETS.get_or_init(Default::default)
}

/// Reserves a token of `key`'s bucket now; how long to wait before using it.
pub fn reserve(key: &str, quota: Quota) -> Duration {
    reserve_at(key, quota, Instant::now(), 1.0)
}

fn reserve_at(key: &str, quota: Quota, now: Instant, tokens: f64) -> Duration {
    let mut all = buckets().lock().unwrap_or_else(|e| e.into_inner());
    let b = all.entry(key.to_string()).or_insert(Bucket {
        tokens: quota.burst,
        at: now,
    });
    let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
    b.tokens = (b.tokens + elapsed * quota.per_second).min(quota.burst);
    b.at = now;
    b.tokens -= tokens;
    if b.tokens >= 0.0 || quota.per_second <= 0.0 {
        Duration::ZERO
    } else {
        Duration::from_secs_f64(-b.tokens / quota.per_second)
    }
}

/// Takes a token of `key`'s bucket, waiting (really: the quota is AWS's) if it is empty.
pub async fn pace(key: &str, quota: Quota) {
    pace_n(key, quota, 1).await;
}

/// Takes `n` tokens (a change batch's changes), waiting until the bucket has them.
pub async fn pace_n(key: &str, quota: Quota, n: usize) {
    let wait = reserve_at(key, quota, Instant::now(), n as f64);
    if !wait.is_zero() {
        tracing::debug!(key, wait_ms = wait.as_millis() as u64, "pacing under AWS's rate quota");
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_callers_wait_one_refill_each_in_turn() {
        let key = "test:burst";
        let q = Quota::new(4.0, 1.0);
        let t0 = Instant::now();
        for _ in 0..4 {
            assert_eq!(reserve_at(key, q, t0, 1.0), Duration::ZERO);
        }
        assert_eq!(reserve_at(key, q, t0, 1.0), Duration::from_secs(1));
        assert_eq!(reserve_at(key, q, t0, 1.0), Duration::from_secs(2));
        // Two seconds on, both reserved tokens have refilled and one more is owed.
        let wait = reserve_at(key, q, t0 + Duration::from_secs(2), 1.0);
        assert!((wait.as_secs_f64() - 1.0).abs() < 1e-9, "{wait:?}");
    }

    #[test]
    fn buckets_are_per_key_and_refill_to_their_burst_only() {
        let q = Quota::new(2.0, 10.0);
        let t0 = Instant::now();
        assert_eq!(reserve_at("test:a", q, t0, 1.0), Duration::ZERO);
        assert_eq!(reserve_at("test:b", q, t0, 1.0), Duration::ZERO);
        let later = t0 + Duration::from_secs(60);
        for _ in 0..2 {
            assert_eq!(reserve_at("test:a", q, later, 1.0), Duration::ZERO);
        }
        assert!(reserve_at("test:a", q, later, 1.0) > Duration::ZERO);
    }

    #[test]
    fn a_change_batch_takes_a_token_a_change() {
        let q = Quota::new(1000.0, 100.0);
        let t0 = Instant::now();
        assert_eq!(reserve_at("test:changes", q, t0, 1000.0), Duration::ZERO);
        // The next 500 changes wait for 500 tokens: 5 s at 100 a second.
        assert_eq!(reserve_at("test:changes", q, t0, 500.0), Duration::from_secs(5));
    }
}
