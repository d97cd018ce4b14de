//! Lambda function: the promote database task.
#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lifeboat_tasks::lambda::run(lifeboat_tasks::TaskKind::PromoteDatabase).await
}
