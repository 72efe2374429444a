//! Housekeeping, on a schedule: the sweep that looks at long-pending orders (so no chain of
//! status checks has to keep itself alive), the gauges an operator watches (pending orders and
//! the oldest one's age, per account), and the erasure of buyer data past its retention.

use super::decisions;
use super::status::MAX_EARLY_RECHECKS;
use crate::domain::{AccountId, DecisionPolicy, Marketplace, MarketplaceAccount, OrderStatus};
use crate::ports::{Metric, Ports, QueueError, StatusCheck, StoreError};
use crate::Deadline;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum HousekeepingError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct HousekeepingReport {
    pub pending_orders: u32,
    /// Long-pending orders sent to the status function for one check each.
    pub pending_checks_queued: u32,
    pub buyer_data_erased: u32,
    /// Raw deliveries kept for replay (SCX events) of those orders, deleted with their buyer
    /// data.
    pub kept_deliveries_erased: u32,
    /// Decisions waiting for the seller after this run (see `orderbridge decisions list`).
    pub open_decisions: u32,
    /// Open decisions of accounts that accept automatically, answered by this run (their
    /// first automatic answer at import failed).
    pub decisions_answered: u32,
    /// False when the invocation's time ran out; the next run goes on.
    pub finished: bool,
}

const PAGE: u32 = 200;
const ERASE_PER_RUN: u32 = 1000;
const CONFLICT_RETRIES: usize = 5;

pub async fn run(ports: &Ports, deadline: Deadline) -> Result<HousekeepingReport, HousekeepingError> {
    let mut report = HousekeepingReport::default();
    let now = ports.clock.now();
    let accounts: Vec<_> = ports.accounts.list_accounts().await?.into_iter().filter(|a| a.enabled).collect();
    if !sweep_pending(ports, &accounts, now, deadline, &mut report).await? {
        return Ok(report);
    }
    open_decisions(ports, &accounts, deadline, &mut report).await?;
    report.finished = erase_expired_buyer_data(ports, now, deadline, &mut report).await?;
    tracing::info!(
        pending_orders = report.pending_orders,
        pending_checks_queued = report.pending_checks_queued,
        buyer_data_erased = report.buyer_data_erased,
        kept_deliveries_erased = report.kept_deliveries_erased,
        open_decisions = report.open_decisions,
        finished = report.finished,
        "housekeeping done"
    );
    Ok(report)
}

/// Pages through the Pending orders (oldest first): counts them per account for the gauges and
/// queues one status check for each that has waited longer than the sweep threshold. The check
/// has its early re-checks used up, so it looks once and starts no chain.
async fn sweep_pending(
    ports: &Ports,
    accounts: &[MarketplaceAccount],
    now: DateTime<Utc>,
    deadline: Deadline,
    report: &mut HousekeepingReport,
) -> Result<bool, HousekeepingError> {
    let sweep_before =
        now - chrono::Duration::from_std(ports.settings.pending_sweep_after).unwrap_or_default();
    let mut per_account: BTreeMap<(Marketplace, AccountId), (u32, DateTime<Utc>)> = BTreeMap::new();
    // Only a marketplace with an order query can be asked about an order; an event feed
    // (SCX) brings its changes to the import by itself. An account whose client cannot be
    // built is asked anyway: the status function then reports why.
    let mut polled = std::collections::BTreeSet::new();
    for account in accounts {
        if ports.marketplaces.connect(account).await.map_or(true, |client| client.reads_orders()) {
            polled.insert(account.id.clone());
        }
        per_account.insert((account.marketplace(), account.id.clone()), (0, now));
    }
    let mut start = None;
    loop {
        if deadline.is_near() {
            return Ok(false);
        }
        let page = ports.orders.orders_by_status(OrderStatus::Pending, PAGE, start).await?;
        for order in page.items {
            report.pending_orders += 1;
            let entry =
                per_account.entry((order.key.marketplace, order.key.account_id.clone())).or_insert((0, now));
            entry.0 += 1;
            entry.1 = entry.1.min(order.created_at);
            if order.created_at < sweep_before && polled.contains(&order.key.account_id) {
                let check = StatusCheck {
                    attempt: MAX_EARLY_RECHECKS,
                    ..StatusCheck::new(order.key.account_id.clone(), order.key.marketplace_order_id.clone())
                };
                ports.status_queue.enqueue(&check, Duration::ZERO).await?;
                report.pending_checks_queued += 1;
            }
        }
        match page.next {
            Some(next) => start = Some(next),
            None => break,
        }
    }
    for ((marketplace, account), (count, oldest)) in per_account {
        ports.metrics.record(marketplace, &account, Metric::PendingOrders, f64::from(count));
        let age = (now - oldest).num_seconds().max(0) as f64;
        ports.metrics.record(marketplace, &account, Metric::OldestPendingAgeSeconds, age);
    }
    Ok(true)
}

/// Counts the open decisions per account for the gauge, answering those of accounts that
/// accept automatically (an answer that failed at import is tried again here).
async fn open_decisions(
    ports: &Ports,
    accounts: &[MarketplaceAccount],
    deadline: Deadline,
    report: &mut HousekeepingReport,
) -> Result<(), HousekeepingError> {
    let orders = decisions::orders_with_open_decisions(ports, None).await?;
    for account in accounts {
        let mine: Vec<_> = orders.iter().filter(|o| o.key.account_id == account.id).collect();
        let mut still_open = mine.iter().map(|o| o.open_decisions().count() as u32).sum::<u32>();
        if account.decision_policy() == DecisionPolicy::AcceptAutomatically
            && !mine.is_empty()
            && !deadline.is_near()
        {
            if let Ok(client) = ports.marketplaces.connect(account).await {
                for order in mine {
                    let answered =
                        decisions::answer_by_policy(ports, account, client.as_ref(), order, deadline).await;
                    report.decisions_answered += answered;
                    still_open = still_open.saturating_sub(answered);
                }
            }
        }
        report.open_decisions += still_open;
        ports.metrics.record(
            account.marketplace(),
            &account.id,
            Metric::OpenDecisions,
            f64::from(still_open),
        );
    }
    Ok(())
}

/// Erases the buyer data of orders that settled (Shipped or Cancelled) longer ago than the
/// retention, each noted in the order's history.
async fn erase_expired_buyer_data(
    ports: &Ports,
    now: DateTime<Utc>,
    deadline: Deadline,
    report: &mut HousekeepingReport,
) -> Result<bool, HousekeepingError> {
    let cutoff = now - chrono::Duration::from_std(ports.settings.buyer_data_retention).unwrap_or_default();
    for mut order in ports.orders.orders_holding_buyer_data(cutoff, ERASE_PER_RUN).await? {
        if deadline.is_near() {
            return Ok(false);
        }
        // The raw deliveries kept for replay hold the same buyer data. Deleted first: should
        // the order's erasure fail, the next run finds the order again and repeats both.
        report.kept_deliveries_erased += ports
            .orders
            .forget_deliveries(&order.key.account_id, order.key.marketplace_order_id.as_str())
            .await?;
        for _ in 0..CONFLICT_RETRIES {
            if !order.erase_buyer_data(now).unwrap_or(false) {
                break;
            }
            match ports.orders.update_order(&order).await {
                Ok(()) => {
                    tracing::info!(order = %order.key, "buyer data erased after the retention period");
                    ports.metrics.record(
                        order.key.marketplace,
                        &order.key.account_id,
                        Metric::BuyerDataErased,
                        1.0,
                    );
                    report.buyer_data_erased += 1;
                    break;
                }
                // Changed meanwhile: read it again and decide again.
                Err(StoreError::Conflict { .. }) => match ports.orders.get_order(&order.key).await? {
                    Some(fresh) => order = fresh,
                    None => break,
                },
                Err(error) => return Err(error.into()),
            }
        }
    }
    Ok(true)
}
