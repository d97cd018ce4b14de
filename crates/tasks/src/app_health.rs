//! One check of an application's health in its target Region, which
//! VerifyApps makes for each app of a wave: its Route 53 health check healthy
//! and its CloudWatch alarms OK. The state machine repeats it (Wait + check
//! loop) until healthy or out of checks.

use lifeboat_aws::ports::{AlarmStates, HealthChecks, HttpProbe};
use lifeboat_core::LifeboatError;
use lifeboat_core::plan::AppMove;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VerifyInput {
    pub app: AppMove,
    /// Checks made so far.
    #[serde(default)]
    pub checks: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VerifyOutput {
    pub app: String,
    pub healthy: bool,
    pub detail: String,
    pub checks: u32,
}

/// `health_best_effort` reads health checks in a disaster run (one short
/// attempt): Route 53's API lives in us-east-1, so not answering leaves the
/// verdict to the target Region's alarms.
pub async fn check_app_health(
    health: &dyn HealthChecks,
    health_best_effort: &dyn HealthChecks,
    alarms: &dyn AlarmStates,
    http: &dyn HttpProbe,
    input: VerifyInput,
) -> Result<VerifyOutput, LifeboatError> {
    let v = &input.app.verification;
    let mut problems = Vec::new();
    let mut seen = Vec::new();
    if let Some(id) = &v.health_check_id {
        let read = if v.health_check_best_effort {
            health_best_effort.health(id).await
        } else {
            health.health(id).await
        };
        match read {
            Ok(report) if report.healthy => seen.push(report.detail),
            Ok(report) => problems.push(report.detail),
            Err(e) if v.health_check_best_effort && e.is_unavailable() => {
                tracing::warn!(app = %input.app.app, error = %e, "health check unread: Route 53's API did not answer");
                seen.push(format!(
                    "health check {id} unread (Route 53's API did not answer){}",
                    if v.alarms.is_empty() {
                        ": no alarm to verify with in a disaster, traffic accepted unverified"
                    } else {
                        ""
                    }
                ));
            }
            Err(e) => return Err(e.into()),
        }
    }
    if !v.alarms.is_empty() {
        let states = alarms.alarm_states(&v.region, &v.alarms).await?;
        for name in &v.alarms {
            match states.get(name).map(String::as_str) {
                Some("OK") => seen.push(format!("alarm {name} OK")),
                Some(other) => problems.push(format!("alarm {name} is {other} in {}", v.region)),
                None => problems.push(format!("alarm {name} does not exist in {}", v.region)),
            }
        }
    }
    // The target Region's own endpoint, probed from here: no Route 53, no failed Region.
    let answers = futures::future::join_all(v.probes.iter().map(|p| http.get(&p.url))).await;
    for (p, a) in v.probes.iter().zip(answers) {
        match (a.status, a.error) {
            (Some(s), _) if s == p.expect_status => seen.push(format!("probe {} answered {s}", p.url)),
            (Some(s), _) => problems.push(format!("probe {} answered {s}, not {}", p.url, p.expect_status)),
            (None, e) => problems.push(format!("probe {}: {}", p.url, e.unwrap_or_default())),
        }
    }
    let checks = input.checks + 1;
    let healthy = problems.is_empty();
    let detail = if healthy {
        if seen.is_empty() {
            "no verification configured: DNS change accepted as is".to_string()
        } else {
            seen.join("; ")
        }
    } else {
        format!("check {checks}/{}: {}", v.max_checks, problems.join("; "))
    };
    tracing::info!(app = %input.app.app, healthy, checks, %detail, "verified traffic");
    Ok(VerifyOutput {
        app: input.app.app.clone(),
        healthy,
        detail,
        checks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{estate, wave_of};
    use lifeboat_aws::fakes::FakeAlarms;

    #[tokio::test]
    async fn healthy_when_the_health_check_passes_and_alarms_are_ok() {
        let r53 = estate();
        let app = wave_of(&r53, &["api"]).await.apps.remove(0);
        let alarms = FakeAlarms::default();
        alarms.set("us-west-2", "api-usw2-5xx", "OK");
        let out = check_app_health(
            &r53,
            &r53,
            &alarms,
            &lifeboat_aws::fakes::FakeProbe::default(),
            VerifyInput {
                app: app.clone(),
                checks: 0,
            },
        )
        .await
        .unwrap();
        assert!(out.healthy, "{}", out.detail);
        assert_eq!(out.checks, 1);
        alarms.set("us-west-2", "api-usw2-5xx", "ALARM");
        let out = check_app_health(
            &r53,
            &r53,
            &alarms,
            &lifeboat_aws::fakes::FakeProbe::default(),
            VerifyInput { app, checks: 1 },
        )
        .await
        .unwrap();
        assert!(!out.healthy);
        assert!(
            out.detail.contains("alarm api-usw2-5xx is ALARM in us-west-2"),
            "{}",
            out.detail
        );
        assert_eq!(out.checks, 2);
    }

    #[tokio::test]
    async fn a_missing_alarm_fails_the_check_and_the_health_check_is_left_to_the_alarms() {
        let r53 = estate();
        r53.set_health("hc-api-usw2", false);
        let app = wave_of(&r53, &["api"]).await.apps.remove(0);
        // The app has an alarm: its health check is not read (Route 53's quota).
        assert_eq!(app.verification.health_check_id, None);
        let out = check_app_health(
            &r53,
            &r53,
            &FakeAlarms::default(),
            &lifeboat_aws::fakes::FakeProbe::default(),
            VerifyInput { app, checks: 0 },
        )
        .await
        .unwrap();
        assert!(!out.healthy);
        assert!(
            out.detail.contains("does not exist") && !out.detail.contains("health check"),
            "{}",
            out.detail
        );
    }

    #[tokio::test]
    async fn an_app_verified_by_its_health_check_alone_fails_when_it_is_unhealthy() {
        let r53 = estate();
        r53.set_health("hc-api-usw2", false);
        let mut app = wave_of(&r53, &["api"]).await.apps.remove(0);
        app.verification.alarms.clear();
        app.verification.health_check_id = Some("hc-api-usw2".into());
        let out = check_app_health(
            &r53,
            &r53,
            &FakeAlarms::default(),
            &lifeboat_aws::fakes::FakeProbe::default(),
            VerifyInput { app, checks: 0 },
        )
        .await
        .unwrap();
        assert!(!out.healthy);
        assert!(out.detail.contains("unhealthy"), "{}", out.detail);
    }
}
