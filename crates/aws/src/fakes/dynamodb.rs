//! The registry, the journal and the run lease in memory.

use super::prelude::*;

/// The registry table in memory.
#[derive(Debug, Default)]
pub struct FakeRegistry {
    apps: Mutex<BTreeMap<String, StoredApp>>,
    cluster: Mutex<Option<RoutingControlCluster>>,
    approval: Mutex<Option<lifeboat_core::registry::Approval>>,
}

#[async_trait]
impl RegistryStore for FakeRegistry {
    async fn ensure_table(&self) -> Result<bool, AwsError> {
        Ok(false)
    }
    async fn load(&self) -> Result<Vec<StoredApp>, AwsError> {
        Ok(lock(&self.apps).values().cloned().collect())
    }
    async fn put_apps(&self, apps: &[Application]) -> Result<(), AwsError> {
        let mut stored = lock(&self.apps);
        for a in apps {
            let prev = stored.remove(&a.name);
            stored.insert(
                a.name.clone(),
                StoredApp {
                    app: a.clone(),
                    active_region: prev.as_ref().and_then(|p| p.active_region.clone()),
                    updated_at: prev.as_ref().and_then(|p| p.updated_at.clone()),
                    updated_by: prev.and_then(|p| p.updated_by),
                },
            );
        }
        Ok(())
    }
    async fn load_cluster(&self) -> Result<Option<RoutingControlCluster>, AwsError> {
        Ok(lock(&self.cluster).clone())
    }
    async fn put_cluster(&self, cluster: Option<&RoutingControlCluster>) -> Result<(), AwsError> {
        *lock(&self.cluster) = cluster.cloned();
        Ok(())
    }
    async fn load_approval(&self) -> Result<Option<lifeboat_core::registry::Approval>, AwsError> {
        Ok(lock(&self.approval).clone())
    }
    async fn put_approval(&self, approval: Option<&lifeboat_core::registry::Approval>) -> Result<(), AwsError> {
        *lock(&self.approval) = approval.cloned();
        Ok(())
    }
    async fn delete_apps(&self, names: &[String]) -> Result<(), AwsError> {
        let mut stored = lock(&self.apps);
        for n in names {
            stored.remove(n);
        }
        Ok(())
    }
    async fn set_active_region(
        &self,
        app: &str,
        region: &str,
        run_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), AwsError> {
        let mut stored = lock(&self.apps);
        let a = stored
            .get_mut(app)
            .ok_or_else(|| AwsError::Rejected(format!("ConditionalCheckFailed: app {app}")))?;
        a.active_region = Some(region.to_string());
        a.updated_at = Some(at.to_rfc3339());
        a.updated_by = Some(run_id.to_string());
        Ok(())
    }
}

/// The journal in memory.
#[derive(Debug, Default)]
pub struct FakeJournal {
    pub runs: Mutex<BTreeMap<String, RunRecord>>,
    pub executions: Mutex<Vec<String>>,
    pub ignored: Mutex<Vec<(String, String)>>,
    /// (run id, key) → document.
    pub docs: Mutex<BTreeMap<(String, String), String>>,
}

#[async_trait]
impl Journal for FakeJournal {
    async fn ensure_table(&self) -> Result<bool, AwsError> {
        Ok(false)
    }
    async fn record_run(&self, run: &RunRecord) -> Result<(), AwsError> {
        lock(&self.runs).insert(run.run_id.clone(), run.clone());
        Ok(())
    }
    async fn list_runs(&self, limit: usize) -> Result<Vec<RunRecord>, AwsError> {
        let mut runs: Vec<RunRecord> = lock(&self.runs).values().cloned().collect();
        runs.sort_by_key(|r| std::cmp::Reverse(r.started_at));
        runs.truncate(limit);
        Ok(runs)
    }
    async fn get_run(&self, run_id: &str) -> Result<Option<RunRecord>, AwsError> {
        Ok(lock(&self.runs).get(run_id).cloned())
    }
    async fn claim_execution(&self, name: &str, _at: DateTime<Utc>) -> Result<bool, AwsError> {
        let mut names = lock(&self.executions);
        if names.iter().any(|n| n == name) {
            return Ok(false);
        }
        names.push(name.to_string());
        Ok(true)
    }
    async fn record_ignored(&self, run_id: &str, reason: &str, _at: DateTime<Utc>) -> Result<(), AwsError> {
        lock(&self.ignored).push((run_id.to_string(), reason.to_string()));
        Ok(())
    }
    async fn ignored(&self, run_id: &str) -> Result<Vec<String>, AwsError> {
        Ok(lock(&self.ignored)
            .iter()
            .filter(|(r, _)| r == run_id)
            .map(|(_, why)| why.clone())
            .collect())
    }
    async fn put_docs(&self, run_id: &str, docs: &[(String, String)]) -> Result<(), AwsError> {
        let mut stored = lock(&self.docs);
        for (k, v) in docs {
            stored.insert((run_id.to_string(), k.clone()), v.clone());
        }
        Ok(())
    }
    async fn get_docs(&self, run_id: &str, prefix: &str) -> Result<BTreeMap<String, String>, AwsError> {
        Ok(lock(&self.docs)
            .iter()
            .filter(|((r, k), _)| r == run_id && k.starts_with(prefix))
            .map(|((_, k), v)| (k.clone(), v.clone()))
            .collect())
    }
}

/// The run lease in memory, with the same rules as the DynamoDB one.
#[derive(Debug, Default)]
pub struct FakeLease {
    pub state: Mutex<FakeLeaseState>,
}

#[derive(Debug, Default, Clone)]
pub struct FakeLeaseState {
    pub holder: Option<String>,
    pub acquired_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub cooldown_until: Option<DateTime<Utc>>,
    pub last_run: Option<String>,
    pub epoch: u64,
}

#[async_trait]
impl RunLease for FakeLease {
    async fn ensure_table(&self) -> Result<bool, AwsError> {
        Ok(false)
    }
    async fn acquire(
        &self,
        run_id: &str,
        now: DateTime<Utc>,
        ttl: chrono::Duration,
        respect_cooldown: bool,
    ) -> Result<LeaseOutcome, AwsError> {
        let mut st = lock(&self.state);
        let free = match (&st.holder, st.expires_at) {
            (None, _) => true,
            (Some(h), _) if h == run_id => true,
            (Some(_), Some(exp)) => exp < now,
            (Some(_), None) => false,
        };
        if !free {
            return Ok(LeaseOutcome::Held {
                holder: st.holder.clone().unwrap_or_default(),
                since: st.acquired_at.unwrap_or(now),
                region: None,
            });
        }
        if respect_cooldown && st.cooldown_until.is_some_and(|c| c > now) {
            return Ok(LeaseOutcome::Cooldown {
                until: st.cooldown_until.unwrap_or(now),
                last_run: st.last_run.clone().unwrap_or_default(),
            });
        }
        st.holder = Some(run_id.to_string());
        st.acquired_at = Some(now);
        st.expires_at = Some(now + ttl);
        st.epoch += 1;
        Ok(LeaseOutcome::Acquired { epoch: st.epoch })
    }

    async fn state(&self) -> Result<LeaseState, AwsError> {
        let st = lock(&self.state);
        Ok(LeaseState {
            holder: st.holder.clone(),
            holder_region: None,
            epoch: st.epoch,
            acquired_at: st.acquired_at,
            expires_at: st.expires_at,
            cooldown_until: st.cooldown_until,
            last_run: st.last_run.clone(),
        })
    }

    async fn break_lease(&self, _now: DateTime<Utc>) -> Result<Option<LeaseState>, AwsError> {
        let mut st = lock(&self.state);
        let Some(holder) = st.holder.take() else {
            return Ok(None);
        };
        let before = LeaseState {
            holder: Some(holder),
            holder_region: None,
            epoch: st.epoch,
            acquired_at: st.acquired_at,
            expires_at: st.expires_at.take(),
            cooldown_until: st.cooldown_until,
            last_run: st.last_run.clone(),
        };
        st.epoch += 1;
        Ok(Some(before))
    }

    async fn give_back(&self, run_id: &str) -> Result<bool, AwsError> {
        let mut st = lock(&self.state);
        if st.holder.as_deref() != Some(run_id) {
            return Ok(false);
        }
        st.holder = None;
        st.expires_at = None;
        Ok(true)
    }

    async fn clear_cooldown(&self, now: DateTime<Utc>) -> Result<Option<LeaseState>, AwsError> {
        let mut st = lock(&self.state);
        if st.cooldown_until.is_none_or(|c| c <= now) {
            return Ok(None);
        }
        let before = LeaseState {
            holder: st.holder.clone(),
            holder_region: None,
            epoch: st.epoch,
            acquired_at: st.acquired_at,
            expires_at: st.expires_at,
            cooldown_until: st.cooldown_until.take(),
            last_run: st.last_run.clone(),
        };
        Ok(Some(before))
    }

    async fn release(&self, run_id: &str, now: DateTime<Utc>, cooldown: chrono::Duration) -> Result<bool, AwsError> {
        let mut st = lock(&self.state);
        if st.holder.as_deref() != Some(run_id) {
            // Released by this run already: the same release again.
            return Ok(st.holder.is_none() && st.last_run.as_deref() == Some(run_id));
        }
        st.holder = None;
        st.expires_at = None;
        st.cooldown_until = (cooldown > chrono::Duration::zero()).then_some(now + cooldown);
        st.last_run = Some(run_id.to_string());
        Ok(true)
    }
}
