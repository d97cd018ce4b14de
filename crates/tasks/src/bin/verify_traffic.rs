//! Lambda function: the verify traffic task.
#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lifeboat_tasks::lambda::run(lifeboat_tasks::TaskKind::VerifyTraffic).await
}
