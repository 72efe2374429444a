//! Pending → Deliverable: read an order's current state at the marketplace and record prices,
//! payment and customer once it is released, or cancel it. A check comes from the status queue
//! (the import noticed a change, an early re-check, the housekeeping sweep) or from the
//! marketplace's own push (Amazon's `ORDER_CHANGE`). Re-checks are bounded: no chain of checks
//! perpetuates itself; the sweep looks at long-pending orders instead.

use super::changes::{self, StoreChangeError, Stored};
use crate::domain::{
    ChangeError, MarketplaceAccount, MarketplaceOrderState, OrderKey, OrderStatus, TransitionError,
};
use crate::ports::{
    MarketplaceError, Metric, OrderChangeNotice, Ports, QueueError, Retryable, StatusCheck, StoreError,
};
use crate::Deadline;
use serde::Serialize;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum StatusOutcome {
    /// Payment released: prices, payment and customer stored, order Deliverable.
    Promoted,
    /// Still pending at the marketplace; `rechecked` when another check was queued.
    StillPending {
        rechecked: bool,
    },
    Cancelled,
    /// Not stored before (the push came before the import): stored now, with this status.
    Imported(OrderStatus),
    /// Nothing to do: the order already reflects the marketplace (repeated or late message).
    AlreadySettled,
    /// The marketplace has no order query (SCX): its orders change through the import's feed.
    LeftToFeed,
}

/// Where a check comes from; a push needs no early re-checks, the marketplace pushes again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Queue,
    Push,
}

#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error("status check for unknown account {0:?}")]
    UnknownAccount(String),
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

impl From<StoreChangeError> for StatusError {
    fn from(error: StoreChangeError) -> Self {
        match error {
            StoreChangeError::Store(e) => StatusError::Store(e),
            StoreChangeError::Queue(e) => StatusError::Queue(e),
            StoreChangeError::Change(ChangeError::Transition(e)) => StatusError::Transition(e),
            // A whole order always creates one; kept as a refusal should that ever change.
            StoreChangeError::Change(e @ ChangeError::OrderNotYetKnown { .. }) => {
                StatusError::Store(StoreError::Failed { operation: "store_change", message: e.to_string() })
            }
        }
    }
}

impl Retryable for StatusError {
    fn is_retryable(&self) -> bool {
        match self {
            StatusError::Queue(_) => true,
            StatusError::Marketplace(e) => e.is_retryable(),
            StatusError::Store(e) => e.is_retryable(),
            _ => false,
        }
    }
}

/// Early re-checks of an order still pending before the sweep takes over.
pub const MAX_EARLY_RECHECKS: u32 = 4;
/// How often the status function may send a check on to its own queue (re-checks, throttled
/// and deferred checks): well below Lambda's recursive-loop detection (about 16).
pub const MAX_HOPS: u32 = 10;

/// The account a marketplace push is about: an enabled account of that marketplace with that
/// seller id. None when the push is not for us (a disabled or removed account).
pub fn account_for<'a>(
    accounts: &'a [MarketplaceAccount],
    notice: &OrderChangeNotice,
) -> Option<&'a MarketplaceAccount> {
    accounts.iter().find(|a| {
        a.enabled && a.marketplace() == notice.marketplace && a.seller_id() == Some(notice.seller_id.as_str())
    })
}

pub async fn check(
    ports: &Ports,
    check: &StatusCheck,
    origin: Origin,
    deadline: Deadline,
) -> Result<StatusOutcome, StatusError> {
    let account = ports
        .accounts
        .get_account(&check.account_id)
        .await?
        .ok_or_else(|| StatusError::UnknownAccount(check.account_id.to_string()))?;
    let key = OrderKey::new(account.marketplace(), account.id.clone(), check.marketplace_order_id.clone());
    let stored = ports.orders.get_order(&key).await?;
    if stored.as_ref().is_some_and(|o| !matches!(o.status(), OrderStatus::Pending | OrderStatus::Deliverable))
    {
        return Ok(StatusOutcome::AlreadySettled);
    }
    let client = ports.marketplaces.connect(&account).await?;
    if !client.reads_orders() {
        // Its orders change only through its feed, which the import reads.
        return Ok(StatusOutcome::LeftToFeed);
    }
    let current = client
        .get_order(&key.marketplace_order_id, deadline)
        .await?
        .ok_or_else(|| StatusError::UnknownToMarketplace(key.clone()))?;
    let reported = current.state;
    // Pushed (or queued by an import that died) before the order was stored: it is stored
    // as the import would.
    let outcome = match changes::store_change(ports, &account, &current.into(), None).await? {
        Stored::Created(order) => {
            tracing::info!(order = %key, status = %order.status(), "sales order created from a status check");
            ports.metrics.record(account.marketplace(), &account.id, Metric::OrdersImported, 1.0);
            if order.status() == OrderStatus::Pending {
                pending(ports, &account, check, origin, reported).await?;
            }
            return Ok(StatusOutcome::Imported(order.status()));
        }
        Stored::Applied(applied, _) if applied.released() => StatusOutcome::Promoted,
        Stored::Applied(applied, _) if applied.cancelled() => StatusOutcome::Cancelled,
        Stored::Applied(_, order) if order.status() == OrderStatus::Pending => {
            // Released but prices or customer data aren't available yet: look again later.
            let origin = if reported.is_released() { Origin::Queue } else { origin };
            return pending(ports, &account, check, origin, reported).await;
        }
        Stored::Applied(..) => return Ok(StatusOutcome::AlreadySettled),
    };
    tracing::info!(order = %key, outcome = ?outcome, "order status updated");
    let metric =
        if outcome == StatusOutcome::Promoted { Metric::OrdersReleased } else { Metric::OrdersCancelled };
    ports.metrics.record(account.marketplace(), &account.id, metric, 1.0);
    Ok(outcome)
}

/// The order is still pending with us. A queued check looks again a bounded number of times, with
/// a growing delay; a push needs none (the marketplace pushes the release), and neither does
/// a check whose early re-checks are used up (the sweep looks at it).
async fn pending(
    ports: &Ports,
    account: &MarketplaceAccount,
    check: &StatusCheck,
    origin: Origin,
    reported: MarketplaceOrderState,
) -> Result<StatusOutcome, StatusError> {
    let wanted = origin == Origin::Queue || reported != MarketplaceOrderState::Pending;
    if !wanted || check.attempt >= MAX_EARLY_RECHECKS || check.hops >= MAX_HOPS {
        tracing::info!(account = %account.id, order = %check.marketplace_order_id, attempt = check.attempt, "order still pending; left to the marketplace's push and the sweep");
        return Ok(StatusOutcome::StillPending { rechecked: false });
    }
    let delay = ports.settings.recheck_delay(check.attempt);
    let next = StatusCheck { attempt: check.attempt + 1, hops: check.hops + 1, ..check.clone() };
    ports.status_queue.enqueue(&next, delay).await?;
    tracing::info!(
        account = %check.account_id,
        order = %check.marketplace_order_id,
        attempt = next.attempt,
        delay_secs = delay.as_secs(),
        "order still pending; checking again later"
    );
    Ok(StatusOutcome::StillPending { rechecked: true })
}

/// Sends `check` on to the status queue after `delay` (a throttled or deferred check), unless
/// its hops are used up. False when it wasn't sent: the caller lets the message fail instead.
pub async fn send_on(ports: &Ports, check: &StatusCheck, delay: Duration) -> Result<bool, QueueError> {
    if check.hops >= MAX_HOPS {
        return Ok(false);
    }
    let next = StatusCheck { hops: check.hops + 1, ..check.clone() };
    ports.status_queue.enqueue(&next, delay.min(MAX_QUEUE_DELAY)).await?;
    Ok(true)
}

/// SQS delays messages by at most 15 minutes.
const MAX_QUEUE_DELAY: Duration = Duration::from_secs(900);
