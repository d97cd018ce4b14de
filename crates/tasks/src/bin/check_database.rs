//! Lambda function: the check database task.
#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lifeboat_tasks::lambda::run(lifeboat_tasks::TaskKind::CheckDatabase).await
}
