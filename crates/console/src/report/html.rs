//! The run report as one self-contained HTML file: inline CSS and SVG, no
//! script, no external asset. A header, the figures, a timeline (a row per
//! app, a segment per step, one axis from the trigger), RTO and RPO at risk
//! per app, the waves, the AWS calls, the exceptions. At scale the timeline
//! collapses to a row per wave plus the exceptions and the slowest apps.
//! Built with maud: every text is escaped by construction.

use super::{AppReport, RunReport, SegmentKind};
use chrono::{DateTime, Utc};
use lifeboat_core::outcome::AppStatus;
use maud::{DOCTYPE, Markup, PreEscaped, html};

/// Up to this many apps, every app has its own row; past it, waves collapse.
pub const ALL_ROWS_MAX: usize = 40;
/// Past [`ALL_ROWS_MAX`]: the exceptions and the slowest apps shown, at most.
pub const SHOWN_APPS_MAX: usize = 30;

const ROW_H: f64 = 22.0;
const LABEL_W: f64 = 190.0;
const CHART_W: f64 = 760.0;

/// UTC, with the offset shown.
fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.3f UTC+00:00").to_string()
}

fn secs(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), |s| format!("{s:.1} s"))
}

fn status_class(s: AppStatus) -> &'static str {
    match s {
        AppStatus::Moved => "ok",
        AppStatus::RolledBack => "warn",
        AppStatus::Failed | AppStatus::NotMoved => "bad",
    }
}

fn kind_class(k: SegmentKind) -> &'static str {
    match k {
        SegmentKind::Approval => "approval",
        SegmentKind::Hook => "hook",
        SegmentKind::Capacity => "capacity",
        SegmentKind::Database => "db",
        SegmentKind::Traffic => "traffic",
        SegmentKind::Verification => "verify",
        SegmentKind::Rollback => "rollback",
    }
}

/// A round tick step for an axis of `end` seconds (about 8 ticks).
fn tick_step(end: f64) -> f64 {
    let raw = end / 8.0;
    [
        1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0,
    ]
    .into_iter()
    .find(|s| *s >= raw)
    .unwrap_or(14_400.0)
}

/// The apps the timeline and the tables list: all of them up to
/// [`ALL_ROWS_MAX`], else the exceptions first, then the slowest.
pub fn shown_apps(r: &RunReport) -> Vec<&AppReport> {
    if r.apps.len() <= ALL_ROWS_MAX {
        return r.apps.iter().collect();
    }
    let mut exceptions: Vec<&AppReport> = r.apps.iter().filter(|a| a.status != AppStatus::Moved).collect();
    let mut moved: Vec<&AppReport> = r.apps.iter().filter(|a| a.status == AppStatus::Moved).collect();
    moved.sort_by(|a, b| b.rto_seconds.unwrap_or(0.0).total_cmp(&a.rto_seconds.unwrap_or(0.0)));
    exceptions.truncate(SHOWN_APPS_MAX);
    let room = SHOWN_APPS_MAX.saturating_sub(exceptions.len()).max(10);
    exceptions.extend(moved.into_iter().take(room));
    exceptions
}

/// One decimal, as the SVG's coordinates are written.
fn f1(v: f64) -> String {
    format!("{v:.1}")
}

/// A timeline row: its label, its class, what it is (for readers and
/// tests: `data-app`, `data-phase`, `data-wave`) and its segments.
struct Row {
    label: String,
    class: &'static str,
    app: Option<String>,
    phase: Option<usize>,
    wave: Option<usize>,
    bars: Vec<Bar>,
}

/// A segment of a row, with its tooltip.
struct Bar {
    start: f64,
    end: f64,
    class: &'static str,
    title: String,
}

/// The rows: with many apps, a row per wave and a divider first.
fn timeline_rows(r: &RunReport, apps: &[&AppReport]) -> Vec<Row> {
    let mut rows = Vec::new();
    if r.apps.len() > ALL_ROWS_MAX {
        for w in &r.waves {
            let bars = match (w.start_seconds, w.end_seconds) {
                (Some(start), Some(end)) => vec![Bar {
                    start,
                    end,
                    class: "wave",
                    title: format!(
                        "phase {} wave {}: {} apps, {} moved, {} not",
                        w.phase, w.wave, w.apps, w.moved, w.not_moved
                    ),
                }],
                _ => Vec::new(),
            };
            rows.push(Row {
                label: format!(
                    "wave {}.{} ({} apps, {} not moved)",
                    w.phase, w.wave, w.apps, w.not_moved
                ),
                class: "wave",
                app: None,
                phase: Some(w.phase),
                wave: Some(w.wave),
                bars,
            });
        }
        rows.push(Row {
            label: format!("{} of {} apps below", apps.len(), r.apps.len()),
            class: "divider",
            app: None,
            phase: None,
            wave: None,
            bars: Vec::new(),
        });
    }
    for a in apps.iter().copied() {
        let bars = a
            .segments
            .iter()
            .map(|s| Bar {
                start: s.start_seconds,
                end: s.end_seconds,
                class: kind_class(s.kind),
                title: format!(
                    "{} {}: {:?} {:.1}-{:.1} s ({})",
                    a.app,
                    s.outcome,
                    s.kind,
                    s.start_seconds,
                    s.end_seconds,
                    when(s.start)
                ),
            })
            .collect();
        rows.push(Row {
            label: a.app.clone(),
            class: status_class(a.status),
            app: Some(a.app.clone()),
            phase: Some(a.phase),
            wave: None,
            bars,
        });
    }
    rows
}

/// The timeline: one axis in seconds from time zero, a row per app (or wave).
fn timeline_svg(r: &RunReport, apps: &[&AppReport]) -> Markup {
    let end = r.axis_end_seconds();
    let x = |s: f64| LABEL_W + (s.max(0.0) / end) * CHART_W;
    let rows = timeline_rows(r, apps);
    let height = 34.0 + rows.len() as f64 * ROW_H + 10.0;
    let width = LABEL_W + CHART_W + 20.0;
    let step = tick_step(end);
    let ticks = (0..)
        .map(|i| f64::from(i) * step)
        .take_while(|t| *t <= end + 1e-9)
        .map(|t| {
            let label = if t >= 60.0 {
                let s = t as u64;
                format!("{}:{:02}", s / 60, s % 60)
            } else {
                format!("{t}s")
            };
            (x(t), label)
        });
    // Foreign (SVG) elements are closed explicitly: an HTML parser knows no void SVG element.
    html! {
        svg class="timeline" xmlns="http://www.w3.org/2000/svg" width=(width) height=(height)
            viewBox={ "0 0 " (width) " " (height) } role="img" aria-label="timeline of the run" {
            @for (at, label) in ticks {
                line class="tick" x1=(f1(at)) y1="18" x2=(f1(at)) y2=(f1(height - 6.0)) {}
                text class="axis" x=(f1(at)) y="13" { (label) }
            }
            @for (i, row) in rows.iter().enumerate() {
                @let y = 30.0 + i as f64 * ROW_H;
                g class={ "row " (row.class) } data-phase=[row.phase] data-wave=[row.wave] data-app=[row.app.as_deref()] {
                    text class="label" x=(f1(LABEL_W - 8.0)) y=(f1(y + 14.0)) { (row.label) }
                    @for b in &row.bars {
                        rect class={ "seg " (b.class) } x=(f1(x(b.start))) y=(f1(y + 3.0))
                            width=(f1((x(b.end) - x(b.start)).max(2.0))) height=(f1(ROW_H - 6.0))
                            data-start=(format!("{:.3}", b.start)) data-end=(format!("{:.3}", b.end)) {
                            title { (b.title) }
                        }
                    }
                }
            }
        }
    }
}

/// A bar whose length is `v` of `max`, in CSS (no script).
fn bar(v: Option<f64>, max: Option<f64>, class: &str) -> Markup {
    html! {
        @if let (Some(v), Some(m)) = (v, max) {
            @if m > 0.0 {
                span class={ "bar " (class) } style={ "width:" (f1((v / m * 100.0).clamp(0.5, 100.0))) "%" } {}
            }
        }
    }
}

/// Seconds with three decimals for `data-seconds`, empty when unknown.
fn raw(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.3}")).unwrap_or_default()
}

/// The header: who started the run, when, and how it ended.
fn header(r: &RunReport) -> Markup {
    let status = r.status.as_str();
    let outcome = format!(
        "{status}: {}/{} apps moved{}",
        r.apps_moved,
        r.apps_total,
        r.error.as_ref().map(|e| format!("; {e}")).unwrap_or_default()
    );
    let time_zero = if r.origin_is_trigger {
        "the trigger"
    } else {
        "the run's start"
    };
    html! {
        h1 { "lifeboat " (r.action) " " span class={ "status " (status) } { (status) } }
        p class="summary" { (r.summary) }
        table class="header" {
            tr { th { "Run" } td id="run-id" { (r.run_id) } }
            tr { th { "Action" } td { (r.action) " (" (format!("{:?}", r.mode)) @if r.dry_run { ", dry run" } ")" } }
            tr { th { "Started by" } td { (format!("{:?}", r.trigger).to_lowercase()) " - " (r.source) } }
            tr { th { "Time zero" } td { (when(r.origin)) " (" (time_zero) ")" } }
            tr { th { "Started" } td { (when(r.started_at)) } }
            tr { th { "Ended" } td { (when(r.finished_at)) " (" (format!("{:.1}", r.duration_seconds)) " s)" } }
            tr { th { "Outcome" } td { (outcome) } }
        }
        @if let Some(w) = &r.waited {
            p class="note" id="waited" {
                "The trigger waited " (w.seconds) " s before this run started (since " (when(w.since)) "): "
                (w.reason) ". The RTO counts the wait."
            }
        }
        div class="figures" {
            div class="figure" id="fig-moved" { b { (r.apps_moved) "/" (r.apps_total) } "apps moved" }
            div class="figure" id="fig-rto" { b { (secs(r.max_rto_seconds)) } "longest RTO" }
            div class="figure" id="fig-rpo" { b { (secs(r.max_rpo_at_risk_seconds)) } "most data at risk (RPO)" }
            div class="figure" id="fig-calls" { b { (r.api_calls_total) } "AWS calls" }
        }
    }
}

/// The apps listed, their waves, what did not go to plan, the calls.
fn tables(r: &RunReport, shown: &[&AppReport]) -> Markup {
    let all_went_to_plan = r.exceptions.is_empty() && r.skipped.iter().all(|s| s.error.is_none());
    html! {
        h2 { "Recovery time and data at risk" }
        table class="apps" {
            thead { tr { th { "App" } th { "Wave" } th { "Outcome" } th { "RTO" } th {} th { "RPO at risk" } th {} } }
            tbody {
                @for a in shown {
                    tr data-app=(a.app) {
                        td {
                            (a.app)
                            @if let Some(account) = &a.account {
                                " " span class="account" title="its calls made as that account's role" { "(account " (account) ")" }
                            }
                        }
                        td { (a.wave.map(|w| format!("{}.{w}", a.phase)).unwrap_or_else(|| "-".into())) }
                        td class=(status_class(a.status)) { (format!("{:?}", a.status)) }
                        td class="rto" data-seconds=(raw(a.rto_seconds)) { (secs(a.rto_seconds)) }
                        td class="barcell" { (bar(a.rto_seconds, r.max_rto_seconds, "rto")) }
                        td class="rpo" data-seconds=(raw(a.rpo_at_risk_seconds)) { (secs(a.rpo_at_risk_seconds)) }
                        td class="barcell" { (bar(a.rpo_at_risk_seconds, r.max_rpo_at_risk_seconds, "rpo")) }
                    }
                }
            }
        }
        h2 { "Waves" }
        table class="waves" {
            thead { tr { th { "Phase" } th { "Wave" } th { "Apps" } th { "Moved" } th { "Not moved" } th { "From" } th { "To" } } }
            tbody {
                @for w in &r.waves {
                    tr {
                        td { (w.phase) } td { (w.wave) } td { (w.apps) } td { (w.moved) } td { (w.not_moved) }
                        td { (secs(w.start_seconds)) } td { (secs(w.end_seconds)) }
                    }
                }
            }
        }
        h2 { "What did not go to plan" }
        @if all_went_to_plan {
            p class="ok" { "Every app the run planned moved and was verified." }
        }
        ul class="exceptions" {
            @for e in &r.exceptions {
                li data-app=(e.app) { b { (e.app) } ": " (e.reason) }
            }
        }
        @if !r.skipped.is_empty() {
            h3 { "Skipped (" (r.skipped.len()) " of " (r.skipped_total) ")" }
            ul class="skipped" {
                @for s in &r.skipped {
                    li data-app=(s.app) {
                        b { (s.app) } ": " (s.reason)
                        @if let Some(e) = s.error { " (" (e.as_str()) ")" }
                    }
                }
            }
        }
        @if let Some(f) = &r.follow_up {
            p class="note" {
                "Follow-up run for " (f.apps.join(", ")) " (alarms " (f.alarms.join(", ")) " still in ALARM)."
            }
        }
        h2 { "AWS calls by operation" }
        table class="calls" {
            tbody {
                @for c in &r.api_calls {
                    tr { td { (c.operation) } td class="num" { (c.count) } }
                }
            }
            tfoot { tr { th { "total" } td class="num" { (r.api_calls_total) } } }
        }
    }
}

/// The whole page.
pub fn render(r: &RunReport) -> String {
    // The apps listed, chosen once for the timeline and the table.
    let shown = shown_apps(r);
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "lifeboat run " (r.run_id) }
                style { (PreEscaped(CSS)) }
            }
            body {
                (header(r))
                h2 { "Timeline" }
                p class="legend" {
                    span class="key approval" {} "waiting for approval "
                    span class="key hook" {} "the app's hooks "
                    span class="key capacity" {} "capacity until in service "
                    span class="key db" {} "database until writable "
                    span class="key traffic" {} "traffic change until in sync "
                    span class="key verify" {} "verification until verified "
                    span class="key rollback" {} "put back"
                }
                @if r.apps.len() > ALL_ROWS_MAX {
                    p class="note" { (r.apps.len()) " apps: a row per wave, then the exceptions and the slowest apps." }
                }
                (timeline_svg(r, &shown))
                (tables(r, &shown))
                p class="foot" {
                    "lifeboat report v" (r.report_version) " - times in UTC (+00:00), seconds from time zero."
                }
            }
        }
    }
    .into_string()
}

const CSS: &str = "body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1d2330;max-width:1000px}\
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #dde}\
.summary{color:#445;margin:0 0 12px}table{border-collapse:collapse}th,td{padding:3px 10px 3px 0;text-align:left;vertical-align:top}\
table.header th{color:#667;font-weight:500}.status{font-size:13px;padding:2px 8px;border-radius:10px;background:#eef;vertical-align:middle}\
.status.succeeded,.status.dry_run,.status.nothing_to_do{background:#d9f2e0;color:#17602e}.status.partial{background:#fdebd0;color:#8a4b00}\
.status.failed{background:#fadbd8;color:#922b21}.figures{display:flex;gap:12px;margin:16px 0}\
.figure{border:1px solid #dde;border-radius:6px;padding:8px 14px;min-width:120px;color:#556}.figure b{display:block;font-size:20px;color:#1d2330}\
svg.timeline{border:1px solid #eef;background:#fcfcff}.axis{font-size:10px;fill:#889;text-anchor:middle}.tick{stroke:#e6e6f0}\
.label{font-size:11px;text-anchor:end;fill:#334}.row.bad .label,.row.warn .label{font-weight:600}.row.bad .label{fill:#922b21}.row.warn .label{fill:#8a4b00}\
.row.divider .label{fill:#889;font-style:italic}.seg.db,.key.db{fill:#8e6bbf;background:#8e6bbf}.seg.traffic,.key.traffic{fill:#3b7dd8;background:#3b7dd8}\
.seg.verify,.key.verify{fill:#3fa66a;background:#3fa66a}.seg.capacity,.key.capacity{fill:#b5a23a;background:#b5a23a}.seg.approval,.key.approval{fill:#a0a0a0;background:#a0a0a0}.seg.hook,.key.hook{fill:#5b5b8f;background:#5b5b8f}.seg.rollback,.key.rollback{fill:#e08a2c;background:#e08a2c}.seg.wave{fill:#9aa7c7}\
.row.bad .seg.verify{fill:#c0392b}.key{display:inline-block;width:12px;height:10px;margin:0 4px 0 12px;border-radius:2px}\
.legend,.note,.foot{color:#667;font-size:12px}td.ok,.ok{color:#17602e}td.warn{color:#8a4b00}td.bad{color:#922b21}\
.barcell{width:160px}.bar{display:inline-block;height:9px;border-radius:2px}.bar.rto{background:#3b7dd8}.bar.rpo{background:#c0392b}\
td.num{text-align:right}ul.exceptions li,ul.skipped li{margin:3px 0}";

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::report::RunReport;
    use lifeboat_core::outcome::{AppOutcome, RunRecord, RunStatus, Timeline};
    use lifeboat_core::request::{Action, Mode, TriggerKind};

    /// A run of `n` apps in 5 waves; every 300th app rolled back.
    fn record(n: usize) -> RunRecord {
        let t0 = chrono::Utc::now();
        let at = |s: i64| Some(t0 + chrono::Duration::seconds(s));
        let apps = (0..n)
            .map(|i| {
                let wave = i % 5;
                let bad = i % 300 == 7;
                let start = 60 * wave as i64;
                AppOutcome {
                    account: None,
                    app: format!("app-{i:04}"),
                    phase: 0,
                    action: Action::Failover,
                    to_region: "us-west-2".into(),
                    status: if bad { AppStatus::RolledBack } else { AppStatus::Moved },
                    detail: if bad { "verification failed".into() } else { "ok".into() },
                    wave_started_at: at(start),
                    verified_at: if bad { None } else { at(start + 20 + (i % 17) as i64) },
                    recovery_seconds: None,
                    database: None,
                    routing_controls_via: None,
                    apart: None,
                    capacity: vec![],
                    capacity_restored: vec![],
                    hooks: vec![],
                    timeline: Timeline {
                        wave: Some(wave),
                        capacity_started_at: None,
                        capacity_ready_at: None,
                        shifted_at: at(start + 1),
                        verify_started_at: at(start + 6),
                        verify_ended_at: at(start + 20 + (i % 17) as i64),
                        rolled_back_at: if bad { at(start + 40) } else { None },
                    },
                }
            })
            .collect();
        RunRecord {
            run_id: "run-big".into(),
            action: Action::Failover,
            mode: Mode::Planned,
            trigger: TriggerKind::Manual,
            source: "a <b>big</b> \"test\"".into(),
            dry_run: false,
            status: RunStatus::Partial,
            started_at: t0,
            finished_at: t0 + chrono::Duration::seconds(400),
            duration_seconds: 400.0,
            apps,
            api_calls: Default::default(),
            summary: "big".into(),
            error: None,
            error_name: None,
            skipped: Vec::new(),
            apps_total: n,
            apps_moved: 0,
            skipped_total: 0,
            follow_up: None,
            triggered_at: None,
            waited: None,
            approval: None,
        }
    }

    fn rows(html: &str) -> Vec<(String, String)> {
        let dom = tl::parse(html, tl::ParserOptions::default()).unwrap();
        dom.query_selector("g")
            .unwrap()
            .filter_map(|h| {
                let tag = h.get(dom.parser())?.as_tag()?;
                let class = tag.attributes().get("class").flatten()?.as_utf8_str().to_string();
                let app = tag
                    .attributes()
                    .get("data-app")
                    .flatten()
                    .map(|v| v.as_utf8_str().to_string())
                    .unwrap_or_default();
                Some((class, app))
            })
            .collect()
    }

    #[test]
    fn a_thousand_apps_collapse_to_waves_exceptions_first_then_the_slowest() {
        let report = RunReport::of(&record(1000));
        let html = render(&report);
        let rows = rows(&html);
        let waves = rows.iter().filter(|(c, _)| c.contains("wave")).count();
        let apps: Vec<&str> = rows
            .iter()
            .filter(|(_, a)| !a.is_empty())
            .map(|(_, a)| a.as_str())
            .collect();
        assert_eq!(waves, 5);
        assert!(apps.len() <= SHOWN_APPS_MAX, "{} app rows", apps.len());
        // The four rolled-back apps come first.
        assert_eq!(&apps[..4], ["app-0007", "app-0307", "app-0607", "app-0907"]);
        // Then the slowest moved apps (wave 4, the longest checks).
        assert!(
            apps[4..].iter().all(|a| {
                let i: usize = a[4..].parse().unwrap();
                i % 5 == 4
            }),
            "{apps:?}"
        );
        // Readable size, and the source's markup escaped.
        assert!(html.len() < 200_000, "{} bytes", html.len());
        assert!(html.contains("a &lt;b&gt;big&lt;/b&gt; &quot;test&quot;"));
        assert!(!html.contains("<b>big</b>"));
    }

    #[test]
    fn a_small_run_has_a_row_per_app() {
        let html = render(&RunReport::of(&record(12)));
        let rows = rows(&html);
        assert_eq!(rows.iter().filter(|(_, a)| !a.is_empty()).count(), 12);
        assert!(!rows.iter().any(|(c, _)| c.contains("wave")));
    }
}
