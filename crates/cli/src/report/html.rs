//! The run report as one self-contained HTML file: inline CSS and SVG, no
//! script, no external asset. A header, the figures, a timeline (a row per
//! app, a segment per step, one axis from the trigger), RTO and RPO at risk
//! per app, the waves, the AWS calls, the exceptions. At scale the timeline
//! collapses to a row per wave plus the exceptions and the slowest apps.

use super::{AppReport, RunReport, SegmentKind};
use chrono::{DateTime, Utc};
use lifeboat_core::outcome::AppStatus;
use std::fmt::Write;

/// Up to this many apps, every app has its own row; past it, waves collapse.
pub const ALL_ROWS_MAX: usize = 40;
/// Past [`ALL_ROWS_MAX`]: the exceptions and the slowest apps shown, at most.
pub const SHOWN_APPS_MAX: usize = 30;

const ROW_H: f64 = 22.0;
const LABEL_W: f64 = 190.0;
const CHART_W: f64 = 760.0;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

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

fn timeline_svg(r: &RunReport, apps: &[&AppReport], out: &mut String) {
    let end = r.axis_end_seconds();
    let x = |s: f64| LABEL_W + (s.max(0.0) / end) * CHART_W;
    let collapsed = r.apps.len() > ALL_ROWS_MAX;
    let rows = if collapsed {
        r.waves.len() + 1 + apps.len()
    } else {
        apps.len()
    };
    let height = 34.0 + rows as f64 * ROW_H + 10.0;
    let width = LABEL_W + CHART_W + 20.0;
    let _ = write!(
        out,
        r#"<svg class="timeline" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="timeline of the run">"#
    );
    // The axis: seconds from time zero.
    let step = tick_step(end);
    let mut t = 0.0;
    while t <= end + 1e-9 {
        let _ = write!(
            out,
            r#"<line class="tick" x1="{0:.1}" y1="18" x2="{0:.1}" y2="{1:.1}"/><text class="axis" x="{0:.1}" y="13">{2}</text>"#,
            x(t),
            height - 6.0,
            if t >= 60.0 {
                let s = t as u64;
                format!("{}:{:02}", s / 60, s % 60)
            } else {
                format!("{t}s")
            }
        );
        t += step;
    }
    let mut y = 30.0;
    let mut row = |label: &str, class: &str, data: &str, bars: &[(f64, f64, &str, String)], out: &mut String| {
        let _ = write!(
            out,
            r#"<g class="row {class}" {data}><text class="label" x="{:.1}" y="{:.1}">{}</text>"#,
            LABEL_W - 8.0,
            y + 14.0,
            esc(label)
        );
        for (s, e, cls, title) in bars {
            let w = (x(*e) - x(*s)).max(2.0);
            let _ = write!(
                out,
                r#"<rect class="seg {cls}" x="{:.1}" y="{:.1}" width="{w:.1}" height="{:.1}" data-start="{s:.3}" data-end="{e:.3}"><title>{}</title></rect>"#,
                x(*s),
                y + 3.0,
                ROW_H - 6.0,
                esc(title)
            );
        }
        out.push_str("</g>");
        y += ROW_H;
    };
    if collapsed {
        for w in &r.waves {
            let bars: Vec<(f64, f64, &str, String)> = match (w.start_seconds, w.end_seconds) {
                (Some(s), Some(e)) => vec![(
                    s,
                    e,
                    "wave",
                    format!(
                        "phase {} wave {}: {} apps, {} moved, {} not",
                        w.phase, w.wave, w.apps, w.moved, w.not_moved
                    ),
                )],
                _ => Vec::new(),
            };
            row(
                &format!(
                    "wave {}.{} ({} apps, {} not moved)",
                    w.phase, w.wave, w.apps, w.not_moved
                ),
                "wave",
                &format!(r#"data-phase="{}" data-wave="{}""#, w.phase, w.wave),
                &bars,
                out,
            );
        }
        row(
            &format!("{} of {} apps below", apps.len(), r.apps.len()),
            "divider",
            "",
            &[],
            out,
        );
    }
    for a in apps.iter().copied() {
        let bars: Vec<(f64, f64, &str, String)> = a
            .segments
            .iter()
            .map(|s| {
                (
                    s.start_seconds,
                    s.end_seconds,
                    kind_class(s.kind),
                    format!(
                        "{} {}: {:?} {:.1}-{:.1} s ({})",
                        a.app,
                        s.outcome,
                        s.kind,
                        s.start_seconds,
                        s.end_seconds,
                        when(s.start)
                    ),
                )
            })
            .collect();
        row(
            &a.app,
            status_class(a.status),
            &format!(r#"data-app="{}" data-phase="{}""#, esc(&a.app), a.phase),
            &bars,
            out,
        );
    }
    out.push_str("</svg>");
}

/// A bar whose length is `v` of `max`, in CSS (no script).
fn bar(v: Option<f64>, max: Option<f64>, class: &str) -> String {
    match (v, max) {
        (Some(v), Some(m)) if m > 0.0 => format!(
            r#"<span class="bar {class}" style="width:{:.1}%"></span>"#,
            (v / m * 100.0).clamp(0.5, 100.0)
        ),
        _ => String::new(),
    }
}

/// The whole page.
pub fn render(r: &RunReport) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>lifeboat run {id}</title><style>{css}</style></head><body>"#,
        id = esc(&r.run_id),
        css = CSS
    );
    let status = serde_json::to_value(r.status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let _ = write!(
        out,
        r#"<h1>lifeboat {action} <span class="status {status}">{status}</span></h1><p class="summary">{summary}</p>"#,
        action = r.action,
        summary = esc(&r.summary)
    );
    let started_by = format!("{} - {}", format!("{:?}", r.trigger).to_lowercase(), r.source);
    let _ = write!(
        out,
        r#"<table class="header"><tr><th>Run</th><td id="run-id">{}</td></tr><tr><th>Action</th><td>{} ({:?}{})</td></tr><tr><th>Started by</th><td>{}</td></tr><tr><th>Time zero</th><td>{} ({})</td></tr><tr><th>Started</th><td>{}</td></tr><tr><th>Ended</th><td>{} ({:.1} s)</td></tr><tr><th>Outcome</th><td>{}</td></tr></table>"#,
        esc(&r.run_id),
        r.action,
        r.mode,
        if r.dry_run { ", dry run" } else { "" },
        esc(&started_by),
        when(r.origin),
        if r.origin_is_trigger {
            "the trigger"
        } else {
            "the run's start"
        },
        when(r.started_at),
        when(r.finished_at),
        r.duration_seconds,
        esc(&format!(
            "{status}: {}/{} apps moved{}",
            r.apps_moved,
            r.apps_total,
            r.error.as_ref().map(|e| format!("; {e}")).unwrap_or_default()
        ))
    );
    if let Some(w) = &r.waited {
        let _ = write!(
            out,
            r#"<p class="note" id="waited">The trigger waited {} s before this run started (since {}): {}. The RTO counts the wait.</p>"#,
            w.seconds,
            when(w.since),
            esc(&w.reason)
        );
    }
    let _ = write!(
        out,
        r#"<div class="figures"><div class="figure" id="fig-moved"><b>{}/{}</b>apps moved</div><div class="figure" id="fig-rto"><b>{}</b>longest RTO</div><div class="figure" id="fig-rpo"><b>{}</b>most data at risk (RPO)</div><div class="figure" id="fig-calls"><b>{}</b>AWS calls</div></div>"#,
        r.apps_moved,
        r.apps_total,
        secs(r.max_rto_seconds),
        secs(r.max_rpo_at_risk_seconds),
        r.api_calls_total
    );
    out.push_str(r#"<h2>Timeline</h2><p class="legend"><span class="key db"></span>database until writable <span class="key traffic"></span>traffic change until in sync <span class="key verify"></span>verification until verified <span class="key rollback"></span>put back</p>"#);
    if r.apps.len() > ALL_ROWS_MAX {
        let _ = write!(
            out,
            r#"<p class="note">{} apps: a row per wave, then the exceptions and the slowest apps.</p>"#,
            r.apps.len()
        );
    }
    // The apps listed, chosen once for the timeline and the table.
    let shown = shown_apps(r);
    timeline_svg(r, &shown, &mut out);
    // RTO and RPO per app.
    out.push_str(r#"<h2>Recovery time and data at risk</h2><table class="apps"><thead><tr><th>App</th><th>Wave</th><th>Outcome</th><th>RTO</th><th></th><th>RPO at risk</th><th></th></tr></thead><tbody>"#);
    for a in &shown {
        let _ = write!(
            out,
            r#"<tr data-app="{app}"><td>{app}</td><td>{wave}</td><td class="{cls}">{status}</td><td class="rto" data-seconds="{rto_raw}">{rto}</td><td class="barcell">{rto_bar}</td><td class="rpo" data-seconds="{rpo_raw}">{rpo}</td><td class="barcell">{rpo_bar}</td></tr>"#,
            app = esc(&a.app),
            wave = a.wave.map(|w| format!("{}.{w}", a.phase)).unwrap_or_else(|| "-".into()),
            cls = status_class(a.status),
            status = esc(&format!("{:?}", a.status)),
            rto_raw = a.rto_seconds.map(|v| format!("{v:.3}")).unwrap_or_default(),
            rto = secs(a.rto_seconds),
            rto_bar = bar(a.rto_seconds, r.max_rto_seconds, "rto"),
            rpo_raw = a.rpo_at_risk_seconds.map(|v| format!("{v:.3}")).unwrap_or_default(),
            rpo = secs(a.rpo_at_risk_seconds),
            rpo_bar = bar(a.rpo_at_risk_seconds, r.max_rpo_at_risk_seconds, "rpo"),
        );
    }
    out.push_str("</tbody></table>");
    // Waves.
    out.push_str(r#"<h2>Waves</h2><table class="waves"><thead><tr><th>Phase</th><th>Wave</th><th>Apps</th><th>Moved</th><th>Not moved</th><th>From</th><th>To</th></tr></thead><tbody>"#);
    for w in &r.waves {
        let _ = write!(
            out,
            r#"<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            w.phase,
            w.wave,
            w.apps,
            w.moved,
            w.not_moved,
            secs(w.start_seconds),
            secs(w.end_seconds)
        );
    }
    out.push_str("</tbody></table>");
    // Exceptions and skipped apps, in plain words.
    out.push_str(r#"<h2>What did not go to plan</h2>"#);
    if r.exceptions.is_empty() && r.skipped.iter().all(|s| s.error.is_none()) {
        out.push_str(r#"<p class="ok">Every app the run planned moved and was verified.</p>"#);
    }
    out.push_str(r#"<ul class="exceptions">"#);
    for e in &r.exceptions {
        let _ = write!(
            out,
            r#"<li data-app="{0}"><b>{0}</b>: {1}</li>"#,
            esc(&e.app),
            esc(&e.reason)
        );
    }
    out.push_str("</ul>");
    if !r.skipped.is_empty() {
        let _ = write!(
            out,
            r#"<h3>Skipped ({} of {})</h3><ul class="skipped">"#,
            r.skipped.len(),
            r.skipped_total
        );
        for s in &r.skipped {
            let _ = write!(
                out,
                r#"<li data-app="{0}"><b>{0}</b>: {1}{2}</li>"#,
                esc(&s.app),
                esc(&s.reason),
                s.error.map(|e| format!(" ({})", esc(e.as_str()))).unwrap_or_default()
            );
        }
        out.push_str("</ul>");
    }
    if let Some(f) = &r.follow_up {
        let _ = write!(
            out,
            r#"<p class="note">Follow-up run for {} (alarms {} still in ALARM).</p>"#,
            esc(&f.apps.join(", ")),
            esc(&f.alarms.join(", "))
        );
    }
    // AWS calls by operation.
    out.push_str(r#"<h2>AWS calls by operation</h2><table class="calls"><tbody>"#);
    for c in &r.api_calls {
        let _ = write!(
            out,
            r#"<tr><td>{}</td><td class="num">{}</td></tr>"#,
            esc(&c.operation),
            c.count
        );
    }
    let _ = write!(
        out,
        r#"</tbody><tfoot><tr><th>total</th><td class="num">{}</td></tr></tfoot></table>"#,
        r.api_calls_total
    );
    let _ = write!(
        out,
        r#"<p class="foot">lifeboat report v{} - times in UTC (+00:00), seconds from time zero.</p></body></html>"#,
        r.report_version
    );
    out
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
.seg.verify,.key.verify{fill:#3fa66a;background:#3fa66a}.seg.rollback,.key.rollback{fill:#e08a2c;background:#e08a2c}.seg.wave{fill:#9aa7c7}\
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
                    timeline: Timeline {
                        wave: Some(wave),
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
