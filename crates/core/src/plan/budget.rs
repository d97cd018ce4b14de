//! How long a plan may take at worst, and whether that fits in the run's time limit.

use super::*;

/// How long a wave's DNS change may take to be INSYNC, counted twice (the
/// shift, and a rollback's): Route 53 usually takes under a minute.
pub const DNS_SYNC_ALLOWANCE_SECONDS: u64 = 300;

/// One app's share of the worst case: its database wait and its verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlowApp {
    pub app: String,
    pub database_seconds: u64,
    pub verification_seconds: u64,
}

impl SlowApp {
    fn of(a: &AppMove) -> Self {
        let db = &a.database;
        SlowApp {
            app: a.app.clone(),
            database_seconds: if db.action.changes_database() {
                u64::from(db.interval_seconds) * u64::from(db.max_checks)
            } else {
                0
            },
            verification_seconds: u64::from(a.verification.interval_seconds) * u64::from(a.verification.max_checks),
        }
    }
}

impl Plan {
    /// The longest the run can take if every wait runs to its deadline: per
    /// wave, its slowest database, the DNS sync allowance and its slowest
    /// verification; the soak between a drill's phases. With the apps that
    /// set each wave's waits, slowest first.
    pub fn worst_case(&self) -> (u64, Vec<SlowApp>) {
        let mut total = u64::from(self.soak_seconds) * self.phases.len().saturating_sub(1) as u64;
        let mut slow: Vec<SlowApp> = Vec::new();
        for wave in self.phases.iter().flat_map(|p| p.waves.iter()) {
            let apps: Vec<SlowApp> = wave.apps.iter().map(SlowApp::of).collect();
            let db = apps.iter().max_by_key(|a| a.database_seconds);
            let verify = apps.iter().max_by_key(|a| a.verification_seconds);
            total += db.map_or(0, |a| a.database_seconds)
                + 2 * DNS_SYNC_ALLOWANCE_SECONDS
                + verify.map_or(0, |a| a.verification_seconds);
            for a in db.into_iter().chain(verify) {
                if !slow.iter().any(|s| s.app == a.app) {
                    slow.push(a.clone());
                }
            }
        }
        slow.sort_by_key(|a| std::cmp::Reverse(a.database_seconds + a.verification_seconds));
        (total, slow)
    }

    /// Refuses a plan that cannot finish within the execution's timeout if
    /// its waits run to their deadlines: the run would stop half done.
    pub fn check_fits(&self, timeout_seconds: u64) -> Result<(), String> {
        let (total, slow) = self.worst_case();
        if total <= timeout_seconds {
            return Ok(());
        }
        let named: Vec<String> = slow
            .iter()
            .take(5)
            .map(|a| {
                format!(
                    "{} (database {} s, verification {} s)",
                    a.app, a.database_seconds, a.verification_seconds
                )
            })
            .collect();
        Err(format!(
            "this run can take up to {total} s if its waits run to their deadlines ({} wave(s), {DNS_SYNC_ALLOWANCE_SECONDS} s \
             per DNS sync, soak {} s), over the execution's timeout of {timeout_seconds} s: it would stop half done. \
             The slowest: {}; lower their deadline_seconds, the soak, or move fewer apps per run",
            self.phases.iter().map(|p| p.waves.len()).sum::<usize>(),
            self.soak_seconds,
            named.join(", ")
        ))
    }
}
