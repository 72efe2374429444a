//! Replay: applies an account's kept deliveries again, oldest first. A marketplace without an
//! order query (SCX) can't be asked for an order's past; its events, kept under the buyer-data
//! retention, are the backfill. Applying is idempotent, so a replay changes only what is
//! missing (an order deleted by mistake, a change lost to a bug fixed since).

use super::changes::{store_change, StoreChangeError, Stored};
use crate::domain::{AccountId, Applied, ChangeError};
use crate::ports::{MarketplaceError, Ports, StoreError};
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("no marketplace account {0:?} is configured")]
    UnknownAccount(AccountId),
    #[error(
        "account {0}: its marketplace keeps no deliveries to replay; its orders are read again by the import"
    )]
    NothingKept(AccountId),
    #[error(transparent)]
    Marketplace(#[from] MarketplaceError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ReplayReport {
    pub deliveries: u32,
    pub orders_created: u32,
    pub changes_applied: u32,
    pub changes_unchanged: u32,
    /// Deliveries or changes that could not be read or applied; each is named in the log.
    pub refused: u32,
    /// Orders rejected by the import that the replay stored.
    pub rejections_resolved: u32,
}

/// Replays the account's kept deliveries (of one order, or all).
pub async fn replay(
    ports: &Ports,
    account_id: &AccountId,
    marketplace_order_id: Option<&str>,
) -> Result<ReplayReport, ReplayError> {
    let account = ports
        .accounts
        .get_account(account_id)
        .await?
        .ok_or_else(|| ReplayError::UnknownAccount(account_id.clone()))?;
    let client = ports.marketplaces.connect(&account).await?;
    let mut report = ReplayReport::default();
    let mut stored_orders = std::collections::BTreeSet::new();
    for raw in ports.orders.kept_deliveries(account_id, marketplace_order_id).await? {
        report.deliveries += 1;
        let changes = match client.reread_delivery(&raw) {
            None => return Err(ReplayError::NothingKept(account_id.clone())),
            Some(Ok(changes)) => changes,
            Some(Err(rejected)) => {
                tracing::warn!(account = %account_id, delivery = %raw.id, reason = %rejected.reason, "kept delivery unreadable");
                report.refused += 1;
                continue;
            }
        };
        for change in &changes {
            match store_change(ports, &account, change, None).await {
                Ok(stored) => {
                    match stored {
                        Stored::Created(_) => report.orders_created += 1,
                        Stored::Applied(Applied::Unchanged, _) => report.changes_unchanged += 1,
                        Stored::Applied(..) => report.changes_applied += 1,
                    }
                    stored_orders.insert(change.order_id.to_string());
                }
                Err(StoreChangeError::Store(e)) => return Err(e.into()),
                // Nothing is queued without a check to queue.
                Err(StoreChangeError::Queue(e)) => {
                    return Err(
                        StoreError::Failed { operation: "status queue", message: e.to_string() }.into()
                    )
                }
                Err(StoreChangeError::Change(
                    error @ (ChangeError::OrderNotYetKnown { .. } | ChangeError::Transition(_)),
                )) => {
                    tracing::warn!(account = %account_id, delivery = %raw.id, order = %change.order_id, %error, "kept change not applied");
                    report.refused += 1;
                }
            }
        }
    }
    // An order the import rejected and the replay could now store is settled for the operator.
    for rejection in ports.orders.rejections(account_id, false).await? {
        if let Some(order) = rejection.marketplace_order_id.filter(|id| stored_orders.contains(id)) {
            ports.orders.resolve_rejection(account_id, &order, ports.clock.now()).await?;
            report.rejections_resolved += 1;
        }
    }
    tracing::info!(
        account = %account_id,
        deliveries = report.deliveries,
        orders_created = report.orders_created,
        changes_applied = report.changes_applied,
        refused = report.refused,
        "replay done"
    );
    Ok(report)
}
