//! Shipment confirmation: record the packages a merchant shipped, then report each one to the
//! marketplace exactly once and mark the order Shipped or PartiallyShipped.

use super::changes::{modify_order, Step};
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

/// How often a recording looks again after another package was recorded meanwhile.
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
    validate(&key, request)?;
    let carrier = request.carrier.trim();
    let tracking = request.tracking_ids[0].trim();
    for _ in 0..CONFLICT_RETRIES {
        let existing = ports.orders.packages(&key).await?;
        if let Some(same) = existing.iter().find(|p| p.carrier == carrier && p.tracking_id() == tracking) {
            return Ok(RecordedPackage {
                order: key.to_string(),
                package_id: same.id.number(),
                newly_recorded: false,
            });
        }
        let now = ports.clock.now();
        let recorded = modify_order(ports.orders.as_ref(), &key, |order| {
            if order.packages_recorded as usize != existing.len() {
                // Another package was recorded meanwhile: it may be this one; look again.
                return Ok(Step::Keep(None));
            }
            let package = order.record_package(request, now)?;
            Ok::<_, ShipmentError>(Step::SaveWithNewPackage(Some(package.id), package))
        })
        .await?
        .ok_or_else(|| ShipmentError::UnknownOrder(key.clone()))?;
        if let Some(id) = recorded {
            tracing::info!(order = %key, package = %id, "package recorded");
            return Ok(RecordedPackage {
                order: key.to_string(),
                package_id: id.number(),
                newly_recorded: true,
            });
        }
    }
    Err(StoreError::Conflict { what: format!("order {key}") }.into())
}

/// Marketplaces take a handful of tracking numbers per package, each a short code.
const MAX_TRACKING_IDS: usize = 10;

fn validate(key: &OrderKey, request: &ShipmentRequest) -> Result<(), ShipmentError> {
    let invalid = |reason: String| ShipmentError::Invalid { order: key.clone(), reason };
    if request.tracking_ids.is_empty() || request.tracking_ids.len() > MAX_TRACKING_IDS {
        return Err(invalid(format!("a package needs 1 to {MAX_TRACKING_IDS} tracking ids")));
    }
    let fields = std::iter::once(("carrier", &request.carrier))
        .chain(request.tracking_ids.iter().map(|t| ("tracking_id", t)))
        .chain(request.return_tracking_id.iter().map(|t| ("return_tracking_id", t)));
    for (name, value) in fields {
        if value.trim().is_empty() || value.len() > 100 {
            return Err(invalid(format!("{name} must be 1 to 100 characters")));
        }
    }
    Ok(())
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
    let outcome = match outbox_check(ports, client, &order, &package, send_deadline).await {
        Ok(OutboxCheck::Send) => client.confirm_shipment(&order, &package, send_deadline).await,
        Ok(OutboxCheck::OnRecord) => {
            tracing::info!(order = %key, package = %package.id, "marketplace has the package on record; not sent again");
            Ok(())
        }
        Ok(OutboxCheck::Wait) => {
            tracing::info!(order = %key, package = %package.id, "an earlier try may have reached the marketplace; waiting for its record");
            report.retry_later += 1;
            package
                .note_failed_attempt("waiting for the marketplace's record of an earlier try".into(), None);
            return settle_claimed(ports, run, &package).await;
        }
        Err(error) => Err(error),
    };
    match outcome {
        Ok(()) => {
            package.mark_confirmed(ports.clock.now());
            save_confirmed(ports, &package).await?;
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
            let maybe_sent = error.may_have_been_carried_out().then(|| ports.clock.now());
            package.note_failed_attempt(error.to_string(), maybe_sent);
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

enum OutboxCheck {
    Send,
    OnRecord,
    Wait,
}

/// Whether the package may be sent. Where a repeated confirmation is not harmless (SCX) and an
/// earlier try may have reached the marketplace, its record decides: on record, not sent again;
/// not on record, sent; unknown, waited for up to the configured time, then sent.
async fn outbox_check(
    ports: &Ports,
    client: &dyn MarketplaceClient,
    order: &SalesOrder,
    package: &Package,
    deadline: Deadline,
) -> Result<OutboxCheck, MarketplaceError> {
    let Some(since) = package.uncertain_since().filter(|_| !client.confirms_idempotently()) else {
        return Ok(OutboxCheck::Send);
    };
    match client.shipment_on_record(order, package, deadline).await? {
        Some(true) => Ok(OutboxCheck::OnRecord),
        Some(false) => Ok(OutboxCheck::Send),
        None => {
            let waited = (ports.clock.now() - since).to_std().unwrap_or_default();
            Ok(if waited >= ports.settings.uncertain_shipment_wait {
                OutboxCheck::Send
            } else {
                OutboxCheck::Wait
            })
        }
    }
}

/// Saves the confirmed package together with the order's new shipped state. The marketplace's
/// acceptance wins over whatever another run stored for the package meanwhile (a Failed, a
/// claim); only an earlier Confirmed stands, and then the order already counts the package.
async fn save_confirmed(ports: &Ports, package: &Package) -> Result<(), ShipmentError> {
    let now = ports.clock.now();
    modify_order(ports.orders.as_ref(), &package.order, |order| {
        // The marketplace accepted it, so the package is confirmed whatever the order's state
        // says now (e.g. cancelled meanwhile); the order then stays as it is.
        let with_order = order.confirm_package(package, now).is_ok();
        Ok::<_, ShipmentError>(Step::SavePackage((), package.clone(), PackageGuard::NotConfirmed, with_order))
    })
    .await?
    .ok_or_else(|| ShipmentError::UnknownOrder(package.order.clone()))
}

/// Saves a failed attempt while this run still holds the claim; if another run took the package
/// over (or confirmed it), theirs stands.
async fn settle_claimed(ports: &Ports, run: &RunClaim, package: &Package) -> Result<(), ShipmentError> {
    match ports.orders.update_package(package, None, PackageGuard::ClaimedBy(run.id.clone())).await {
        Ok(()) | Err(StoreError::NotInExpectedState { .. }) => Ok(()),
        Err(error) => Err(error.into()),
    }
}
