//! An application that lives in another AWS account: every call for it is
//! made as an IAM role of that account, which lifeboat assumes.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The registry's per-app `account`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// The member account's role lifeboat assumes (`arn:aws:iam::ACCOUNT:role/NAME`),
    /// made from `infra/member-role.yaml`.
    #[schemars(regex(pattern = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$"))]
    pub role_arn: String,
    /// The ExternalId the role's trust policy asks for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z0-9+=,.@:/_-]{2,1224}$"))]
    pub external_id: Option<String>,
}

impl Account {
    /// The 12-digit account id in the role's ARN.
    pub fn id(&self) -> &str {
        self.role_arn.split(':').nth(4).unwrap_or_default()
    }
}

/// The account of an ARN (its fifth field), when it names one.
pub fn arn_account(arn: &str) -> Option<&str> {
    arn.split(':')
        .nth(4)
        .filter(|a| a.len() == 12 && a.chars().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_account_is_read_from_the_role_and_from_resource_arns() {
        let a = Account {
            role_arn: "arn:aws:iam::222233334444:role/ops/lifeboat-member".into(),
            external_id: None,
        };
        assert_eq!(a.id(), "222233334444");
        assert_eq!(
            arn_account("arn:aws:lambda:us-west-2:222233334444:function:flush"),
            Some("222233334444")
        );
        assert_eq!(arn_account("arn:aws:s3:::bucket"), None);
        assert_eq!(arn_account("not-an-arn"), None);
    }
}
