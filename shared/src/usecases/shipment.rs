//! Shipment confirmation: record the packages a merchant shipped, then report each one to the
//! marketplace exactly once and mark the order Shipped or PartiallyShipped.

use super::{select_accounts, SelectError};
use crate::domain::{
    AccountId, MarketplaceOrderId, OrderKey, Package, SalesOrder, ShipmentRequest, TransitionError,
};
use crate::ports::{MarketplaceClient, MarketplaceError, Metric, PackageGuard, Ports, Retryable, StoreError};
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
    /// A business refusal: the order can't take this package now.
    #[error("{0}")]
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
    /// Confirmed to the marketplace by this run.
    pub reported: u32,
    /// Failed this time, retried at the next run.
    pub retry_later: u32,
    /// Refused by the marketplace for good; listed for the operator.
    pub failed: u32,
    /// Left for the next run because the invocation's time ran out.
    pub deferred: u32,
    /// Being sent by another, overlapping run; left to it.
    pub claimed_elsewhere: u32,
    pub errors: Vec<String>,
}

const UNREPORTED_PER_RUN: u32 = 1000;

/// Reports every recorded, unreported package (of the selected accounts) to its marketplace.
/// Each package is claimed before it is sent, so overlapping runs never send the same package.
pub async fn report(
    ports: &Ports,
    accounts: Option<&[AccountId]>,
    deadline: Deadline,
) -> Result<ShipmentReport, ShipmentError> {
    let selected = select_accounts(ports, accounts).await?;
    let mut clients: HashMap<AccountId, Arc<dyn MarketplaceClient>> = HashMap::new();
    let mut report = ShipmentReport::default();
    let run = RunClaim::new(ports.clock.now());
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
        let Some(claimed) = claim(ports, &run, package).await? else {
            report.claimed_elsewhere += 1;
            continue;
        };
        if let Err(error) = report_package(ports, client.as_ref(), &run, claimed, deadline, &mut report).await
        {
            tracing::error!(%error, "could not save a package's report state");
            report.errors.push(error.to_string());
        }
    }
    tracing::info!(
        reported = report.reported,
        retry_later = report.retry_later,
        failed = report.failed,
        deferred = report.deferred,
        claimed_elsewhere = report.claimed_elsewhere,
        "shipment run finished"
    );
    Ok(report)
}

/// This run's identity on the packages it claims.
struct RunClaim {
    id: String,
}

impl RunClaim {
    fn new(now: chrono::DateTime<chrono::Utc>) -> Self {
        use std::hash::{BuildHasher, Hasher};
        // Unique enough to tell overlapping runs apart; not a secret.
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_i64(now.timestamp_nanos_opt().unwrap_or_default());
        Self { id: format!("run-{}-{:016x}", now.format("%Y%m%dT%H%M%S"), hasher.finish()) }
    }
}

/// Claims `package` for this run, for the lease in the settings. None when another run holds it
/// (or it was settled meanwhile).
async fn claim(
    ports: &Ports,
    run: &RunClaim,
    mut package: Package,
) -> Result<Option<Package>, ShipmentError> {
    let now = ports.clock.now();
    let lease =
        chrono::Duration::from_std(ports.settings.shipment_claim_lease).unwrap_or(chrono::Duration::MAX);
    if !package.claim(&run.id, now, now + lease) {
        return Ok(None);
    }
    match ports.orders.update_package(&package, None, PackageGuard::Claimable { now }).await {
        Ok(()) => Ok(Some(package)),
        Err(StoreError::NotInExpectedState { .. }) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

async fn report_package(
    ports: &Ports,
    client: &dyn MarketplaceClient,
    run: &RunClaim,
    mut package: Package,
    deadline: Deadline,
    report: &mut ShipmentReport,
) -> Result<(), ShipmentError> {
    let key = package.order.clone();
    let order =
        ports.orders.get_order(&key).await?.ok_or_else(|| ShipmentError::UnknownOrder(key.clone()))?;
    // The send (with its retries) ends within the claim's lease, so a live sender is never
    // overtaken by a run that takes the package over; a dead one's packages go out again at
    // the first run after the lease.
    let send_deadline = deadline.earlier(Deadline::after(ports.settings.shipment_claim_lease));
    match client.confirm_shipment(&order, &package, send_deadline).await {
        Ok(()) => {
            package.mark_confirmed(ports.clock.now());
            save_confirmed(ports, &package, order).await?;
            report.reported += 1;
            ports.metrics.record(key.marketplace, &key.account_id, Metric::PackagesConfirmed, 1.0);
            tracing::info!(order = %key, package = %package.id, "shipment confirmed to marketplace");
        }
        Err(error) if error.is_retryable() => {
            if let MarketplaceError::Throttled { .. } = error {
                ports.metrics.record(key.marketplace, &key.account_id, Metric::MarketplaceThrottles, 1.0);
            }
            tracing::warn!(order = %key, package = %package.id, %error, "shipment confirmation failed; will retry");
            report.retry_later += 1;
            report.errors.push(error.to_string());
            package.note_failed_attempt(error.to_string());
            settle_claimed(ports, run, &package).await?;
        }
        Err(error) => {
            tracing::error!(order = %key, package = %package.id, %error, "marketplace refused shipment confirmation");
            report.failed += 1;
            ports.metrics.record(key.marketplace, &key.account_id, Metric::PackagesRefused, 1.0);
            report.errors.push(error.to_string());
            package.mark_failed(error.to_string(), ports.clock.now());
            settle_claimed(ports, run, &package).await?;
        }
    }
    Ok(())
}

/// Saves the confirmed package together with the order's new shipped state. The marketplace's
/// acceptance wins over whatever another run stored for the package meanwhile (a Failed, a
/// claim); only an earlier Confirmed stands, and then the order already counts the package.
async fn save_confirmed(
    ports: &Ports,
    package: &Package,
    mut order: SalesOrder,
) -> Result<(), ShipmentError> {
    for _ in 0..CONFLICT_RETRIES {
        match order.confirm_package(package, ports.clock.now()) {
            Ok(()) => {
                match ports.orders.update_package(package, Some(&order), PackageGuard::NotConfirmed).await {
                    Ok(()) | Err(StoreError::NotInExpectedState { .. }) => return Ok(()),
                    Err(StoreError::Conflict { .. }) => {}
                    Err(error) => return Err(error.into()),
                }
            }
            // The marketplace accepted it, so the package is confirmed whatever the order's
            // state says now (e.g. cancelled meanwhile); keep the order as it is.
            Err(_) => {
                return match ports.orders.update_package(package, None, PackageGuard::NotConfirmed).await {
                    Ok(()) | Err(StoreError::NotInExpectedState { .. }) => Ok(()),
                    Err(error) => Err(error.into()),
                }
            }
        }
        order = ports
            .orders
            .get_order(&package.order)
            .await?
            .ok_or_else(|| ShipmentError::UnknownOrder(package.order.clone()))?;
    }
    Err(StoreError::Conflict { what: format!("order {}", package.order) }.into())
}

/// Saves a failed attempt while this run still holds the claim; if another run took the package
/// over (or confirmed it), theirs stands.
async fn settle_claimed(ports: &Ports, run: &RunClaim, package: &Package) -> Result<(), ShipmentError> {
    match ports.orders.update_package(package, None, PackageGuard::ClaimedBy(run.id.clone())).await {
        Ok(()) | Err(StoreError::NotInExpectedState { .. }) => Ok(()),
        Err(error) => Err(error.into()),
    }
}
