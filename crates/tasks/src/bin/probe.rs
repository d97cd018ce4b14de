//! Lambda function: the detection probe (scheduled every minute in the recovery Region).
#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lifeboat_tasks::lambda::run_probe().await
}
