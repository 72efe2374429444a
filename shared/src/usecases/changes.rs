//! Storing what marketplaces report: one rule ([`SalesOrder::apply`]) applied through one store
//! operation ([`modify_order`]), shared by the import, the status check and the decisions.

use crate::domain::{
    Applied, ChangeError, MarketplaceAccount, OrderChange, OrderKey, OrderStatus, Package, SalesOrder,
    TransitionError,
};
use crate::ports::{OrderStore, PackageGuard, Ports, QueueError, StatusCheck, StoreError};

/// What [`modify_order`]'s decision asks to write.
pub(crate) enum Step<T> {
    /// Nothing to write; the answer is `T`.
    Keep(T),
    /// The changed order.
    Save(T),
    /// The changed order and a new package, atomically.
    SaveWithNewPackage(T, Package),
    /// A package's new state if its stored one passes the guard, with the order if given.
    SavePackage(T, Package, PackageGuard, bool),
}

/// How often a decision is taken again after another writer changed the order meanwhile.
const CONFLICT_RETRIES: usize = 8;

/// The one read–decide–write operation on an order: reads it, lets `decide` change it, and
/// writes it only if nobody changed it meanwhile (version check); otherwise reads it again and
/// decides again. `Ok(None)` when the order is not stored. A package write whose guard fails
/// (another run's state of the package stands) counts as done.
pub(crate) async fn modify_order<T, E>(
    orders: &dyn OrderStore,
    key: &OrderKey,
    mut decide: impl FnMut(&mut SalesOrder) -> Result<Step<T>, E>,
) -> Result<Option<T>, E>
where
    E: From<StoreError>,
{
    for _ in 0..CONFLICT_RETRIES {
        let Some(mut order) = orders.get_order(key).await? else {
            return Ok(None);
        };
        let written = match decide(&mut order)? {
            Step::Keep(answer) => return Ok(Some(answer)),
            Step::Save(answer) => (answer, orders.update_order(&order).await),
            Step::SaveWithNewPackage(answer, package) => {
                (answer, orders.record_package(&order, &package).await)
            }
            Step::SavePackage(answer, package, guard, with_order) => {
                let order = with_order.then_some(&order);
                (answer, orders.update_package(&package, order, guard).await)
            }
        };
        match written {
            (answer, Ok(()) | Err(StoreError::NotInExpectedState { .. })) => return Ok(Some(answer)),
            (_, Err(StoreError::Conflict { .. } | StoreError::AlreadyExists { .. })) => continue,
            (_, Err(error)) => return Err(error.into()),
        }
    }
    Err(StoreError::Conflict {
        what: format!("order {key} (gave up after {CONFLICT_RETRIES} concurrent changes)"),
    }
    .into())
}

/// What storing one change did.
#[derive(Debug, Clone)]
pub(crate) enum Stored {
    /// A new order, stored as the change describes it.
    Created(SalesOrder),
    /// The stored order, after the change (unchanged if it already reflected it).
    Applied(Applied, SalesOrder),
}

impl Stored {
    pub(crate) fn order(&self) -> &SalesOrder {
        match self {
            Stored::Created(order) | Stored::Applied(_, order) => order,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreChangeError {
    #[error(transparent)]
    Change(#[from] ChangeError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

impl From<TransitionError> for StoreChangeError {
    fn from(error: TransitionError) -> Self {
        StoreChangeError::Change(error.into())
    }
}

/// Applies one marketplace change to the stored order, creating the order if the change
/// describes a whole one. Idempotent: storing the same change again reports `Unchanged`.
/// `check_new_pending`: a status check queued for a new Pending order *before* it is inserted,
/// so that a failure between the two leaves a harmless extra check, never a Pending order
/// nobody looks at again.
pub(crate) async fn store_change(
    ports: &Ports,
    account: &MarketplaceAccount,
    change: &OrderChange,
    check_new_pending: Option<&StatusCheck>,
) -> Result<Stored, StoreChangeError> {
    let key = OrderKey::new(account.marketplace(), account.id.clone(), change.order_id.clone());
    for _ in 0..2 {
        let now = ports.clock.now();
        let applied = modify_order(ports.orders.as_ref(), &key, |order| {
            let applied = order.apply(change, now)?;
            let stored = Stored::Applied(applied, order.clone());
            Ok::<_, StoreChangeError>(if applied == Applied::Unchanged {
                Step::Keep(stored)
            } else {
                Step::Save(stored)
            })
        })
        .await?;
        if let Some(stored) = applied {
            return Ok(stored);
        }
        let fresh = SalesOrder::from_change(account.marketplace(), account.id.clone(), change, now)?;
        if let (Some(check), OrderStatus::Pending) = (check_new_pending, fresh.status()) {
            ports.status_queue.enqueue(check, ports.settings.first_status_check_delay).await?;
        }
        match ports.orders.insert_order(&fresh).await {
            Ok(()) => return Ok(Stored::Created(fresh)),
            // Created meanwhile by a concurrent run: apply the change to it instead.
            Err(StoreError::AlreadyExists { .. }) => continue,
            Err(error) => return Err(error.into()),
        }
    }
    Err(StoreError::Conflict { what: format!("order {key}") }.into())
}
