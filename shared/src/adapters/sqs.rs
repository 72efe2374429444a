//! The status queue on Amazon SQS.

use crate::ports::{QueueError, StatusCheck, StatusQueue};
use async_trait::async_trait;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::Client;
use std::time::Duration;

/// SQS caps a message's delay at 15 minutes.
const MAX_DELAY: Duration = Duration::from_secs(900);

#[derive(Clone)]
pub struct SqsStatusQueue {
    client: Client,
    queue_url: String,
}

impl SqsStatusQueue {
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self { client, queue_url: queue_url.into() }
    }
}

#[async_trait]
impl StatusQueue for SqsStatusQueue {
    async fn enqueue(&self, check: &StatusCheck, delay: Duration) -> Result<(), QueueError> {
        let body = serde_json::to_string(check).map_err(|e| QueueError { message: e.to_string() })?;
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .delay_seconds(delay.min(MAX_DELAY).as_secs() as i32)
            .send()
            .await
            .map_err(|e| QueueError {
                message: format!(
                    "sending status check for order {} of account {}: {}",
                    check.marketplace_order_id,
                    check.account_id,
                    DisplayErrorContext(&e)
                ),
            })?;
        Ok(())
    }
}
