//! Lambda's reserved concurrency, modelled for the local executor: a
//! function with N reserved concurrent executions runs at most N invocations
//! at once, and Step Functions' synchronous invoke of one more is answered
//! `Lambda.TooManyRequestsException` (which the state machine retries). The
//! stack reserves `FunctionConcurrency` for each function; a burst of
//! triggers (a dark primary fires one alarm per app in the same minute) meets
//! exactly this.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The error name Step Functions gives a throttled Lambda invocation.
pub const TOO_MANY_REQUESTS: &str = "Lambda.TooManyRequestsException";

/// Invocations in flight per function, against each one's reserved concurrency.
#[derive(Debug, Default)]
pub struct ReservedConcurrency {
    limit: usize,
    in_flight: std::sync::Mutex<BTreeMap<String, Arc<AtomicUsize>>>,
    throttled: AtomicUsize,
}

/// An invocation's place; dropping it frees the place.
#[derive(Debug)]
pub struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl ReservedConcurrency {
    /// Every function reserves `limit` concurrent executions.
    pub fn new(limit: usize) -> Self {
        ReservedConcurrency {
            limit,
            ..Default::default()
        }
    }

    /// A place for one invocation of `function`, or the throttling message.
    pub fn enter(&self, function: &str) -> Result<Slot, String> {
        let counter = {
            let mut map = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
            map.entry(function.to_string()).or_default().clone()
        };
        let taken = counter.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
            (n < self.limit).then_some(n + 1)
        });
        match taken {
            Ok(_) => Ok(Slot(counter)),
            Err(_) => {
                self.throttled.fetch_add(1, Ordering::SeqCst);
                Err(format!(
                    "Rate Exceeded: {function} is running its {} reserved concurrent executions",
                    self.limit
                ))
            }
        }
    }

    /// How many invocations were refused so far.
    pub fn throttled(&self) -> usize {
        self.throttled.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_more_than_the_reservation_is_refused_until_a_place_frees() {
        let c = ReservedConcurrency::new(2);
        let a = c.enter("f").unwrap();
        let _b = c.enter("f").unwrap();
        assert!(c.enter("f").unwrap_err().contains("its 2 reserved"));
        // Another function has its own reservation.
        let _g = c.enter("g").unwrap();
        drop(a);
        let _c = c.enter("f").unwrap();
        assert_eq!(c.throttled(), 1);
    }
}
