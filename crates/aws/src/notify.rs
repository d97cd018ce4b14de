//! SNS Publish, to the topic's own Region (its ARN names it).

use crate::clients::AwsClients;
use crate::error::AwsError;
use crate::ports::Notifier;
use async_trait::async_trait;
use aws_config::Region;

/// SNS through the SDK.
#[derive(Debug, Clone)]
pub struct Sns {
    clients: AwsClients,
}

impl Sns {
    pub fn new(clients: AwsClients) -> Self {
        Sns { clients }
    }
}

/// SNS limits a subject to 100 printable ASCII characters (Publish's API reference).
fn subject_line(subject: &str) -> String {
    subject
        .chars()
        .map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { ' ' })
        .take(100)
        .collect()
}

#[async_trait]
impl Notifier for Sns {
    async fn publish(&self, topic_arn: &str, subject: &str, message: &str) -> Result<(), AwsError> {
        let region = topic_arn.split(':').nth(3).filter(|r| !r.is_empty());
        let mut conf =
            aws_sdk_sns::config::Builder::from(&self.clients.config).interceptor(self.clients.counter.clone());
        if let Some(r) = region {
            conf = conf.region(Region::new(r.to_string()));
        }
        aws_sdk_sns::Client::from_conf(conf.build())
            .publish()
            .topic_arn(topic_arn)
            .subject(subject_line(subject))
            .message(message)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(&format!("SNS Publish to {topic_arn}"), e))?;
        Ok(())
    }
}
