//! Published messages, kept in memory.

use super::prelude::*;
use crate::ports::Notifier;

/// Every message published, in order: (topic, subject, message).
#[derive(Debug, Default)]
pub struct FakeNotifier {
    pub published: Mutex<Vec<(String, String, String)>>,
}

#[async_trait]
impl Notifier for FakeNotifier {
    async fn publish(&self, topic_arn: &str, subject: &str, message: &str) -> Result<(), AwsError> {
        lock(&self.published).push((topic_arn.into(), subject.into(), message.into()));
        Ok(())
    }
}
