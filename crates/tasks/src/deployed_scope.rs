//! What the deployed stack's IAM policy lets lifeboat touch: the routing
//! controls, hosted zones and restore KMS keys its parameters name, passed
//! to the functions as lists. An app that needs one outside them would meet
//! AccessDenied in the middle of its move; readiness and validate say so
//! first. Unset (locally, or an older stack): nothing is checked.

use lifeboat_core::registry::{Application, normalize_zone_id};

/// The environment variables the stack sets (comma-separated).
pub const ROUTING_CONTROLS_SETTING: &str = "LIFEBOAT_DEPLOYED_ROUTING_CONTROLS";
pub const HOSTED_ZONES_SETTING: &str = "LIFEBOAT_DEPLOYED_HOSTED_ZONES";
pub const KMS_KEYS_SETTING: &str = "LIFEBOAT_DEPLOYED_KMS_KEYS";
pub const MEMBER_ROLES_SETTING: &str = "LIFEBOAT_DEPLOYED_MEMBER_ROLES";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeployedScope {
    pub routing_controls: Option<Vec<String>>,
    pub hosted_zones: Option<Vec<String>>,
    pub kms_keys: Option<Vec<String>>,
    /// The member accounts' roles the stack may assume.
    pub member_roles: Option<Vec<String>>,
}

fn list(value: Option<String>) -> Option<Vec<String>> {
    value.map(|v| {
        v.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    })
}

impl DeployedScope {
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> DeployedScope {
        DeployedScope {
            routing_controls: list(var(ROUTING_CONTROLS_SETTING)),
            hosted_zones: list(var(HOSTED_ZONES_SETTING)),
            kms_keys: list(var(KMS_KEYS_SETTING)),
            member_roles: list(var(MEMBER_ROLES_SETTING)),
        }
    }

    /// What `app` needs that the deployed policy does not grant, one line each.
    pub fn gaps(&self, app: &Application) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(account) = &app.account {
            // Its zones and controls are the member role's to grant (infra/member-role.yaml), not this stack's.
            if self
                .member_roles
                .as_ref()
                .is_some_and(|roles| !roles.contains(&account.role_arn))
            {
                out.push(format!(
                    "role {} is not in the stack's MemberRoleArns: STS would refuse to assume it \
                     (AccessDenied); add it to the parameters file and deploy",
                    account.role_arn
                ));
            }
            return out;
        }
        if let (Some(allowed), Some(rc)) = (&self.routing_controls, app.routing_controls()) {
            for arn in [&rc.primary, &rc.secondary] {
                if !allowed.contains(arn) {
                    out.push(format!(
                        "routing control {arn} is not in the stack's RoutingControlArns: ARC would refuse the \
                         update (AccessDenied); add it to the parameters file and deploy"
                    ));
                }
            }
        }
        if let Some(allowed) = &self.hosted_zones {
            let allowed: Vec<String> = allowed.iter().map(|z| normalize_zone_id(z)).collect();
            let mut zones: Vec<String> = app.dns.iter().map(|r| normalize_zone_id(&r.hosted_zone_id)).collect();
            zones.extend(
                app.database
                    .endpoint_record
                    .iter()
                    .map(|e| normalize_zone_id(&e.hosted_zone_id)),
            );
            zones.sort();
            zones.dedup();
            for zone in zones.iter().filter(|z| !allowed.contains(z)) {
                out.push(format!(
                    "hosted zone {zone} is not in the stack's HostedZoneIds: Route 53 would refuse its change \
                     (AccessDenied); add it to the parameters file and deploy"
                ));
            }
        }
        out
    }

    /// Whether a restore may decrypt with `key` (a key ARN); unknown: yes.
    pub fn allows_kms_key(&self, key: &str) -> bool {
        self.kms_keys.as_ref().is_none_or(|keys| keys.iter().any(|k| k == key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_stack_does_not_grant_is_named_and_unset_checks_nothing() {
        let reg = crate::test_support::registry();
        let api = reg.app("api").unwrap();
        assert!(DeployedScope::default().gaps(api).is_empty());
        let vars = |zones: &'static str| move |name: &str| (name == HOSTED_ZONES_SETTING).then(|| zones.to_string());
        assert!(
            DeployedScope::from_vars(vars("/hostedzone/Z1, Z2"))
                .gaps(api)
                .is_empty()
        );
        let gaps = DeployedScope::from_vars(vars("Z2")).gaps(api);
        assert_eq!(gaps.len(), 1, "{gaps:?}");
        assert!(
            gaps[0].starts_with("hosted zone Z1 is not in the stack's HostedZoneIds"),
            "{gaps:?}"
        );
        let keys = DeployedScope {
            kms_keys: Some(vec!["arn:aws:kms:us-west-2:1:key/a".into()]),
            ..DeployedScope::default()
        };
        assert!(keys.allows_kms_key("arn:aws:kms:us-west-2:1:key/a"));
        assert!(!keys.allows_kms_key("arn:aws:kms:us-west-2:1:key/b"));
    }

    #[test]
    fn a_member_app_needs_its_role_listed_and_nothing_of_this_stacks_zones() {
        let mut app: Application = serde_json::from_value(serde_json::json!({
            "name": "portal",
            "regions": {"primary": "us-east-1", "secondary": "us-west-2"},
            "account": {"role_arn": "arn:aws:iam::222233334444:role/lifeboat-member"},
            "dns": [{"hosted_zone_id": "ZMEMBER", "name": "p.example.net.", "type": "CNAME",
                     "set_identifiers": {"primary": "p1", "secondary": "p2"}}]
        }))
        .unwrap();
        let scope = DeployedScope {
            hosted_zones: Some(vec!["ZHOME".into()]),
            member_roles: Some(vec!["arn:aws:iam::222233334444:role/other".into()]),
            ..Default::default()
        };
        let gaps = scope.gaps(&app);
        assert_eq!(gaps.len(), 1, "{gaps:?}");
        assert!(gaps[0].contains("is not in the stack's MemberRoleArns"), "{gaps:?}");
        app.account.as_mut().unwrap().role_arn = "arn:aws:iam::222233334444:role/other".into();
        assert!(scope.gaps(&app).is_empty(), "the member's zone is its role's to grant");
    }
}
