//! Lambda function: the wait dns task.
#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lifeboat_tasks::lambda::run(lifeboat_tasks::TaskKind::WaitDns).await
}
