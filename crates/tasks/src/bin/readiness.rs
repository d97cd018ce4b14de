//! Lambda function: the readiness evaluation (scheduled in the recovery Region).
#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lifeboat_tasks::lambda::run_readiness().await
}
