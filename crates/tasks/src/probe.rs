//! probe: detection from the recovery Region. Every minute (EventBridge
//! Scheduler), GET each app's primary endpoint from the Region that would
//! take over, and publish `Lifeboat/Probe ProbeSuccess` (1 answered as
//! expected, 0 not) per app in this Region, and a `ProbeHeartbeat` for the
//! round. The app's probe alarm (made by `registry apply`) goes to ALARM
//! after N failures in a row, and its state change starts a failover here:
//! detection needs nothing from the failed Region. It is a composite that
//! holds back while the heartbeat alarm is in ALARM: a probe that stops is
//! not a disaster (readiness reports it instead).

use chrono::{DateTime, Utc};
use futures::StreamExt;
use lifeboat_aws::ports::{Datum, HttpProbe, Metrics, RegistryStore};
use lifeboat_core::LifeboatError;
use lifeboat_core::registry::{
    Application, PROBE_DIMENSION, PROBE_HEARTBEAT_METRIC, PROBE_METRIC, PROBE_NAMESPACE, Registry,
};
use serde::{Deserialize, Serialize};

/// Probes in flight at once.
const CONCURRENCY: usize = 16;

/// One app's probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeResult {
    pub app: String,
    pub url: String,
    pub ok: bool,
    pub detail: String,
    pub millis: u64,
}

/// One round of probes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeOutput {
    /// The Region probed from (and whose CloudWatch holds the metrics).
    pub region: String,
    pub at: DateTime<Utc>,
    pub results: Vec<ProbeResult>,
}

impl ProbeOutput {
    pub fn failing(&self) -> Vec<&str> {
        self.results.iter().filter(|r| !r.ok).map(|r| r.app.as_str()).collect()
    }
}

/// The apps this Region probes: those with a detection probe that fail over to it.
pub fn probed_apps<'a>(apps: impl IntoIterator<Item = &'a Application>, region: &str) -> Vec<&'a Application> {
    apps.into_iter()
        .filter(|a| a.detection.is_some() && a.regions.secondary == region)
        .collect()
}

/// Probes every primary endpoint this Region watches and publishes the results.
pub async fn probe_primaries(
    registry: &dyn RegistryStore,
    http: &dyn HttpProbe,
    metrics: &dyn Metrics,
    region: &str,
    at: DateTime<Utc>,
) -> Result<ProbeOutput, LifeboatError> {
    let stored = registry.load().await?;
    let apps = probed_apps(stored.iter().map(|s| &s.app), region);
    let results: Vec<ProbeResult> = futures::stream::iter(apps.into_iter().filter_map(|app| {
        let probe = app.detection.as_ref()?.probe.clone();
        let name = app.name.clone();
        Some(async move {
            let answer = http.get(&probe.url).await;
            let (ok, detail) = match (answer.status, answer.error) {
                (Some(s), _) if s == probe.expect_status => (true, format!("answered {s}")),
                (Some(s), _) => (false, format!("answered {s}, not {}", probe.expect_status)),
                (None, e) => (false, e.unwrap_or_else(|| "no answer".into())),
            };
            ProbeResult {
                app: name,
                url: probe.url,
                ok,
                detail,
                millis: answer.millis,
            }
        })
    }))
    .buffer_unordered(CONCURRENCY)
    .collect()
    .await;
    let heartbeat = Datum {
        metric: PROBE_HEARTBEAT_METRIC.into(),
        dimensions: Vec::new(),
        value: 1.0,
        at,
    };
    let data: Vec<Datum> = results
        .iter()
        .map(|r| Datum {
            metric: PROBE_METRIC.into(),
            dimensions: vec![(PROBE_DIMENSION.into(), r.app.clone())],
            value: if r.ok { 1.0 } else { 0.0 },
            at,
        })
        .chain([heartbeat])
        .collect();
    metrics.put(region, PROBE_NAMESPACE, &data).await?;
    let mut results = results;
    results.sort_by(|a, b| a.app.cmp(&b.app));
    for r in results.iter().filter(|r| !r.ok) {
        tracing::warn!(app = %r.app, url = %r.url, detail = %r.detail, "primary endpoint failed its probe");
    }
    tracing::info!(
        region,
        probed = results.len(),
        failing = results.iter().filter(|r| !r.ok).count(),
        "probed primary endpoints"
    );
    Ok(ProbeOutput {
        region: region.to_string(),
        at,
        results,
    })
}

/// Creates or updates the probe alarm of every app with a detection probe,
/// in the Region that would take over (where its probe runs), after that
/// Region's heartbeat alarm (the probe alarms name it). Returns the probe
/// alarms' names.
pub async fn apply_probe_alarms(metrics: &dyn Metrics, registry: &Registry) -> Result<Vec<String>, LifeboatError> {
    let regions: std::collections::BTreeSet<&str> = registry
        .applications
        .iter()
        .filter(|a| a.detection.is_some())
        .map(|a| a.regions.secondary.as_str())
        .collect();
    for region in regions {
        metrics.put_heartbeat_alarm(region).await?;
    }
    let mut names = Vec::new();
    for app in &registry.applications {
        let (Some(d), Some(alarm)) = (&app.detection, app.detection_alarm()) else {
            continue;
        };
        metrics
            .put_probe_alarm(&app.regions.secondary, &alarm, &app.name, d.probe.failures)
            .await?;
        names.push(alarm);
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lifeboat_aws::fakes::{FakeMetrics, FakeProbe, FakeRegistry};
    use lifeboat_core::registry::parse_registry;

    const REG: &str = r#"
version: 1
applications:
  - name: api
    regions: { primary: us-east-1, secondary: us-west-2 }
    dns: [ { hosted_zone_id: Z1, name: api.x., type: A, set_identifiers: { primary: a1, secondary: a2 } } ]
    detection: { probe: { url: "https://api-use1.example.com/health", failures: 2 } }
  - name: web
    regions: { primary: us-east-1, secondary: us-west-2 }
    dns: [ { hosted_zone_id: Z1, name: web.x., type: A, set_identifiers: { primary: w1, secondary: w2 } } ]
    detection: { probe: { url: "https://web-use1.example.com/", expect_status: 204, alarm_name: web-primary-down } }
  - name: eu
    regions: { primary: eu-west-1, secondary: eu-central-1 }
    dns: [ { hosted_zone_id: Z1, name: eu.x., type: A, set_identifiers: { primary: e1, secondary: e2 } } ]
    detection: { probe: { url: "https://eu.example.com/" } }
"#;

    #[tokio::test]
    async fn each_primary_is_probed_from_its_recovery_region_and_published_in_one_call() {
        let reg = parse_registry(REG).unwrap();
        let store = FakeRegistry::default();
        store.put_apps(&reg.applications).await.unwrap();
        let http = FakeProbe::default();
        http.answer("https://api-use1.example.com/health", 200);
        http.answer("https://web-use1.example.com/", 503);
        let metrics = FakeMetrics::default();
        let out = probe_primaries(&store, &http, &metrics, "us-west-2", Utc::now())
            .await
            .unwrap();
        assert_eq!(out.failing(), vec!["web"]);
        assert!(
            out.results[1].detail.contains("answered 503, not 204"),
            "{:?}",
            out.results
        );
        // eu fails over to eu-central-1: not this Region's to probe.
        assert_eq!(http.calls.lock().unwrap().len(), 2);
        assert_eq!(*metrics.puts.lock().unwrap(), 1);
        let values: Vec<(String, f64)> = metrics
            .data
            .lock()
            .unwrap()
            .iter()
            .map(|(r, _, d)| {
                let who = d.dimensions.first().map_or(d.metric.as_str(), |(_, app)| app.as_str());
                (format!("{r}/{who}"), d.value)
            })
            .collect();
        assert!(values.contains(&("us-west-2/api".into(), 1.0)), "{values:?}");
        assert!(values.contains(&("us-west-2/web".into(), 0.0)), "{values:?}");
        // The round's heartbeat, in the same call, whatever the probes found.
        assert!(values.contains(&("us-west-2/ProbeHeartbeat".into(), 1.0)), "{values:?}");
    }

    #[tokio::test]
    async fn probe_alarms_are_made_where_the_probe_runs_and_are_trigger_alarms() {
        let reg = parse_registry(REG).unwrap();
        let metrics = FakeMetrics::default();
        let names = apply_probe_alarms(&metrics, &reg).await.unwrap();
        assert_eq!(
            names,
            vec!["lifeboat-probe-api", "web-primary-down", "lifeboat-probe-eu"]
        );
        let alarms = metrics.alarms.lock().unwrap().clone();
        assert!(alarms.contains(&("us-west-2".into(), "lifeboat-probe-api".into(), "api".into(), 2)));
        assert!(alarms.contains(&("eu-central-1".into(), "lifeboat-probe-eu".into(), "eu".into(), 3)));
        // Each Region the probe runs in has its heartbeat alarm, which the probe alarms name.
        let mut heartbeats = metrics.heartbeat_alarms.lock().unwrap().clone();
        heartbeats.sort();
        assert_eq!(heartbeats, ["eu-central-1", "us-west-2"]);
        assert_eq!(reg.apps_for_alarm("web-primary-down")[0].name, "web");
    }
}
