//! Pending → Deliverable: ask the marketplace for an order's current state and record payment
//! and customer once it is released, or cancel it, or check again later with a growing delay.

use crate::domain::{MarketplaceOrderState, OrderKey, OrderStatus, TransitionError};
use crate::ports::{MarketplaceError, Ports, QueueError, Retryable, StatusCheck, StoreError};
use crate::Deadline;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum StatusOutcome {
    /// Payment released: payment and customer stored, order Deliverable.
    Promoted,
    /// Still pending at the marketplace; another check is queued.
    StillPending,
    Cancelled,
    /// Nothing to do: the order already reflects the marketplace (repeated or late message).
    AlreadySettled,
}

#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error("status check for unknown account {0:?}")]
    UnknownAccount(String),
    #[error("order {0} is not stored (yet); retry later")]
    OrderNotStored(OrderKey),
    #[error("order {0} is unknown to the marketplace")]
    UnknownToMarketplace(OrderKey),
    #[error(transparent)]
    Marketplace(#[from] MarketplaceError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error(transparent)]
    Transition(#[from] TransitionError),
}

impl Retryable for StatusError {
    fn is_retryable(&self) -> bool {
        match self {
            StatusError::OrderNotStored(_) | StatusError::Queue(_) => true,
            StatusError::Marketplace(e) => e.is_retryable(),
            StatusError::Store(e) => e.is_retryable(),
            _ => false,
        }
    }
}

const CONFLICT_RETRIES: usize = 5;

pub async fn check(
    ports: &Ports,
    check: &StatusCheck,
    deadline: Deadline,
) -> Result<StatusOutcome, StatusError> {
    let account = ports
        .accounts
        .get_account(&check.account_id)
        .await?
        .ok_or_else(|| StatusError::UnknownAccount(check.account_id.to_string()))?;
    let key = OrderKey::new(account.marketplace(), account.id.clone(), check.marketplace_order_id.clone());
    let mut order =
        ports.orders.get_order(&key).await?.ok_or_else(|| StatusError::OrderNotStored(key.clone()))?;
    if !matches!(order.status(), OrderStatus::Pending | OrderStatus::Deliverable) {
        return Ok(StatusOutcome::AlreadySettled);
    }
    let client = ports.marketplaces.connect(&account).await?;
    let current = client
        .get_order(&key.marketplace_order_id, deadline)
        .await?
        .ok_or_else(|| StatusError::UnknownToMarketplace(key.clone()))?;

    for _ in 0..CONFLICT_RETRIES {
        let outcome = match (order.status(), current.state) {
            (OrderStatus::Pending | OrderStatus::Deliverable, MarketplaceOrderState::Cancelled) => {
                order.cancel(ports.clock.now())?;
                StatusOutcome::Cancelled
            }
            (OrderStatus::Pending, state) if state.is_released() => match current.release() {
                Some(release) => {
                    order.release(release, ports.clock.now())?;
                    StatusOutcome::Promoted
                }
                // Released but prices or customer data aren't available yet: look again later.
                None => return requeue(ports, check).await,
            },
            (OrderStatus::Pending, _) => return requeue(ports, check).await,
            _ => return Ok(StatusOutcome::AlreadySettled),
        };
        order.observe_marketplace_update(current.updated_at);
        match ports.orders.update_order(&order).await {
            Ok(()) => {
                tracing::info!(order = %key, outcome = ?outcome, "order status updated");
                return Ok(outcome);
            }
            // A concurrent check (repeated message) got there first; re-read and decide again.
            Err(StoreError::Conflict { .. }) => {
                order = ports
                    .orders
                    .get_order(&key)
                    .await?
                    .ok_or_else(|| StatusError::OrderNotStored(key.clone()))?;
            }
            Err(error) => return Err(error.into()),
        }
    }
    Err(StoreError::Conflict { what: format!("order {key}") }.into())
}

async fn requeue(ports: &Ports, check: &StatusCheck) -> Result<StatusOutcome, StatusError> {
    let delay = ports.settings.recheck_delay(check.attempt);
    let next = StatusCheck { attempt: check.attempt.saturating_add(1), ..check.clone() };
    ports.status_queue.enqueue(&next, delay).await?;
    tracing::info!(
        account = %check.account_id,
        order = %check.marketplace_order_id,
        attempt = next.attempt,
        delay_secs = delay.as_secs(),
        "order still pending; checking again later"
    );
    Ok(StatusOutcome::StillPending)
}
