//! Time as the executor sees it. Wait states, retry back-off and execution
//! timeouts all go through a [`Clock`], so tests and the demo run on a
//! virtual clock and never sleep for real.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use std::sync::Mutex;

#[async_trait]
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
    async fn sleep(&self, duration: std::time::Duration);
}

/// Wall-clock time; sleeping really sleeps.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

#[async_trait]
impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
    async fn sleep(&self, duration: std::time::Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// Virtual time: starts at a given instant; sleeping moves time forward at
/// once. Concurrent sleepers each move it by their own duration, so time in
/// parallel branches runs a little fast; that only shortens what it measures.
///
/// [`VirtualClock::new`] stands still between sleeps (deterministic, for
/// tests); [`VirtualClock::following_real_time`] also moves with the wall
/// clock, so durations include the real work (the demo's measured RTO).
#[derive(Debug)]
pub struct VirtualClock {
    now: Mutex<DateTime<Utc>>,
    real_start: Option<std::time::Instant>,
    /// Each sleep also really sleeps its duration divided by this.
    real_divisor: Option<u32>,
}

impl VirtualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        VirtualClock {
            now: Mutex::new(start),
            real_start: None,
            real_divisor: None,
        }
    }
    pub fn following_real_time(start: DateTime<Utc>) -> Self {
        VirtualClock {
            now: Mutex::new(start),
            real_start: Some(std::time::Instant::now()),
            real_divisor: None,
        }
    }
    /// Stands still between sleeps, but each sleep also takes `1/divisor` of
    /// its duration in real time: executions that contend for something
    /// real (a function's reserved concurrency) back off for a while in real
    /// time too, as on AWS, instead of retrying all at once.
    pub fn scaled(start: DateTime<Utc>, divisor: u32) -> Self {
        VirtualClock {
            now: Mutex::new(start),
            real_start: None,
            real_divisor: Some(divisor.max(1)),
        }
    }
    /// Moves time forward without a sleeper (for tests).
    pub fn advance(&self, duration: std::time::Duration) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now += Duration::from_std(duration).unwrap_or(Duration::MAX);
    }
}

#[async_trait]
impl Clock for VirtualClock {
    fn now(&self) -> DateTime<Utc> {
        let skipped = *self.now.lock().unwrap_or_else(|e| e.into_inner());
        match self.real_start {
            Some(t) => skipped + Duration::from_std(t.elapsed()).unwrap_or_default(),
            None => skipped,
        }
    }
    async fn sleep(&self, duration: std::time::Duration) {
        self.advance(duration);
        match self.real_divisor {
            Some(d) => tokio::time::sleep(duration / d).await,
            // Let other tasks run, as a real sleep would.
            None => tokio::task::yield_now().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_scaled_clock_sleeps_a_fraction_of_its_virtual_delay_for_real() {
        let start = Utc::now();
        let clock = VirtualClock::scaled(start, 1000);
        let real = std::time::Instant::now();
        clock.sleep(std::time::Duration::from_secs(100)).await;
        assert_eq!(clock.now() - start, Duration::seconds(100));
        assert!(real.elapsed() >= std::time::Duration::from_millis(100));
    }

    #[tokio::test]
    async fn virtual_sleep_moves_time_without_waiting() {
        let start = Utc::now();
        let clock = VirtualClock::new(start);
        let real = std::time::Instant::now();
        clock.sleep(std::time::Duration::from_secs(3600)).await;
        assert_eq!(clock.now() - start, Duration::hours(1));
        assert!(real.elapsed() < std::time::Duration::from_secs(5));
    }
}
