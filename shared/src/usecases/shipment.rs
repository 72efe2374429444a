//! Shipment confirmation: record the packages a merchant shipped, then report each one to the
//! marketplace exactly once and mark the order Shipped or PartiallyShipped.

use super::{select_accounts, SelectError};
use crate::domain::{
    AccountId, MarketplaceOrderId, OrderKey, Package, SalesOrder, ShipmentRequest, TransitionError,
};
use crate::ports::{MarketplaceClient, Ports, Retryable, StoreError};
use crate::Deadline;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum ShipmentError {
    #[error(transparent)]
    Select(#[from] SelectError),
    #[error("order {0} is not stored")]
    UnknownOrder(OrderKey),
    #[error("shipment refused: {0}")]
    Refused(#[from] TransitionError),
    #[error("shipment for order {order}: {reason}")]
    Invalid { order: OrderKey, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

const CONFLICT_RETRIES: usize = 5;

#[derive(Debug, Clone, Serialize)]
pub struct RecordedPackage {
    pub order: String,
    pub package_id: u32,
    /// False when the same carrier + tracking id was already recorded for this order.
    pub newly_recorded: bool,
}

/// Records one shipped package against a Deliverable (or partially shipped) order. Recording the
/// same carrier + tracking id again returns the package already recorded.
pub async fn record(
    ports: &Ports,
    account_id: &AccountId,
    order_id: &MarketplaceOrderId,
    request: &ShipmentRequest,
) -> Result<RecordedPackage, ShipmentError> {
    let account = ports
        .accounts
        .get_account(account_id)
        .await?
        .ok_or_else(|| SelectError::UnknownAccount(account_id.clone()))?;
    let key = OrderKey::new(account.marketplace(), account.id.clone(), order_id.clone());
    for field in [("carrier", &request.carrier), ("tracking_id", &request.tracking_id)] {
        if field.1.trim().is_empty() || field.1.len() > 100 {
            return Err(ShipmentError::Invalid {
                order: key,
                reason: format!("{} must be 1 to 100 characters", field.0),
            });
        }
    }
    for _ in 0..CONFLICT_RETRIES {
        let mut order =
            ports.orders.get_order(&key).await?.ok_or_else(|| ShipmentError::UnknownOrder(key.clone()))?;
        let existing = ports.orders.packages(&key).await?;
        if let Some(same) = existing
            .iter()
            .find(|p| p.carrier == request.carrier.trim() && p.tracking_id == request.tracking_id.trim())
        {
            return Ok(RecordedPackage {
                order: key.to_string(),
                package_id: same.id.number(),
                newly_recorded: false,
            });
        }
        let package = order.record_package(request, ports.clock.now())?;
        match ports.orders.record_package(&order, &package).await {
            Ok(()) => {
                tracing::info!(order = %key, package = %package.id, "package recorded");
                return Ok(RecordedPackage {
                    order: key.to_string(),
                    package_id: package.id.number(),
                    newly_recorded: true,
                });
            }
            Err(StoreError::Conflict { .. } | StoreError::AlreadyExists { .. }) => continue,
            Err(error) => return Err(error.into()),
        }
    }
    Err(StoreError::Conflict { what: format!("order {key}") }.into())
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ShipmentReport {
    pub reported: u32,
    /// Failed this time, retried at the next run.
    pub retry_later: u32,
    /// Refused by the marketplace for good; listed for the operator.
    pub failed: u32,
    /// Left for the next run because the invocation's time ran out.
    pub deferred: u32,
    pub errors: Vec<String>,
}

/// Reports every recorded, unreported package (of the selected accounts) to its marketplace.
pub async fn report(
    ports: &Ports,
    accounts: Option<&[AccountId]>,
    deadline: Deadline,
) -> Result<ShipmentReport, ShipmentError> {
    let selected = select_accounts(ports, accounts).await?;
    let mut clients: HashMap<AccountId, Arc<dyn MarketplaceClient>> = HashMap::new();
    let mut report = ShipmentReport::default();
    let packages = ports.orders.unreported_packages(UNREPORTED_PER_RUN).await?;
    for package in packages {
        let Some(account) = selected.iter().find(|a| a.id == package.order.account_id) else {
            continue;
        };
        if deadline.is_near() {
            report.deferred += 1;
            continue;
        }
        let client = match clients.get(&account.id) {
            Some(client) => client.clone(),
            None => match ports.marketplaces.connect(account).await {
                Ok(client) => clients.entry(account.id.clone()).or_insert(client).clone(),
                Err(error) => {
                    report.retry_later += 1;
                    report.errors.push(error.to_string());
                    continue;
                }
            },
        };
        if let Err(error) = report_package(ports, client.as_ref(), package, deadline, &mut report).await {
            tracing::error!(%error, "could not save a package's report state");
            report.errors.push(error.to_string());
        }
    }
    tracing::info!(
        reported = report.reported,
        retry_later = report.retry_later,
        failed = report.failed,
        deferred = report.deferred,
        "shipment run finished"
    );
    Ok(report)
}

const UNREPORTED_PER_RUN: u32 = 1000;

async fn report_package(
    ports: &Ports,
    client: &dyn MarketplaceClient,
    mut package: Package,
    deadline: Deadline,
    report: &mut ShipmentReport,
) -> Result<(), ShipmentError> {
    let key = package.order.clone();
    let order =
        ports.orders.get_order(&key).await?.ok_or_else(|| ShipmentError::UnknownOrder(key.clone()))?;
    match client.confirm_shipment(&order, &package, deadline).await {
        Ok(()) => {
            package.mark_reported(ports.clock.now());
            save_confirmed(ports, &package, order).await?;
            report.reported += 1;
            tracing::info!(order = %key, package = %package.id, "shipment confirmed to marketplace");
        }
        Err(error) if error.is_retryable() => {
            tracing::warn!(order = %key, package = %package.id, %error, "shipment confirmation failed; will retry");
            report.retry_later += 1;
            report.errors.push(error.to_string());
            package.note_failed_attempt(error.to_string());
            settle_package(ports, &package).await?;
        }
        Err(error) => {
            tracing::error!(order = %key, package = %package.id, %error, "marketplace refused shipment confirmation");
            report.failed += 1;
            report.errors.push(error.to_string());
            package.mark_failed(error.to_string(), ports.clock.now());
            settle_package(ports, &package).await?;
        }
    }
    Ok(())
}

/// Saves the reported package together with the order's new shipped state; a concurrent change
/// to the order (e.g. another package recorded) means re-reading it and applying again.
async fn save_confirmed(
    ports: &Ports,
    package: &Package,
    mut order: SalesOrder,
) -> Result<(), ShipmentError> {
    for _ in 0..CONFLICT_RETRIES {
        match order.confirm_package(package) {
            Ok(()) => match ports.orders.update_package(package, Some(&order)).await {
                Ok(()) => return Ok(()),
                // Another run saved this package's report first; nothing left to do.
                Err(StoreError::NotInExpectedState { .. }) => return Ok(()),
                Err(StoreError::Conflict { .. }) => {}
                Err(error) => return Err(error.into()),
            },
            // The marketplace accepted it, so the package is reported whatever the order's
            // state says now (e.g. cancelled meanwhile); keep the order as it is.
            Err(_) => return settle_package(ports, package).await,
        }
        order = ports
            .orders
            .get_order(&package.order)
            .await?
            .ok_or_else(|| ShipmentError::UnknownOrder(package.order.clone()))?;
    }
    Err(StoreError::Conflict { what: format!("order {}", package.order) }.into())
}

/// Saves a package's report state alone; if another run already settled it, theirs stands.
async fn settle_package(ports: &Ports, package: &Package) -> Result<(), ShipmentError> {
    match ports.orders.update_package(package, None).await {
        Ok(()) | Err(StoreError::NotInExpectedState { .. }) => Ok(()),
        Err(error) => Err(error.into()),
    }
}
