//! The status function: an SQS batch of status checks. Each message succeeds or fails on its
//! own (`ReportBatchItemFailures`); a failed one returns to the queue and, after repeated
//! failure, to the dead-letter queue.

use super::{parse_console_event, HandlerError};
use crate::ports::{Ports, Retryable, StatusCheck};
use crate::usecases::status;
use crate::Deadline;
use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};

/// The payload as Lambda hands it over. Anything but an SQS event (say, a test event typed into
/// the console) is refused with the field that is wrong, and nothing is done.
pub async fn handle_payload(
    ports: &Ports,
    event: serde_json::Value,
    deadline: Deadline,
) -> Result<SqsBatchResponse, HandlerError> {
    let event: SqsEvent = parse_console_event("status", event)?;
    Ok(handle(ports, event, deadline).await)
}

pub async fn handle(ports: &Ports, event: SqsEvent, deadline: Deadline) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for message in event.records {
        let message_id = message.message_id.clone().unwrap_or_default();
        let fail = |response: &mut SqsBatchResponse| {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = message_id.clone();
            response.batch_item_failures.push(failure);
        };
        if deadline.is_near() {
            // Not started: back to the queue untouched, to be picked up by the next invocation.
            fail(&mut response);
            continue;
        }
        let check: StatusCheck = match message.body.as_deref().map(serde_json::from_str) {
            Some(Ok(check)) => check,
            Some(Err(error)) => {
                tracing::error!(message_id, %error, "status message is not a status check; it will go to the dead-letter queue");
                fail(&mut response);
                continue;
            }
            None => {
                tracing::error!(message_id, "status message has no body");
                fail(&mut response);
                continue;
            }
        };
        match status::check(ports, &check, deadline).await {
            Ok(outcome) => tracing::debug!(message_id, ?outcome, "status check done"),
            Err(error) => {
                tracing::error!(
                    message_id,
                    account = %check.account_id,
                    order = %check.marketplace_order_id,
                    retryable = error.is_retryable(),
                    %error,
                    "status check failed"
                );
                fail(&mut response);
            }
        }
    }
    response
}
