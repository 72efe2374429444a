//! Import: fetch every new or changed order of each account and store it as a sales order,
//! exactly once, advancing the account's position only after the orders up to it are stored.

use super::{select_accounts, SelectError};
use crate::domain::{MarketplaceAccount, MarketplaceOrder, MarketplaceOrderState, OrderStatus, SalesOrder};
use crate::ports::{MarketplaceError, Metric, Ports, QueueError, StatusCheck, StoreError};
use crate::Deadline;
use serde::Serialize;
use std::collections::HashSet;
use std::time::Duration;

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
    /// Orders seen again with nothing newer (overlap between windows, repeated runs).
    pub unchanged: u32,
    pub rejected: u32,
    /// Orders rejected by an earlier run and stored successfully now.
    pub rejections_resolved: u32,
    pub status_checks_queued: u32,
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
        for rejected in &batch.rejected {
            tracing::warn!(
                account = %account.id,
                order = rejected.marketplace_order_id.as_deref().unwrap_or("<unreadable>"),
                reason = %rejected.reason,
                "marketplace order rejected"
            );
            ports.orders.record_rejection(rejected).await?;
            open_rejections.extend(rejected.marketplace_order_id.clone());
            summary.rejected += 1;
        }
        for order in &batch.orders {
            store_change(ports, account, order, summary).await?;
            if open_rejections.remove(order.id.as_str()) {
                ports.orders.resolve_rejection(&account.id, order.id.as_str(), ports.clock.now()).await?;
                tracing::info!(account = %account.id, order = %order.id, "earlier rejection resolved");
                summary.rejections_resolved += 1;
            }
        }
        match ports.accounts.save_position(&account.id, position.as_ref(), &batch.next_position).await {
            Ok(()) => {}
            Err(StoreError::Conflict { .. }) => {
                // Another run moved this account on while we worked: it owns the cursor now, and
                // everything we stored is idempotent, so leave the rest to it.
                tracing::warn!(account = %account.id, "another import run advanced this account; stopping");
                return Ok(());
            }
            Err(error) => return Err(error.into()),
        }
        client.acknowledge(&batch.next_position).await?;
        if let Some(until) = batch.imported_until {
            let lag = (ports.clock.now() - until).num_seconds().max(0) as f64;
            ports.metrics.record(account.marketplace(), &account.id, Metric::ImportLagSeconds, lag);
        }
        position = Some(batch.next_position);
        if !batch.more {
            summary.caught_up = true;
            return Ok(());
        }
    }
}

/// Stores one marketplace order: creates it once, or applies newer marketplace data to the
/// stored one, queueing a status check when the marketplace released or cancelled it.
async fn store_change(
    ports: &Ports,
    account: &MarketplaceAccount,
    order: &MarketplaceOrder,
    summary: &mut AccountImport,
) -> Result<(), AccountImportError> {
    let fresh =
        SalesOrder::from_marketplace(account.marketplace(), account.id.clone(), order, ports.clock.now());
    let check = StatusCheck::new(account.id.clone(), order.id.clone());
    let mut latest = ports.orders.get_order(&fresh.key).await?;
    if latest.is_none() {
        if fresh.status() == OrderStatus::Pending {
            // Queued before the insert: a crash between the two leaves a harmless extra
            // check, never a Pending order that nobody looks at again.
            ports.status_queue.enqueue(&check, ports.settings.first_status_check_delay).await?;
            summary.status_checks_queued += 1;
        }
        match ports.orders.insert_order(&fresh).await {
            Ok(()) => {
                tracing::info!(order = %fresh.key, status = %fresh.status(), "sales order created");
                match fresh.status() {
                    OrderStatus::Pending => summary.created_pending += 1,
                    OrderStatus::Cancelled => summary.created_cancelled += 1,
                    _ => summary.created_deliverable += 1,
                }
                return Ok(());
            }
            // A concurrent run created it first: treat it as a stored order below.
            Err(StoreError::AlreadyExists { .. }) => latest = ports.orders.get_order(&fresh.key).await?,
            Err(error) => return Err(error.into()),
        }
    }
    for _ in 0..CONFLICT_RETRIES {
        let Some(mut stored) = latest.take() else {
            return Err(StoreError::Conflict { what: format!("order {}", fresh.key) }.into());
        };
        if !stored.observe_marketplace_update(order.updated_at) {
            summary.unchanged += 1;
            return Ok(());
        }
        if needs_status_check(stored.status(), order.state) {
            ports.status_queue.enqueue(&check, Duration::ZERO).await?;
            summary.status_checks_queued += 1;
        }
        match ports.orders.update_order(&stored).await {
            Ok(()) => {
                summary.updated += 1;
                return Ok(());
            }
            // Changed meanwhile (a status check, another run): re-read and decide again.
            Err(StoreError::Conflict { .. }) => latest = ports.orders.get_order(&fresh.key).await?,
            Err(error) => return Err(error.into()),
        }
    }
    Err(StoreError::Conflict { what: format!("order {}", fresh.key) }.into())
}

const CONFLICT_RETRIES: usize = 5;

/// A stored order needs the status function when the marketplace now says something the stored
/// status doesn't reflect yet: released or cancelled while Pending, cancelled while Deliverable.
fn needs_status_check(stored: OrderStatus, reported: MarketplaceOrderState) -> bool {
    match stored {
        OrderStatus::Pending => reported != MarketplaceOrderState::Pending,
        OrderStatus::Deliverable => reported == MarketplaceOrderState::Cancelled,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_released_or_cancelled_changes_need_a_status_check() {
        use MarketplaceOrderState as M;
        assert!(needs_status_check(OrderStatus::Pending, M::Released));
        assert!(needs_status_check(OrderStatus::Pending, M::Cancelled));
        assert!(!needs_status_check(OrderStatus::Pending, M::Pending));
        assert!(needs_status_check(OrderStatus::Deliverable, M::Cancelled));
        assert!(!needs_status_check(OrderStatus::Deliverable, M::Released));
        assert!(!needs_status_check(OrderStatus::Shipped, M::Cancelled));
        assert!(!needs_status_check(OrderStatus::Cancelled, M::Released));
    }
}
