//! `lifeboat sample alarm-event APP`: the event a trigger alarm sends, made
//! from the registry, so a user can try a trigger on the emulator.

use super::{factory, registry::read_registry_file};
use crate::{Cli, CliError, EXIT_OK, output::print_json};
use lifeboat_core::registry::{Application, Registry};
use lifeboat_sandbox::estate::alarm_event;
use lifeboat_tasks::ServicesFactory;
use std::path::Path;

pub(crate) async fn alarm_event_for(
    cli: &Cli,
    app: &str,
    file: Option<&Path>,
    alarm: Option<&str>,
) -> Result<i32, CliError> {
    let registry = match file {
        Some(file) => read_registry_file(file)?,
        None => {
            let f = factory(cli).await?;
            lifeboat_tasks::validate::load_registry(&*f.services().registry).await?
        }
    };
    let (alarm, region) = pick_alarm(&registry, app, alarm)?;
    print_json(&alarm_event(&alarm, &region, chrono::Utc::now()));
    eprintln!(
        "lifeboat: the event of alarm {alarm} (in {region}) going to ALARM now. Run it with `lifeboat run --local --input FILE`; a trigger older than 15 minutes is refused as late."
    );
    Ok(EXIT_OK)
}

/// The alarm that fires and its Region: `wanted` if the app has it, else
/// its first trigger alarm (in the primary Region), else its probe's
/// alarm (in the recovery Region, where probes run).
fn pick_alarm(registry: &Registry, app: &str, wanted: Option<&str>) -> Result<(String, String), CliError> {
    let a: &Application = registry.app(app).ok_or_else(|| {
        let known: Vec<&str> = registry.applications.iter().map(|a| a.name.as_str()).collect();
        CliError::bad_input(format!(
            "unknown application \"{app}\"; the registry has: {}",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        ))
    })?;
    let probe = a.detection_alarm();
    let mut alarms: Vec<(String, String)> = a
        .triggers
        .alarms
        .iter()
        .map(|n| (n.clone(), a.regions.primary.clone()))
        .collect();
    alarms.extend(probe.map(|n| (n, a.regions.secondary.clone())));
    let picked = match wanted {
        Some(w) => alarms.iter().find(|(n, _)| n == w),
        None => alarms.first(),
    };
    picked.cloned().ok_or_else(|| match wanted {
        Some(w) => CliError::bad_input(format!(
            "alarm \"{w}\" does not trigger {app}; its alarms: {}",
            if alarms.is_empty() {
                "none".to_string()
            } else {
                alarms.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ")
            }
        )),
        None => CliError::bad_input(format!(
            "{app} has no trigger alarm: add one to its triggers.alarms, or a detection probe, in the registry"
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> Registry {
        lifeboat_core::registry::parse_registry(
            r#"
version: 1
applications:
  - name: web
    regions: { primary: us-east-1, secondary: us-west-2 }
    dns:
      - { hosted_zone_id: Z1, name: web.example.com., type: A, set_identifiers: { primary: a, secondary: b } }
    triggers: { alarms: [web-5xx, web-latency] }
    detection:
      probe: { url: "https://web-use1.example.com/health" }
  - name: quiet
    regions: { primary: us-east-1, secondary: us-west-2 }
    dns:
      - { hosted_zone_id: Z1, name: quiet.example.com., type: A, set_identifiers: { primary: a, secondary: b } }
"#,
        )
        .unwrap()
    }

    #[test]
    fn the_first_trigger_alarm_in_the_primary_or_a_named_one_or_the_probes_in_the_recovery_region() {
        let r = registry();
        assert_eq!(
            pick_alarm(&r, "web", None).unwrap(),
            ("web-5xx".into(), "us-east-1".into())
        );
        assert_eq!(
            pick_alarm(&r, "web", Some("lifeboat-probe-web")).unwrap(),
            ("lifeboat-probe-web".into(), "us-west-2".into())
        );
        let e = pick_alarm(&r, "web", Some("nope")).unwrap_err();
        assert_eq!(e.code, crate::EXIT_BAD_INPUT);
        assert!(
            e.message.contains("web-5xx, web-latency, lifeboat-probe-web"),
            "{}",
            e.message
        );
        let e = pick_alarm(&r, "quiet", None).unwrap_err();
        assert!(e.message.contains("quiet has no trigger alarm"), "{}", e.message);
        let e = pick_alarm(&r, "nobody", None).unwrap_err();
        assert!(e.message.contains("the registry has: web, quiet"), "{}", e.message);
    }
}
