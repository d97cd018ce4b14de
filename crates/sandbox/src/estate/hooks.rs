//! Hook functions in the sample estate: Lambda functions the emulator
//! answers for as their `LIFEBOAT_HOOK` environment variable says (`ok`,
//! `fail`, `fail-first:N`, `sleep:S`), tagged `lifeboat:hook=true` as
//! lifeboat's policy requires, with a role Lambda can assume.

use super::{SeedError, seed_err};
use aws_config::SdkConfig;

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// A zip holding a handler that returns its event (never run: the emulator answers).
fn code() -> Vec<u8> {
    // An empty zip archive: its end-of-central-directory record alone.
    let mut zip = vec![0x50, 0x4b, 0x05, 0x06];
    zip.extend([0u8; 18]);
    zip
}

/// Creates function `name` in `region` answering as `behaviour`; its ARN.
pub async fn seed_hook_function(
    config: &SdkConfig,
    namespace: &str,
    name: &str,
    region: &str,
    behaviour: &str,
) -> Result<String, SeedError> {
    let iam = aws_sdk_iam::Client::new(config);
    let role_name = format!("{namespace}-lifeboat-hooks");
    let role = match iam.get_role().role_name(&role_name).send().await {
        Ok(r) => r.role().map(|r| r.arn().to_string()),
        Err(_) => iam
            .create_role()
            .role_name(&role_name)
            .assume_role_policy_document(TRUST)
            .send()
            .await
            .map_err(seed_err(format!("IAM CreateRole {role_name}")))?
            .role()
            .map(|r| r.arn().to_string()),
    }
    .unwrap_or_default();
    let lambda = aws_sdk_lambda::Client::from_conf(
        aws_sdk_lambda::config::Builder::from(config)
            .region(aws_config::Region::new(region.to_string()))
            .build(),
    );
    let function = format!("{namespace}-{name}");
    let out = lambda
        .create_function()
        .function_name(&function)
        .runtime(aws_sdk_lambda::types::Runtime::Python312)
        .role(role)
        .handler("index.handler")
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .zip_file(aws_smithy_types::Blob::new(code()))
                .build(),
        )
        .environment(
            aws_sdk_lambda::types::Environment::builder()
                .variables("LIFEBOAT_HOOK", behaviour)
                .build(),
        )
        .tags("lifeboat:hook", "true")
        .send()
        .await
        .map_err(seed_err(format!("Lambda CreateFunction {function} in {region}")))?;
    Ok(out.function_arn().unwrap_or_default().to_string())
}
