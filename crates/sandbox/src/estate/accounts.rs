//! A member account on the local emulator: the role lifeboat assumes there
//! (its trust policy naming the account lifeboat runs in and an ExternalId),
//! and a configuration that builds the member's estate as that role.

use super::SeedError;
use crate::emulator::MotoServer;
use aws_config::SdkConfig;
use lifeboat_core::registry::Account;

/// The emulator's account for lifeboat itself (moto's default).
pub const HOME_ACCOUNT: &str = "123456789012";
/// The member account a demo or test app lives in.
pub const MEMBER_ACCOUNT: &str = "222233334444";
/// The ExternalId the member role's trust policy asks for.
pub const MEMBER_EXTERNAL_ID: &str = "lifeboat";

/// The member role of `namespace` (as `infra/member-role.yaml` would make it).
pub fn member_role(namespace: &str) -> Account {
    Account {
        role_arn: format!("arn:aws:iam::{MEMBER_ACCOUNT}:role/{namespace}-lifeboat-member"),
        external_id: Some(MEMBER_EXTERNAL_ID.to_string()),
    }
}

/// Makes `role` in its account, trusting [`HOME_ACCOUNT`] with its ExternalId.
pub fn make_member_role(moto: &MotoServer, role: &Account) -> Result<(), SeedError> {
    let body = serde_json::json!({
        "role_arn": role.role_arn,
        "trusted_account": HOME_ACCOUNT,
        "external_id": role.external_id,
    });
    moto.request("POST", "/lifeboat-emulator/sts/roles", &body.to_string())
        .map(|_| ())
        .map_err(|e| SeedError(format!("making the member role {}: {e}", role.role_arn)))
}

/// `setup` acting as `role` in `region`: the member's estate is built with
/// it, in a session named `setup`, which the emulator's quotas leave alone.
pub fn member_setup_config(setup: &SdkConfig, role: &Account, region: &str) -> SdkConfig {
    lifeboat_aws::accounts::AssumedRoles::default().config_as(
        setup,
        role,
        region,
        &lifeboat_aws::CallCounter::new(),
        "setup",
    )
}
