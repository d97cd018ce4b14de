//! The Lambda bootstrap of every lifeboat function: `LIFEBOAT_TASK` (set per
//! function by the template) names the task it serves, so one build serves all.
#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lifeboat_tasks::lambda::run_task(&std::env::var(lifeboat_tasks::lambda::TASK_SETTING).unwrap_or_default()).await
}
