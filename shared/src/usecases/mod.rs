//! What Orderbridge does, written against the ports only.

pub(crate) mod changes;
pub mod decisions;
pub mod housekeeping;
pub mod import;
pub mod replay;
pub mod shipment;
pub mod status;

use crate::domain::{AccountId, MarketplaceAccount};
use crate::ports::{Ports, StoreError};

/// The accounts a run should work on: all enabled ones, or the named ones (which must exist).
pub(crate) async fn select_accounts(
    ports: &Ports,
    only: Option<&[AccountId]>,
) -> Result<Vec<MarketplaceAccount>, SelectError> {
    let all = ports.accounts.list_accounts().await?;
    match only {
        None => Ok(all.into_iter().filter(|a| a.enabled).collect()),
        Some(ids) => ids
            .iter()
            .map(|id| {
                all.iter()
                    .find(|a| &a.id == id)
                    .cloned()
                    .ok_or_else(|| SelectError::UnknownAccount(id.clone()))
            })
            .collect(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SelectError {
    #[error("no marketplace account {0:?} is configured")]
    UnknownAccount(AccountId),
    #[error(transparent)]
    Store(#[from] StoreError),
}
