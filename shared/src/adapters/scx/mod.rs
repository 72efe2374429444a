//! JTL SCX, seller side: the hub through which OTTO, Kaufland, Conrad and other channels send
//! orders as one event feed (`GET`/`DELETE /v2/seller/event`), and through which the seller
//! reports shipments (`PUT /v1/seller/order/shipping`) and answers decisions (accept an
//! `UNACKED` order, agree to or deny a cancellation request). There is no order query: an
//! order exists for Orderbridge only as the events it received.
//!
//! One Orderbridge account reads one SCX seller account's channels (all, or the ones in
//! `ScxSettings::channels`). Each channel may know the seller under its own `sellerId`; an
//! order keeps the one it came under, and answers about it name that one.

mod auth;
mod client;
mod events;
mod http;
mod order;
mod shipping;
mod wire;

use crate::adapters::outbound::ClientPool;
use crate::adapters::secrets::SecretSource;
use crate::domain::account::ScxSettings;
use crate::domain::{AccountSettings, MarketplaceAccount};
use crate::ports::{CallPacer, MarketplaceClient, MarketplaceConnector, MarketplaceError};
use async_trait::async_trait;
use std::sync::Arc;

pub use client::MIN_TIME_FOR_A_BATCH;
pub use events::{changes as event_changes, ORDER_EVENT_TYPES};
pub use http::ScxClient;

/// Builds one SCX client per account and keeps it (with its session token) for the life of
/// the process. Every seller call is paced through the connector's [`CallPacer`].
pub struct ScxConnector {
    pool: ClientPool<ScxSettings, ScxClient>,
}

impl ScxConnector {
    /// Paced in this process's memory; see [`Self::with_pacer`].
    pub fn new(secrets: Arc<dyn SecretSource>) -> Self {
        Self::with_request_timeout(secrets, ClientPool::<ScxSettings, ScxClient>::REQUEST_TIMEOUT)
    }

    /// Like [`Self::new`], with another per-request timeout.
    pub fn with_request_timeout(secrets: Arc<dyn SecretSource>, timeout: std::time::Duration) -> Self {
        Self { pool: ClientPool::new(secrets, timeout) }
    }

    /// Paces every call through `pacer` (the table's, in Lambda, shared by every invocation).
    pub fn with_pacer(mut self, pacer: Arc<dyn CallPacer>) -> Self {
        self.pool.pace_with(pacer);
        self
    }
}

#[async_trait]
impl MarketplaceConnector for ScxConnector {
    async fn connect(
        &self,
        account: &MarketplaceAccount,
    ) -> Result<Arc<dyn MarketplaceClient>, MarketplaceError> {
        let AccountSettings::Scx(settings) = &account.settings else {
            return Err(MarketplaceError::Credentials {
                account: account.id.clone(),
                message: format!("is a {} account, not an SCX one", account.marketplace()),
            });
        };
        let client = self.pool.client(&account.id, settings, &[&settings.api_base_url], |connection| {
            ScxClient::new(account.id.clone(), settings.clone(), connection)
        })?;
        Ok(client)
    }
}

#[cfg(test)]
mod tests;
