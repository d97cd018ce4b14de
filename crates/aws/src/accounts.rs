//! Other accounts' credentials: an IAM role assumed through the STS
//! endpoint of the Region lifeboat runs in (never the global one, which
//! lives in us-east-1), with its ExternalId.
//!
//! One configuration per role, external id and Region is kept by
//! [`AssumedRoles`] (for a Lambda function's process, or a local run): the
//! SDK's identity cache, shared by every client built from it, holds the
//! role's credentials and refreshes them before they expire, so the role is
//! assumed once and again only when its session ends. The AssumeRole call is
//! counted as every other call is, and the calls made as each role are
//! tallied ([`member_calls`]) for the member role's policy test.

use crate::calls::CallCounter;
use aws_config::{Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider, error::CredentialsError, future};
use lifeboat_core::registry::Account;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// How long a role's session lasts (STS's default; the identity cache refreshes it before the end).
const SESSION_SECONDS: i32 = 3600;

/// The session name CloudTrail shows for lifeboat's calls in the other account.
pub const SESSION_NAME: &str = "lifeboat";

/// Credentials from STS AssumeRole.
#[derive(Debug)]
struct AssumedRole {
    sts: aws_sdk_sts::Client,
    role: Account,
    session: String,
}

impl AssumedRole {
    async fn assume(&self) -> Result<Credentials, CredentialsError> {
        let out = self
            .sts
            .assume_role()
            .role_arn(&self.role.role_arn)
            .role_session_name(&self.session)
            .set_external_id(self.role.external_id.clone())
            .duration_seconds(SESSION_SECONDS)
            .send()
            .await
            .map_err(|e| {
                CredentialsError::provider_error(crate::error::AwsError::from_sdk(
                    &format!("STS AssumeRole {}", self.role.role_arn),
                    e,
                ))
            })?;
        let c = out
            .credentials()
            .ok_or_else(|| CredentialsError::unhandled("STS AssumeRole answered without credentials"))?;
        let expiry = std::time::SystemTime::try_from(*c.expiration()).ok();
        Ok(Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_string()),
            expiry,
            "lifeboat-assume-role",
        ))
    }
}

impl ProvideCredentials for AssumedRole {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(self.assume())
    }
}

type Key = (Account, String, String);

/// Assumed roles' configurations, one per role, Region and session name,
/// kept as long as this is: a Lambda function's process (its factory is
/// made once, in main) or a local run. Clones share them.
#[derive(Debug, Clone, Default)]
pub struct AssumedRoles {
    configs: Arc<Mutex<HashMap<Key, SdkConfig>>>,
}

impl AssumedRoles {
    /// `base` acting as `role`, its credentials from the STS endpoint of
    /// `region`: the same configuration (and so the same cached session) for
    /// every caller. The first caller's `counter` counts the AssumeRole calls.
    pub fn config(&self, base: &SdkConfig, role: &Account, region: &str, counter: &CallCounter) -> SdkConfig {
        self.config_as(base, role, region, counter, SESSION_NAME)
    }

    /// As [`AssumedRoles::config`], its session named `session` (a test's setup names its own).
    pub fn config_as(
        &self,
        base: &SdkConfig,
        role: &Account,
        region: &str,
        counter: &CallCounter,
        session: &str,
    ) -> SdkConfig {
        let key = (role.clone(), region.to_string(), session.to_string());
        let mut configs = self.configs.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = configs.get(&key) {
            return c.clone();
        }
        let sts = aws_sdk_sts::Client::from_conf(
            aws_sdk_sts::config::Builder::from(base)
                .region(Region::new(region.to_string()))
                .interceptor(counter.clone())
                .build(),
        );
        let provider = AssumedRole {
            sts,
            role: role.clone(),
            session: session.to_string(),
        };
        let config = base
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(provider))
            .build();
        configs.insert(key, config.clone());
        config
    }
}

/// The calls this process made as `role_arn`: what the member role's policy
/// (`infra/member-role.yaml`) must allow. Every member port counts into it.
pub fn member_calls(role_arn: &str) -> CallCounter {
    static TALLIES: OnceLock<Mutex<HashMap<String, CallCounter>>> = OnceLock::new();
    let tallies = TALLIES.get_or_init(|| Mutex::new(HashMap::new()));
    tallies
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(role_arn.to_string())
        .or_default()
        .clone()
}
