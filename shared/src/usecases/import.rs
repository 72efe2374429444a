//! Import: fetch every new or changed order of each account and store it as a sales order,
//! exactly once, advancing the account's position only after the orders up to it are stored.

use super::changes::{self, StoreChangeError, Stored};
use super::{decisions, select_accounts, SelectError};
use crate::domain::{Applied, ChangeError, MarketplaceAccount, OrderChange, OrderStatus};
use crate::ports::{
    MarketplaceClient, MarketplaceError, Metric, Ports, QueueError, RejectedOrder, StatusCheck, StoreError,
};
use crate::Deadline;
use serde::Serialize;
use std::collections::HashSet;

#[derive(Debug, Clone, Default)]
pub struct ImportRequest {
    /// None: every enabled account.
    pub accounts: Option<Vec<crate::domain::AccountId>>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct AccountImport {
    pub account_id: String,
    /// New sales orders, by the status they were stored with.
    pub created_pending: u32,
    pub created_deliverable: u32,
    pub created_cancelled: u32,
    /// Stored orders whose marketplace data changed.
    pub updated: u32,
    /// Of those, orders the marketplace released (Pending → Deliverable) or cancelled.
    pub released: u32,
    pub cancelled: u32,
    /// Orders seen again with nothing newer (overlap between windows, repeated runs).
    pub unchanged: u32,
    pub rejected: u32,
    /// Orders rejected by an earlier run and stored successfully now.
    pub rejections_resolved: u32,
    pub status_checks_queued: u32,
    /// Changes about orders not stored yet, left unacknowledged for the marketplace to
    /// deliver again once the order is there.
    pub deferred: u32,
    /// Changes about orders this account rejected: not applied, but kept (the delivery's raw
    /// copy) and acknowledged, so that they do not come back forever; `orderbridge accounts
    /// replay` applies them once the order can be read.
    pub kept_for_rejected_orders: u32,
    /// Deliveries acknowledged at the marketplace (event feeds).
    pub acknowledged: u32,
    /// Decisions (accept an order, a cancellation request) the account's policy answered.
    pub decisions_answered: u32,
    /// False when the run stopped early (time, quota, error, another run); the next run continues.
    pub caught_up: bool,
    /// The run stopped because the account's marketplace quota was used up.
    pub throttled: bool,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ImportReport {
    pub accounts: Vec<AccountImport>,
}

impl ImportReport {
    pub fn failed_accounts(&self) -> Vec<&str> {
        self.accounts.iter().filter(|a| a.error.is_some()).map(|a| a.account_id.as_str()).collect()
    }
}

#[derive(Debug, thiserror::Error)]
enum AccountImportError {
    #[error(transparent)]
    Marketplace(#[from] MarketplaceError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

/// Imports the requested accounts one after another; a failing account does not stop the others.
pub async fn run(
    ports: &Ports,
    request: &ImportRequest,
    deadline: Deadline,
) -> Result<ImportReport, SelectError> {
    let accounts = select_accounts(ports, request.accounts.as_deref()).await?;
    let mut report = ImportReport::default();
    for account in accounts {
        let mut summary = AccountImport { account_id: account.id.to_string(), ..Default::default() };
        if deadline.is_near() {
            summary.error = Some("not started: invocation time ran out".into());
        } else if let Err(error) = import_account(ports, &account, deadline, &mut summary).await {
            tracing::error!(account = %account.id, %error, "import of account failed");
            summary.error = Some(error.to_string());
        }
        let created = summary.created_pending + summary.created_deliverable + summary.created_cancelled;
        ports.metrics.record(account.marketplace(), &account.id, Metric::OrdersImported, f64::from(created));
        ports.metrics.record(
            account.marketplace(),
            &account.id,
            Metric::OrdersRejected,
            f64::from(summary.rejected),
        );
        tracing::info!(
            account = %account.id,
            created_pending = summary.created_pending,
            created_deliverable = summary.created_deliverable,
            created_cancelled = summary.created_cancelled,
            updated = summary.updated,
            released = summary.released,
            cancelled = summary.cancelled,
            deferred = summary.deferred,
            kept_for_rejected_orders = summary.kept_for_rejected_orders,
            acknowledged = summary.acknowledged,
            unchanged = summary.unchanged,
            rejected = summary.rejected,
            status_checks_queued = summary.status_checks_queued,
            caught_up = summary.caught_up,
            "account imported"
        );
        report.accounts.push(summary);
    }
    Ok(report)
}

async fn import_account(
    ports: &Ports,
    account: &MarketplaceAccount,
    deadline: Deadline,
    summary: &mut AccountImport,
) -> Result<(), AccountImportError> {
    let client = ports.marketplaces.connect(account).await?;
    let mut position = ports.accounts.load_position(&account.id).await?;
    // Kept deliveries hold buyer data: the store drops them after the buyer-data retention.
    let retention =
        chrono::Duration::from_std(ports.settings.buyer_data_retention).unwrap_or(chrono::Duration::days(30));
    // Read once per run, so clearing a rejection costs nothing for the orders that had none.
    let mut open_rejections: HashSet<String> = ports
        .orders
        .rejections(&account.id, false)
        .await?
        .into_iter()
        .filter_map(|r| r.marketplace_order_id)
        .collect();
    loop {
        if deadline.is_near() {
            tracing::warn!(account = %account.id, "stopping import early: invocation time is running out");
            return Ok(());
        }
        let batch = match client.fetch_changes(position.as_ref(), deadline).await {
            Ok(batch) => batch,
            // The account's quota is used up for now (paced or answered 429): not a failure.
            // Everything up to the position is stored; the next run goes on from there.
            Err(MarketplaceError::Throttled { retry_after, .. }) => {
                tracing::warn!(account = %account.id, retry_after_secs = retry_after.as_secs(), "marketplace quota used up; the next run continues");
                ports.metrics.record(account.marketplace(), &account.id, Metric::MarketplaceThrottles, 1.0);
                summary.throttled = true;
                return Ok(());
            }
            Err(error) => return Err(error.into()),
        };
        let made_progress = !batch.deliveries.is_empty() || batch.next_position.is_some();
        let mut receipts = Vec::new();
        for delivery in batch.deliveries {
            if let Some(raw) = &delivery.raw {
                // Kept before its changes are applied: whatever is acknowledged can be replayed.
                ports.orders.keep_delivery(&account.id, raw, ports.clock.now() + retention).await?;
            }
            let stored = store_delivery(
                ports,
                account,
                client.as_ref(),
                delivery.content,
                &mut open_rejections,
                summary,
                deadline,
            )
            .await?;
            if stored {
                receipts.extend(delivery.receipt);
            }
        }
        if let Some(next) = &batch.next_position {
            match ports.accounts.save_position(&account.id, position.as_ref(), next).await {
                Ok(()) => {}
                Err(StoreError::Conflict { .. }) => {
                    // Another run moved this account on while we worked: it owns the cursor
                    // now, and everything we stored is idempotent, so leave the rest to it.
                    tracing::warn!(account = %account.id, "another import run advanced this account; stopping");
                    return Ok(());
                }
                Err(error) => return Err(error.into()),
            }
        }
        // Only now, with every change of these deliveries stored: an acknowledged delivery
        // is gone from the marketplace's feed.
        if !receipts.is_empty() {
            client.acknowledge(&receipts, deadline).await?;
            summary.acknowledged += receipts.len() as u32;
        }
        if let Some(until) = batch.imported_until {
            let lag = (ports.clock.now() - until).num_seconds().max(0) as f64;
            ports.metrics.record(account.marketplace(), &account.id, Metric::ImportLagSeconds, lag);
        }
        if batch.next_position.is_some() {
            position = batch.next_position;
        }
        if !batch.more {
            summary.caught_up = true;
            return Ok(());
        }
        if !made_progress {
            // The marketplace has more but gave nothing this invocation can finish (SCX: too
            // little time left to store and acknowledge a batch): the next run goes on.
            tracing::warn!(account = %account.id, "stopping import early: nothing more can be finished in this invocation");
            return Ok(());
        }
    }
}

/// Stores one delivery's changes, or records why it could not be read. False when a change
/// must wait for a later delivery (an event about an order not stored yet): the delivery is
/// then not acknowledged, and the marketplace delivers it again.
async fn store_delivery(
    ports: &Ports,
    account: &MarketplaceAccount,
    client: &dyn MarketplaceClient,
    content: Result<Vec<OrderChange>, RejectedOrder>,
    open_rejections: &mut HashSet<String>,
    summary: &mut AccountImport,
    deadline: Deadline,
) -> Result<bool, AccountImportError> {
    let changes = match content {
        Ok(changes) => changes,
        Err(rejected) => {
            reject(ports, account, rejected, open_rejections, summary).await?;
            return Ok(true);
        }
    };
    for change in &changes {
        let check = StatusCheck::new(account.id.clone(), change.order_id.clone());
        let polled = client.reads_orders().then_some(&check);
        let stored = match changes::store_change(ports, account, change, polled).await {
            Ok(stored) => stored,
            Err(StoreChangeError::Change(ChangeError::OrderNotYetKnown { .. }))
                if open_rejections.contains(change.order_id.as_str()) =>
            {
                // The order itself could not be read; it will not arrive by waiting.
                tracing::warn!(account = %account.id, order = %change.order_id, change = change.kind.name(), "change for a rejected order; kept for replay");
                summary.kept_for_rejected_orders += 1;
                continue;
            }
            Err(StoreChangeError::Change(ChangeError::OrderNotYetKnown { .. })) => {
                tracing::info!(account = %account.id, order = %change.order_id, change = change.kind.name(), "change for an order not stored yet; left for redelivery");
                summary.deferred += 1;
                return Ok(false);
            }
            Err(StoreChangeError::Change(ChangeError::Transition(error))) => {
                let rejected = RejectedOrder {
                    account_id: account.id.clone(),
                    marketplace_order_id: Some(change.order_id.to_string()),
                    reason: format!("{} refused: {error}", change.kind.name()),
                    raw_excerpt: String::new(),
                    rejected_at: ports.clock.now(),
                    resolved_at: None,
                };
                reject(ports, account, rejected, open_rejections, summary).await?;
                continue;
            }
            Err(StoreChangeError::Store(error)) => return Err(error.into()),
            Err(StoreChangeError::Queue(error)) => return Err(error.into()),
        };
        count(ports, account, &stored, summary);
        let order = stored.order();
        let changed = !matches!(stored, Stored::Applied(Applied::Unchanged, _));
        if order.status() == OrderStatus::Pending && polled.is_some() {
            match stored {
                // Queued before the insert (see `store_change`).
                Stored::Created(_) => summary.status_checks_queued += 1,
                // Still Pending after a change (released without address, say): looked at
                // again by the status function, or, should this run die first, by the sweep.
                Stored::Applied(..) if changed => {
                    ports.status_queue.enqueue(&check, ports.settings.first_status_check_delay).await?;
                    summary.status_checks_queued += 1;
                }
                Stored::Applied(..) => {}
            }
        }
        if changed && order.open_decisions().next().is_some() {
            summary.decisions_answered +=
                decisions::answer_by_policy(ports, account, client, order, deadline).await;
        }
        if open_rejections.remove(change.order_id.as_str()) {
            ports.orders.resolve_rejection(&account.id, change.order_id.as_str(), ports.clock.now()).await?;
            tracing::info!(account = %account.id, order = %change.order_id, "earlier rejection resolved");
            summary.rejections_resolved += 1;
        }
    }
    Ok(true)
}

async fn reject(
    ports: &Ports,
    account: &MarketplaceAccount,
    rejected: RejectedOrder,
    open_rejections: &mut HashSet<String>,
    summary: &mut AccountImport,
) -> Result<(), AccountImportError> {
    tracing::warn!(
        account = %account.id,
        order = rejected.marketplace_order_id.as_deref().unwrap_or("<unreadable>"),
        reason = %rejected.reason,
        "marketplace order rejected"
    );
    ports.orders.record_rejection(&rejected).await?;
    open_rejections.extend(rejected.marketplace_order_id);
    summary.rejected += 1;
    Ok(())
}

fn count(ports: &Ports, account: &MarketplaceAccount, stored: &Stored, summary: &mut AccountImport) {
    match stored {
        Stored::Created(order) => {
            tracing::info!(order = %order.key, status = %order.status(), "sales order created");
            match order.status() {
                OrderStatus::Pending => summary.created_pending += 1,
                OrderStatus::Cancelled => summary.created_cancelled += 1,
                _ => summary.created_deliverable += 1,
            }
        }
        Stored::Applied(Applied::Unchanged, _) => summary.unchanged += 1,
        Stored::Applied(applied, order) => {
            tracing::info!(order = %order.key, status = %order.status(), "sales order updated");
            summary.updated += 1;
            if applied.released() {
                summary.released += 1;
                ports.metrics.record(account.marketplace(), &account.id, Metric::OrdersReleased, 1.0);
            }
            if applied.cancelled() {
                summary.cancelled += 1;
                ports.metrics.record(account.marketplace(), &account.id, Metric::OrdersCancelled, 1.0);
            }
        }
    }
}
