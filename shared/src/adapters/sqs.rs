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

/// A status check that kept failing and was moved to the dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub message_id: String,
    pub body: String,
    pub receive_count: Option<u32>,
}

/// Operator access to the status dead-letter queue: look at what failed, and send it back.
pub struct DeadLetters {
    client: Client,
    queue_url: String,
    dead_letter_queue_url: String,
}

impl DeadLetters {
    pub fn new(
        client: Client,
        queue_url: impl Into<String>,
        dead_letter_queue_url: impl Into<String>,
    ) -> Self {
        Self { client, queue_url: queue_url.into(), dead_letter_queue_url: dead_letter_queue_url.into() }
    }

    /// Up to `max` dead letters. SQS has no peek: listing receives them, so they stay hidden
    /// for `hide_for` before they can be listed or redriven again.
    pub async fn list(&self, max: usize, hide_for: Duration) -> Result<Vec<DeadLetter>, QueueError> {
        let mut letters: Vec<DeadLetter> = Vec::new();
        while letters.len() < max {
            let batch = self.receive((max - letters.len()).min(10) as i32, hide_for).await?;
            let before = letters.len();
            for (letter, _) in batch {
                if !letters.iter().any(|l| l.message_id == letter.message_id) {
                    letters.push(letter);
                }
            }
            // Nothing new: the queue is exhausted (or shows us what we have already seen).
            if letters.len() == before {
                break;
            }
        }
        Ok(letters)
    }

    /// Moves up to `max` dead letters back to the status queue: send first, then delete, so a
    /// crash in between leaves a duplicate check (harmless: checks are idempotent), never a
    /// lost one. Safe to run again. Returns how many were moved.
    pub async fn redrive(&self, max: usize) -> Result<usize, QueueError> {
        let mut moved = 0;
        while moved < max {
            let batch = self.receive((max - moved).min(10) as i32, Duration::from_secs(60)).await?;
            if batch.is_empty() {
                break;
            }
            for (letter, receipt) in batch {
                self.client
                    .send_message()
                    .queue_url(&self.queue_url)
                    .message_body(&letter.body)
                    .send()
                    .await
                    .map_err(|e| QueueError {
                        message: format!("redriving {}: {}", letter.message_id, DisplayErrorContext(&e)),
                    })?;
                self.client
                    .delete_message()
                    .queue_url(&self.dead_letter_queue_url)
                    .receipt_handle(receipt)
                    .send()
                    .await
                    .map_err(|e| QueueError {
                        message: format!(
                            "deleting redriven {}: {}",
                            letter.message_id,
                            DisplayErrorContext(&e)
                        ),
                    })?;
                moved += 1;
            }
        }
        Ok(moved)
    }

    async fn receive(&self, max: i32, hide_for: Duration) -> Result<Vec<(DeadLetter, String)>, QueueError> {
        let out = self
            .client
            .receive_message()
            .queue_url(&self.dead_letter_queue_url)
            .max_number_of_messages(max.clamp(1, 10))
            .visibility_timeout(hide_for.as_secs() as i32)
            .message_system_attribute_names(
                aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount,
            )
            .send()
            .await
            .map_err(|e| QueueError {
                message: format!("reading the dead-letter queue: {}", DisplayErrorContext(&e)),
            })?;
        Ok(out
            .messages
            .unwrap_or_default()
            .into_iter()
            .map(|m| {
                let receive_count = m
                    .attributes
                    .as_ref()
                    .and_then(|a| {
                        a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount)
                    })
                    .and_then(|c| c.parse().ok());
                let letter = DeadLetter {
                    message_id: m.message_id.unwrap_or_default(),
                    body: m.body.unwrap_or_default(),
                    receive_count,
                };
                (letter, m.receipt_handle.unwrap_or_default())
            })
            .collect())
    }
}
