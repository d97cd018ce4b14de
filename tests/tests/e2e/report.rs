//! The run report through the binary: `report RUN --html FILE` parsed as HTML
//! (rows, segments and figures checked against the journal), and
//! `--output json`, for a failover with databases, a rolled-back app and a
//! skipped app.

#![allow(clippy::unwrap_used)]

use harness::{TestEnv, moto, run_cli};
use lifeboat_core::outcome::{AppStatus, RunRecord};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// An element's attribute, as text.
fn attr(tag: &tl::HTMLTag<'_>, name: &str) -> Option<String> {
    tag.attributes()
        .get(name)
        .flatten()
        .map(|v| v.as_utf8_str().to_string())
}

fn has_class(tag: &tl::HTMLTag<'_>, class: &str) -> bool {
    attr(tag, "class").is_some_and(|c| c.split_whitespace().any(|x| x == class))
}

/// The timeline's rows: app → its segments (class, data-start, data-end).
fn timeline_rows(html: &str) -> BTreeMap<String, Vec<(String, f64, f64)>> {
    let dom = tl::parse(html, tl::ParserOptions::default()).unwrap();
    let parser = dom.parser();
    let mut rows = BTreeMap::new();
    for handle in dom.query_selector("g").unwrap() {
        let tag = handle.get(parser).unwrap().as_tag().unwrap();
        let Some(app) = attr(tag, "data-app") else { continue };
        assert!(has_class(tag, "row"), "a timeline row: {app}");
        let mut segs = Vec::new();
        for child in tag.children().top().iter() {
            let Some(rect) = child.get(parser).and_then(|n| n.as_tag()) else {
                continue;
            };
            if rect.name().as_utf8_str() != "rect" {
                continue;
            }
            let class = attr(rect, "class").unwrap();
            let kind = class.split_whitespace().find(|c| *c != "seg").unwrap().to_string();
            let num = |k: &str| attr(rect, k).unwrap().parse::<f64>().unwrap();
            segs.push((kind, num("data-start"), num("data-end")));
        }
        rows.insert(app, segs);
    }
    rows
}

/// The text of the element with this id.
fn text_of(html: &str, id: &str) -> String {
    let dom = tl::parse(html, tl::ParserOptions::default()).unwrap();
    let node = dom.get_element_by_id(id).unwrap().get(dom.parser()).unwrap();
    node.inner_text(dom.parser()).to_string()
}

/// `<td class="{class}" data-seconds=...>` of each app's row in the RTO/RPO table.
fn table_seconds(html: &str, class: &str) -> BTreeMap<String, Option<f64>> {
    let dom = tl::parse(html, tl::ParserOptions::default()).unwrap();
    let parser = dom.parser();
    let mut out = BTreeMap::new();
    for handle in dom.query_selector("tr").unwrap() {
        let tr = handle.get(parser).unwrap().as_tag().unwrap();
        let Some(app) = attr(tr, "data-app") else { continue };
        for child in tr.children().top().iter() {
            let Some(td) = child.get(parser).and_then(|n| n.as_tag()) else {
                continue;
            };
            if has_class(td, class) {
                out.insert(app.clone(), attr(td, "data-seconds").and_then(|s| s.parse().ok()));
            }
        }
    }
    out
}

fn seconds(from: chrono::DateTime<chrono::Utc>, to: chrono::DateTime<chrono::Utc>) -> f64 {
    (to - from).num_milliseconds() as f64 / 1000.0
}

#[tokio::test]
async fn the_html_report_draws_what_the_journal_recorded() {
    let env = TestEnv::new().await;
    // search moves first, alone: in the next run it is skipped (already there).
    let (first, _) = env.run(json!({"action": "failover", "apps": ["search"]})).await;
    assert_eq!(
        first.status,
        lifeboat_states::ExecutionStatus::Succeeded,
        "{:?}",
        first.error
    );
    // storefront's verification alarm is in ALARM in the target: it is put back.
    env.fail_verification("storefront").await;
    let (exec, _) = env
        .run(json!({"action": "failover", "mode": "disaster", "reason": "report test"}))
        .await;
    let rec: RunRecord = env.admin().journal.get_run(&exec.name).await.unwrap().unwrap();
    let status_of = |app: &str| rec.apps.iter().find(|a| a.app == app).map(|a| a.status);
    assert_eq!(status_of("payments"), Some(AppStatus::Moved));
    assert_eq!(status_of("orders"), Some(AppStatus::Moved));
    assert_eq!(status_of("storefront"), Some(AppStatus::RolledBack));
    assert!(rec.skipped.iter().any(|s| s.app == "search"), "{:?}", rec.skipped);

    let dir = std::env::temp_dir().join(harness::unique("lifeboat-report"));
    let file = dir.join("nested").join("run.html");
    let (code, stdout, stderr) = run_cli(
        &moto().endpoint(),
        &env.settings,
        &[
            "--output",
            "json",
            "report",
            &exec.name,
            "--html",
            file.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("report written to"), "{stderr}");
    let data: Value = serde_json::from_str(&stdout).unwrap();
    let html = std::fs::read_to_string(&file).unwrap();
    // Self-contained: no script, nothing fetched.
    for banned in ["<script", "src=\"http", "href=\"http", "@import", "url("] {
        assert!(!html.contains(banned), "{banned} in the report");
    }

    // Time zero: the run's start (a manual request has no trigger time).
    let origin = rec.triggered_at.unwrap_or(rec.started_at);
    assert_eq!(data["origin"], json!(origin));
    // A row per app of the run, and nothing else.
    let rows = timeline_rows(&html);
    let mut apps: Vec<&str> = rec.apps.iter().map(|a| a.app.as_str()).collect();
    apps.sort();
    assert_eq!(rows.keys().map(String::as_str).collect::<Vec<_>>(), apps);
    // Segments from the journal's timestamps.
    let close = |a: f64, b: f64| (a - b).abs() < 0.002;
    let payments = rec.apps.iter().find(|a| a.app == "payments").unwrap();
    let db = payments.database.as_ref().unwrap();
    let seg = rows["payments"]
        .iter()
        .find(|s| s.0 == "db")
        .expect("payments' database segment");
    assert!(close(seg.1, seconds(origin, db.started_at.unwrap())), "{seg:?}");
    assert!(close(seg.2, seconds(origin, db.writable_at.unwrap())), "{seg:?}");
    let traffic = rows["payments"].iter().find(|s| s.0 == "traffic").unwrap();
    assert!(close(traffic.1, seconds(origin, payments.timeline.shifted_at.unwrap())));
    let verify = rows["payments"].iter().find(|s| s.0 == "verify").unwrap();
    assert!(close(verify.2, seconds(origin, payments.verified_at.unwrap())));
    // The rolled-back app: verification, then put back.
    let storefront = rec.apps.iter().find(|a| a.app == "storefront").unwrap();
    let back = rows["storefront"]
        .iter()
        .find(|s| s.0 == "rollback")
        .expect("a rollback segment");
    assert!(close(
        back.2,
        seconds(origin, storefront.timeline.rolled_back_at.unwrap())
    ));
    assert!(rows["storefront"].iter().any(|s| s.0 == "verify"));
    // Every segment starts before it ends, on the axis from time zero.
    for (app, segs) in &rows {
        for s in segs {
            assert!(s.1 >= 0.0 && s.1 <= s.2, "{app}: {s:?}");
        }
    }

    // The figures.
    let moved = rec.apps.iter().filter(|a| a.status == AppStatus::Moved).count();
    assert!(text_of(&html, "fig-moved").starts_with(&format!("{moved}/{}", rec.apps.len())));
    assert!(text_of(&html, "run-id").contains(&exec.name));
    // RTO per app: from time zero to verified; RPO at risk: the database's.
    let rto = table_seconds(&html, "rto");
    for a in &rec.apps {
        let want = a.verified_at.map(|v| seconds(origin, v));
        match (rto[&a.app], want) {
            (Some(got), Some(want)) => assert!(close(got, want), "{}: {got} vs {want}", a.app),
            (None, None) => {}
            other => panic!("{}: RTO {other:?}", a.app),
        }
    }
    let rpo = table_seconds(&html, "rpo");
    let orders = rec
        .apps
        .iter()
        .find(|a| a.app == "orders")
        .unwrap()
        .database
        .as_ref()
        .unwrap();
    let orders_rpo = orders.rpo_at_risk_seconds.or(orders.data_window_lost_seconds).unwrap();
    assert!(close(rpo["orders"].unwrap(), orders_rpo));
    assert_eq!(rpo["storefront"], None);
    // Exceptions and skipped apps, in plain words.
    let dom = tl::parse(&html, tl::ParserOptions::default()).unwrap();
    let items: Vec<String> = dom
        .query_selector("li")
        .unwrap()
        .map(|h| h.get(dom.parser()).unwrap().inner_text(dom.parser()).to_string())
        .collect();
    assert!(
        items
            .iter()
            .any(|t| t.starts_with("storefront: rolled back: verification failed")),
        "{items:?}"
    );
    assert!(
        items
            .iter()
            .any(|t| t.starts_with("search: ") && t.contains("already active")),
        "{items:?}"
    );
    // The same data as JSON: the segments the page drew.
    let json_payments = data["apps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["app"] == "payments")
        .unwrap();
    let kinds: Vec<&str> = json_payments["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["database", "traffic", "verification"]);
    assert_eq!(data["api_calls_total"], json!(rec.api_calls.total()));
    assert_eq!(data["exceptions"][0]["app"], "storefront");
}
