//! The demo's last chapter, "us-east-1 goes dark": a fault-injecting proxy
//! in front of the emulator refuses every call signed for us-east-1 and
//! every Route 53 API call, as a Region outage would. Apps whose traffic
//! moves by ARC routing controls fail over through the cluster's recovery
//! Region endpoint; the weighted app has to wait, its database untouched.

use super::{ran, say};
use crate::estate::arc::{dns_answer, seed_routing_controls};
use crate::estate::{PRIMARY, SECONDARY};
use crate::fault_proxy::{FaultProxy, SERVICE_UNAVAILABLE, us_east_1_dark};
use aws_config::SdkConfig;
use lifeboat_aws::CallCounter;
use lifeboat_console::text::calls_line;
use lifeboat_console::{CliError, OutputFormat, local, progress};
use lifeboat_core::outcome::{AppStatus, RunRecord, RunStatus};
use lifeboat_core::registry::Registry;
use lifeboat_states::VirtualClock;
use lifeboat_tasks::apply_registry::apply_registry;
use lifeboat_tasks::{AwsServicesFactory, ServicesFactory, Settings};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;

/// The apps that get routing controls; `orders` stays weighted.
const ROUTING_CONTROL_APPS: [&str; 3] = ["payments", "search", "storefront"];

/// What the chapter showed, for the demo's JSON output and its exit code.
pub struct DarkChapter {
    pub json: Value,
    /// Whether it went as it should: the routing-control apps moved, the
    /// weighted one did not (and said why), nothing reached us-east-1.
    pub as_expected: bool,
}

/// Runs the chapter on the emulator at `moto_port` (everything back in the
/// primary Region, as the demo's failback left it).
pub async fn run(
    format: OutputFormat,
    direct: &SdkConfig,
    moto_port: u16,
    registry: &Registry,
    settings: &Settings,
) -> Result<DarkChapter, CliError> {
    let failed = |e: String| CliError::failed(format!("the dark-Region chapter: {e}"));
    say(format, "");
    say(
        format,
        "5) us-east-1 goes dark: every call signed for us-east-1 and every Route 53 API call is refused (503)",
    );
    let mut registry = registry.clone();
    let seed = seed_routing_controls(direct, &mut registry, &ROUTING_CONTROL_APPS, "demo")
        .await
        .map_err(|e| failed(e.to_string()))?;
    let proxy = FaultProxy::start(moto_port, us_east_1_dark, usize::MAX, 503, SERVICE_UNAVAILABLE)
        .map_err(|e| failed(format!("cannot start the fault proxy: {e}")))?;
    let moto = format!("http://127.0.0.1:{moto_port}");
    if let Some(cluster) = registry.routing_control_cluster.as_mut() {
        for e in &mut cluster.endpoints {
            e.url = e.url.replacen(&moto, &proxy.endpoint(), 1);
        }
    }
    let admin = AwsServicesFactory::new(direct.clone(), settings.clone(), CallCounter::new()).services();
    apply_registry(&*admin.registry, &registry, false).await?;
    say(
        format,
        format!(
            "   {} now move by ARC routing controls (cluster {}, five regional endpoints, a safety rule per app: \
             at least one Region On); their records carry RECOVERY_CONTROL health checks. orders stays weighted.",
            ROUTING_CONTROL_APPS.join(", "),
            seed.cluster_arn.rsplit('/').next().unwrap_or_default()
        ),
    );
    let answers = |registry: &Registry| {
        let registry = registry.clone();
        let direct = direct.clone();
        async move {
            let mut out = Vec::new();
            for app in &registry.applications {
                let rec = &app.dns[0];
                let values = dns_answer(&direct, &rec.hosted_zone_id, &rec.name, rec.record_type.as_str())
                    .await
                    .unwrap_or_default();
                out.push((app.name.clone(), rec.name.clone(), values.join(",")));
            }
            out
        }
    };
    let before = answers(&registry).await;

    let input = json!({"action": "failover", "mode": "disaster", "reason": "us-east-1 is dark"});
    say(
        format,
        format!("   an operator in {SECONDARY} declares the disaster: {input}"),
    );
    let through_proxy = crate::emulator::emulator_config(&proxy.endpoint(), SECONDARY).await;
    let factory = Arc::new(AwsServicesFactory::new(
        through_proxy,
        settings.clone(),
        CallCounter::new(),
    ));
    let clock = Arc::new(VirtualClock::following_real_time(chrono::Utc::now()));
    let started = std::time::Instant::now();
    let run = local::run_local(
        Path::new(local::DEFAULT_DEFINITION),
        input,
        factory.clone(),
        clock,
        Some(Arc::new(progress::Progress::new())),
    )
    .await
    .map_err(|e| failed(e.to_string()))?;
    let wall = started.elapsed().as_secs_f64();
    let exec = ran(run)?;
    let calls = factory.run_counter.snapshot();
    let after = answers(&registry).await;
    let record: Option<RunRecord> = lifeboat_console::run_record(&exec).and_then(|v| serde_json::from_value(v).ok());

    say(
        format,
        format!(
            "   execution {} {:?} in {wall:.1}s of wall clock ({:.0}s on the run's clock)",
            exec.name,
            exec.status,
            record.as_ref().map(|r| r.duration_seconds).unwrap_or_default()
        ),
    );
    if let Some(r) = &record {
        for a in &r.apps {
            let via = a
                .routing_controls_via
                .as_ref()
                .map(|v| format!(" (routing controls set through the ARC endpoint in {v})"))
                .unwrap_or_default();
            say(format, format!("   {:<11} {:?}{via}: {}", a.app, a.status, a.detail));
        }
    }
    say(
        format,
        "   DNS answers (Route 53 TestDNSAnswer, asked after the outage):",
    );
    for ((app, name, b), (_, _, a)) in before.iter().zip(&after) {
        say(format, format!("     {app:<11} {name:<24} before: {b:<28} after: {a}"));
    }
    say(
        format,
        "   AWS calls by the Region they were signed for (through the proxy):",
    );
    let scopes = proxy.by_scope();
    for (scope, c) in &scopes {
        say(
            format,
            format!(
                "     {scope:<40} answered {:>3}   refused {:>3}",
                c.forwarded, c.refused
            ),
        );
    }
    say(format, format!("   AWS API calls of the run: {}", calls_line(&calls)));

    let moved_all = record.as_ref().is_some_and(|r| {
        ROUTING_CONTROL_APPS.iter().all(|app| {
            r.apps
                .iter()
                .any(|a| a.app == *app && a.status == AppStatus::Moved && a.to_region == SECONDARY)
        })
    });
    let orders_waited = record.as_ref().is_some_and(|r| {
        r.status == RunStatus::Partial
            && r.apps.iter().any(|a| {
                a.app == "orders" && a.status == AppStatus::NotMoved && a.detail.starts_with("Lifeboat.NotReady")
            })
    });
    let nothing_from_use1 = scopes
        .iter()
        .filter(|(k, _)| k.ends_with(&format!("@{PRIMARY}")))
        .all(|(_, c)| c.forwarded == 0);
    let as_expected = moved_all && orders_waited && nothing_from_use1;
    say(
        format,
        if as_expected {
            "   as it should: the routing-control apps answer from us-west-2; orders waits for Route 53 (its \
             weights cannot change while the API is dark) and its database was not touched"
        } else {
            "   NOT as it should be: see the run above"
        },
    );
    Ok(DarkChapter {
        json: json!({
            "execution": exec.name,
            "status": exec.status,
            "record": record,
            "dns_before": before,
            "dns_after": after,
            "calls_by_scope": scopes.iter().map(|(k, c)| (k.clone(), json!({"answered": c.forwarded, "refused": c.refused}))).collect::<serde_json::Map<_, _>>(),
            "api_calls": calls,
            "wall_seconds": wall,
        }),
        as_expected,
    })
}
