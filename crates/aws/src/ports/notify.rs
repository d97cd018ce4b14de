//! Telling people: an SNS topic.

use super::prelude::*;

/// Publishes a message people subscribe to (e-mail, chat, paging).
#[async_trait]
pub trait Notifier: Send + Sync {
    /// Publish `message` to `topic_arn` (in the topic's own Region).
    async fn publish(&self, topic_arn: &str, subject: &str, message: &str) -> Result<(), AwsError>;
}
