//! The status function: SQS batches from two queues — status checks (the import, early
//! re-checks, the sweep) and the marketplace's order-change pushes (Amazon `ORDER_CHANGE`). Each
//! message succeeds or fails on its own (`ReportBatchItemFailures`); a failed one returns to its
//! queue and, after repeated failure, goes to the dead-letter queue.
//!
//! Receives are kept for real failures: a check the marketplace throttled, or one there was no
//! time left for, is sent on to the status queue with a delay and its message deleted. When
//! every message of a batch failed, the invocation fails (`BatchFailed`), so an outage shows in
//! the function's error metric and Lambda slows its pollers down.

use super::{parse_console_event, ErrorKind, HandlerError};
use crate::adapters::sp_api::order_change_notice;
use crate::domain::MarketplaceAccount;
use crate::ports::{MarketplaceError, Metric, Ports, Retryable, StatusCheck};
use crate::usecases::status::{self, Origin, StatusError};
use crate::Deadline;
use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use std::time::Duration;

const FUNCTION: &str = "status";

/// The payload as Lambda hands it over. Anything but an SQS event (say, a test event typed into
/// the console) is refused with the field that is wrong, and nothing is done.
pub async fn handle_payload(
    ports: &Ports,
    event: serde_json::Value,
    deadline: Deadline,
) -> Result<SqsBatchResponse, HandlerError> {
    let event: SqsEvent = parse_console_event(FUNCTION, event)?;
    let total = event.records.len();
    let (response, failed) = handle_counted(ports, event, deadline).await;
    if total > 0 && failed == total {
        return Err(HandlerError::new(
            ErrorKind::BatchFailed,
            FUNCTION,
            format!("all {total} messages of the batch failed; they return to the queue"),
        ));
    }
    Ok(response)
}

/// Handles a batch; the answer lists the messages that failed.
pub async fn handle(ports: &Ports, event: SqsEvent, deadline: Deadline) -> SqsBatchResponse {
    handle_counted(ports, event, deadline).await.0
}

/// What became of one message.
enum Handled {
    Done,
    /// Back to its queue, to be received again.
    Failed,
}

async fn handle_counted(ports: &Ports, event: SqsEvent, deadline: Deadline) -> (SqsBatchResponse, usize) {
    let mut response = SqsBatchResponse::default();
    let mut failed = 0;
    let mut accounts = Accounts::default();
    for message in event.records {
        if let Handled::Failed = handle_message(ports, &mut accounts, &message, deadline).await {
            failed += 1;
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = message.message_id.clone().unwrap_or_default();
            response.batch_item_failures.push(failure);
        }
    }
    (response, failed)
}

/// The accounts, read once per batch and only if a push needs them.
#[derive(Default)]
struct Accounts(Option<Vec<MarketplaceAccount>>);

impl Accounts {
    async fn get(&mut self, ports: &Ports) -> Result<&[MarketplaceAccount], String> {
        if self.0.is_none() {
            self.0 = Some(ports.accounts.list_accounts().await.map_err(|e| e.to_string())?);
        }
        Ok(self.0.as_deref().unwrap_or_default())
    }
}

async fn handle_message(
    ports: &Ports,
    accounts: &mut Accounts,
    message: &SqsMessage,
    deadline: Deadline,
) -> Handled {
    let message_id = message.message_id.as_deref().unwrap_or_default();
    let Some(body) = message.body.as_deref() else {
        tracing::error!(message_id, "status message has no body");
        return Handled::Failed;
    };
    let (check, origin) = match read(ports, accounts, body).await {
        Ok(Some(read)) => read,
        Ok(None) => return Handled::Done,
        Err(error) => {
            tracing::error!(message_id, %error, "status message is neither a status check nor an order-change notification; it will go to the dead-letter queue");
            return Handled::Failed;
        }
    };
    if deadline.is_near() {
        // No time to start it: sent on at once rather than failed, which would use a receive.
        return send_on(ports, &check, Duration::ZERO, "deferred: invocation time is running out").await;
    }
    match status::check(ports, &check, origin, deadline).await {
        Ok(outcome) => {
            tracing::debug!(message_id, account = %check.account_id, order = %check.marketplace_order_id, ?outcome, "status check done");
            Handled::Done
        }
        Err(StatusError::Marketplace(MarketplaceError::Throttled { retry_after, .. })) => {
            if let Ok(Some(account)) = ports.accounts.get_account(&check.account_id).await {
                ports.metrics.record(account.marketplace(), &account.id, Metric::MarketplaceThrottles, 1.0);
            }
            send_on(ports, &check, retry_after, "throttled by the marketplace").await
        }
        Err(error) => {
            tracing::error!(
                message_id,
                account = %check.account_id,
                order = %check.marketplace_order_id,
                retryable = error.is_retryable(),
                %error,
                "status check failed"
            );
            Handled::Failed
        }
    }
}

/// The check a message asks for. A push for no enabled account is dropped (Ok(None)).
async fn read(
    ports: &Ports,
    accounts: &mut Accounts,
    body: &str,
) -> Result<Option<(StatusCheck, Origin)>, String> {
    if let Some(notice) = order_change_notice(body) {
        let notice = notice?;
        return match status::account_for(accounts.get(ports).await?, &notice) {
            Some(account) => Ok(Some((StatusCheck::new(account.id.clone(), notice.order_id), Origin::Push))),
            None => {
                tracing::warn!(seller = %notice.seller_id, order = %notice.order_id, "order-change notification for no enabled account; dropped");
                Ok(None)
            }
        };
    }
    let check: StatusCheck = serde_json::from_str(body).map_err(|e| format!("not a status check: {e}"))?;
    Ok(Some((check, Origin::Queue)))
}

async fn send_on(ports: &Ports, check: &StatusCheck, delay: Duration, why: &str) -> Handled {
    match status::send_on(ports, check, delay).await {
        Ok(true) => {
            tracing::info!(account = %check.account_id, order = %check.marketplace_order_id, delay_secs = delay.as_secs(), why, "status check sent on");
            Handled::Done
        }
        Ok(false) => {
            tracing::warn!(account = %check.account_id, order = %check.marketplace_order_id, why, "status check sent on too often; left to the queue's retries");
            Handled::Failed
        }
        Err(error) => {
            tracing::error!(account = %check.account_id, order = %check.marketplace_order_id, %error, "could not send a status check on");
            Handled::Failed
        }
    }
}
