//! `lifeboat demo`: a sample estate on a local AWS emulator, failed over by a
//! real CloudWatch Alarm State Change event and failed back by a manual
//! request, through the same state machine definition that runs on AWS.

mod dark;
mod whole_app;

use crate::emulator::{MotoServer, emulator_config, emulator_setup_config, moto_server};
use crate::estate::{DEMO_REGION, PRIMARY, REGION_ALARM, SECONDARY, alarm_event, cname_value, seed_estate, set_alarm};
use aws_config::SdkConfig;
use aws_sdk_cloudwatch::types::StateValue;
use lifeboat_aws::CallCounter;
use lifeboat_console::text::{calls_line, weight_rows, weights_table};
use lifeboat_console::{CliError, EXIT_OK, OutputFormat, exit_code, local, progress, run_record};
use lifeboat_states::VirtualClock;
use lifeboat_tasks::apply_registry::apply_registry;
use lifeboat_tasks::{AwsServicesFactory, ServicesFactory, Settings};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;

/// Each registry endpoint record and its current value.
async fn endpoint_values(
    config: &SdkConfig,
    apps: &[lifeboat_core::registry::Application],
) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    for a in apps {
        if let Some(rec) = &a.database.endpoint_record {
            let name = lifeboat_core::registry::normalize_record_name(&rec.name);
            out.push((name.clone(), cname_value(config, &rec.hosted_zone_id, &name).await));
        }
    }
    out
}

/// Where the demo writes the failover's report: `target/demo/` under the
/// current folder (the repository, from `make demo`), or the temp folder.
fn demo_report_path() -> std::path::PathBuf {
    let here = std::env::current_dir().unwrap_or_else(|_| std::env::temp_dir());
    let base = if here.join("target").is_dir() {
        here.join("target")
    } else {
        std::env::temp_dir()
    };
    base.join("demo").join("failover-report.html")
}

pub(crate) fn say(format: OutputFormat, line: impl AsRef<str>) {
    // Text mode narrates on stdout; JSON mode keeps stdout for the final document.
    match format {
        OutputFormat::Text => lifeboat_console::outln!("{}", line.as_ref()),
        OutputFormat::Json => eprintln!("{}", line.as_ref()),
    }
}

pub(crate) fn ran(run: local::LocalRun) -> Result<lifeboat_states::Execution, CliError> {
    match run {
        local::LocalRun::Ran(e) => Ok(*e),
        local::LocalRun::Duplicate { name, .. } => {
            Err(CliError::failed(format!("execution {name} unexpectedly already ran")))
        }
    }
}

/// Waits (a few reads) until every Aurora global database's members are
/// `connected` again: a failback needs the old primary resynchronised.
async fn wait_until_connected(
    config: &SdkConfig,
    apps: &[lifeboat_core::registry::Application],
) -> Result<(), CliError> {
    let rds = aws_sdk_rds::Client::from_conf(
        aws_sdk_rds::config::Builder::from(config)
            .region(aws_config::Region::new(SECONDARY))
            .build(),
    );
    for app in apps {
        let Some(gid) = app.database.global_cluster_id.as_deref() else {
            continue;
        };
        for _ in 0..20 {
            let resp = rds
                .describe_global_clusters()
                .global_cluster_identifier(gid)
                .send()
                .await
                .map_err(|e| CliError::failed(format!("DescribeGlobalClusters {gid}: {e}")))?;
            let connected = resp.global_clusters().iter().all(|g| {
                g.global_cluster_members()
                    .iter()
                    .all(|m| m.synchronization_status().is_none_or(|s| s.as_str() == "connected"))
            });
            if connected {
                break;
            }
        }
    }
    Ok(())
}

pub async fn run_demo(format: OutputFormat) -> Result<i32, CliError> {
    let started = std::time::Instant::now();
    let moto = moto_server()
        .and_then(|binary| MotoServer::start(&binary))
        .map_err(|e| CliError::failed(e.to_string()))?;
    say(
        format,
        "lifeboat demo: a full failover and failback on a local AWS emulator",
    );
    say(
        format,
        format!("  emulator: moto server on {} (stopped at the end)", moto.endpoint()),
    );
    // lifeboat's own calls meet the emulator's rate quotas; building the
    // estate and looking at it (the narration) go through the setup key.
    let config = emulator_config(&moto.endpoint(), DEMO_REGION).await;
    let setup = emulator_setup_config(&moto.endpoint(), DEMO_REGION).await;
    let estate = seed_estate(&setup, "")
        .await
        .map_err(|e| CliError::failed(e.to_string()))?;
    say(
        format,
        format!(
            "  seeded: {} hosted zones ({}), {} applications, {} weighted records, {} health checks, {} alarms, \
             {} databases (payments: an Aurora global database; orders: an RDS instance whose backups replicate to {SECONDARY})",
            estate.zones.len(),
            estate
                .zones
                .iter()
                .map(|(n, id)| format!("{n} {id}"))
                .collect::<Vec<_>>()
                .join(", "),
            estate.registry.applications.len(),
            estate.registry.applications.len() * 2,
            estate.health_checks,
            estate.alarms,
            estate.databases
        ),
    );
    let dir = std::env::temp_dir().join(format!("lifeboat-demo-{}", moto.port()));
    std::fs::create_dir_all(&dir).map_err(|e| CliError::failed(format!("cannot create {}: {e}", dir.display())))?;
    let registry_file = dir.join("registry.yaml");
    std::fs::write(&registry_file, &estate.registry_yaml).map_err(|e| CliError::failed(e.to_string()))?;

    let settings = Settings::default();
    let admin = AwsServicesFactory::new(setup.clone(), settings.clone(), CallCounter::new());
    let s = admin.services();
    let applied = apply_registry(&*s.registry, &estate.registry, false).await?;
    s.journal.ensure_table().await?;
    s.lease.ensure_table().await?;
    say(
        format,
        format!(
            "  registry: {} written to table {} in {DEMO_REGION} ({} added)",
            registry_file.display(),
            settings.registry_table,
            applied.added.len()
        ),
    );
    let apps = &estate.registry.applications;
    let before = weight_rows(&*s.dns_read, apps).await?;
    let endpoints_before = endpoint_values(&setup, apps).await;

    let definition = Path::new(local::DEFAULT_DEFINITION);
    // Waits are skipped, real work is timed: the journal's durations stay honest.
    let clock = Arc::new(VirtualClock::following_real_time(chrono::Utc::now()));
    let run = |input: Value| {
        let config = config.clone();
        let settings = settings.clone();
        let clock = clock.clone();
        async move {
            let factory = Arc::new(AwsServicesFactory::new(config, settings, CallCounter::new()));
            let run = local::run_local(
                definition,
                input,
                factory.clone(),
                clock,
                Some(Arc::new(progress::Progress::new())),
            )
            .await
            .map_err(|e| CliError::failed(e.to_string()))?;
            Ok::<_, CliError>((run, factory.run_counter.snapshot()))
        }
    };

    say(format, "");
    say(
        format,
        format!(
            "1) Failover: CloudWatch alarm \"{REGION_ALARM}\" in {PRIMARY} goes to ALARM; its EventBridge event starts the state machine"
        ),
    );
    set_alarm(&setup, PRIMARY, REGION_ALARM, StateValue::Alarm)
        .await
        .map_err(|e| CliError::failed(e.to_string()))?;
    let event = alarm_event(REGION_ALARM, PRIMARY, chrono::Utc::now());
    let (failover, failover_calls) = run(event.clone()).await?;
    let failover = ran(failover)?;
    let after_failover = weight_rows(&*s.dns_read, apps).await?;
    let endpoints_after_failover = endpoint_values(&setup, apps).await;
    say(
        format,
        format!(
            "   execution {} {:?}; AWS API calls: {}",
            failover.name,
            failover.status,
            calls_line(&failover_calls)
        ),
    );

    say(format, "");
    say(
        format,
        "2) The same alarm event delivered again (EventBridge delivers at least once)",
    );
    let (replay, replay_calls) = run(event).await?;
    let replay_json = match &replay {
        local::LocalRun::Duplicate { name, status } => {
            say(
                format,
                format!(
                    "   refused: execution {name} already ran ({status}); AWS API calls: {}",
                    calls_line(&replay_calls)
                ),
            );
            json!({"duplicate_of": name, "api_calls": replay_calls})
        }
        local::LocalRun::Ran(e) => {
            say(format, format!("   execution {} ran again: {:?}", e.name, e.status));
            json!({"execution": e.name, "status": e.status, "api_calls": replay_calls})
        }
    };
    say(format, "");
    say(
        format,
        "   and a manual failover request on top: already in place, so no change call",
    );
    let (again, again_calls) = run(json!({"action": "failover", "reason": "operator double-checks"})).await?;
    let again = ran(again)?;
    say(
        format,
        format!(
            "   execution {} {:?}; change calls to Route 53: {}; AWS API calls: {}",
            again.name,
            again.status,
            again_calls.get("route53:ChangeResourceRecordSets"),
            calls_line(&again_calls)
        ),
    );

    say(format, "");
    say(
        format,
        "3) Failback: the primary Region recovered; an operator starts {\"action\": \"failback\"}",
    );
    set_alarm(&setup, PRIMARY, REGION_ALARM, StateValue::Ok)
        .await
        .map_err(|e| CliError::failed(e.to_string()))?;
    // The failover lost the old primary's unreplicated writes: Aurora rejoins
    // it as a secondary with a new volume once its Region is back, keeping the
    // old one as a snapshot, and resynchronises it before it can be the writer again.
    let rejoined = moto
        .request("POST", &format!("/lifeboat-emulator/rds/regions/{PRIMARY}/recover"), "")
        .map_err(|e| CliError::failed(e.to_string()))?;
    let rejoined: Value = serde_json::from_str(&rejoined).unwrap_or(Value::Null);
    for r in rejoined["rejoined"].as_array().into_iter().flatten() {
        say(
            format,
            format!(
                "   Aurora rejoins {} to its global database (pending-resync); the writes the failover lost are kept in snapshot {}",
                r["cluster"].as_str().unwrap_or_default(),
                r["snapshot"].as_str().unwrap_or_default()
            ),
        );
    }
    wait_until_connected(&setup, apps).await?;
    let (failback, failback_calls) = run(json!({"action": "failback", "reason": "primary Region recovered"})).await?;
    let failback = ran(failback)?;
    say(
        format,
        format!(
            "   execution {} {:?}; AWS API calls: {}",
            failback.name,
            failback.status,
            calls_line(&failback_calls)
        ),
    );
    if let Some(rec) = s.journal.get_run(&failback.name).await? {
        for k in &rec.skipped {
            say(format, format!("   not failed back: {}: {}", k.app, k.reason));
        }
    }

    say(format, "");
    say(
        format,
        "4) The operator rebuilt orders' database in the primary Region by hand, then moves its traffic home:\n   {\"action\": \"failback\", \"apps\": [\"orders\"], \"move_dns_without_database\": true}",
    );
    let (dns_only, dns_only_calls) = run(json!({
        "action": "failback",
        "apps": ["orders"],
        "move_dns_without_database": true,
        "reason": "orders database rebuilt in the primary Region"
    }))
    .await?;
    let dns_only = ran(dns_only)?;
    let after_failback = weight_rows(&*s.dns_read, apps).await?;
    let endpoints_after_failback = endpoint_values(&setup, apps).await;
    say(
        format,
        format!(
            "   execution {} {:?}; AWS API calls: {}",
            dns_only.name,
            dns_only.status,
            calls_line(&dns_only_calls)
        ),
    );

    say(format, "");
    say(format, "Route 53 weights (primary us-east-1 / secondary us-west-2):");
    say(
        format,
        weights_table(&[
            ("before", &before),
            ("after failover", &after_failover),
            ("after failback", &after_failback),
        ]),
    );
    say(format, "Database endpoint records (CNAME to the writer):");
    for (i, (name, value)) in endpoints_before.iter().enumerate() {
        say(
            format,
            format!(
                "  {name}\n    before:         {}\n    after failover: {}\n    after failback: {}",
                value.as_deref().unwrap_or("-"),
                endpoints_after_failover
                    .get(i)
                    .and_then(|e| e.1.as_deref())
                    .unwrap_or("-"),
                endpoints_after_failback
                    .get(i)
                    .and_then(|e| e.1.as_deref())
                    .unwrap_or("-"),
            ),
        );
    }
    say(format, "");
    let mut records = Vec::new();
    for (label, name) in [("failover", &failover.name), ("failback", &failback.name)] {
        if let Some(rec) = s.journal.get_run(name).await? {
            records.push((label, rec));
        }
    }
    say(format, "Databases (from the journal):");
    say(format, lifeboat_console::text::database_table(&records));
    if let Some((_, rec)) = records.first() {
        say(
            format,
            "The failover's journal record (recovery time per app: from its wave's start to verified traffic):",
        );
        say(format, lifeboat_console::text::run_text(rec));
        // The failover's report as a page: its timeline, RTO and RPO per app.
        let path = demo_report_path();
        lifeboat_console::write_html_report(&lifeboat_console::report::RunReport::of(rec), &path)?;
        say(
            format,
            format!(
                "The failover's report (timeline, RTO and RPO per app), open it in a browser: {}",
                path.display()
            ),
        );
    }
    let dark = dark::run(format, &setup, moto.port(), &estate.registry, &settings).await?;
    let whole = whole_app::run(format, &moto, &config, &setup).await?;
    say(format, "");
    let history = s.journal.list_runs(10).await?;
    say(format, "Journal:");
    say(format, lifeboat_console::text::history_table(&history));
    say(
        format,
        format!(
            "demo finished in {:.1}s of wall-clock time; the emulator is stopped.",
            started.elapsed().as_secs_f64()
        ),
    );

    let code = [&failover, &again, &failback, &dns_only]
        .iter()
        .map(|e| exit_code(e))
        .max()
        .unwrap_or(EXIT_OK)
        // The dark run ends partial by design (orders must wait): it fails the demo only if it went otherwise.
        .max(if dark.as_expected && whole.as_expected {
            EXIT_OK
        } else {
            lifeboat_console::EXIT_RUN_FAILED
        });
    if format == OutputFormat::Json {
        lifeboat_console::outln!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "failover": {"execution": failover.name, "status": failover.status, "record": run_record(&failover), "api_calls": failover_calls},
                "replay": replay_json,
                "failover_again": {"execution": again.name, "status": again.status, "record": run_record(&again), "api_calls": again_calls},
                "failback": {"execution": failback.name, "status": failback.status, "record": run_record(&failback), "api_calls": failback_calls},
                "failback_dns_only": {"execution": dns_only.name, "status": dns_only.status, "record": run_record(&dns_only), "api_calls": dns_only_calls},
                "weights": {"before": before, "after_failover": after_failover, "after_failback": after_failback},
                "us_east_1_dark": dark.json,
                "whole_application": whole.json,
            }))
            .unwrap_or_default()
        );
    }
    drop(moto);
    Ok(code)
}
