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

use crate::adapters::outbound::require_tls;
use crate::adapters::pacing::InMemoryPacer;
use crate::adapters::secrets::SecretSource;
use crate::domain::account::ScxSettings;
use crate::domain::{AccountId, AccountSettings, MarketplaceAccount};
use crate::ports::{CallPacer, MarketplaceClient, MarketplaceConnector, MarketplaceError};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use client::MIN_TIME_FOR_A_BATCH;
pub use events::{changes as event_changes, ORDER_EVENT_TYPES};
pub use http::ScxClient;

/// Builds one SCX client per account and keeps it (with its session token) for the life of
/// the process. Every seller call is paced through the connector's [`CallPacer`].
pub struct ScxConnector {
    http: reqwest::Client,
    secrets: Arc<dyn SecretSource>,
    timeout: Duration,
    pacer: Arc<dyn CallPacer>,
    clients: Mutex<HashMap<AccountId, (ScxSettings, Arc<ScxClient>)>>,
}

impl ScxConnector {
    /// Per-request timeout; a slow hub is retried within the invocation's time.
    pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

    /// Paced in this process's memory; see [`Self::with_pacer`].
    pub fn new(secrets: Arc<dyn SecretSource>) -> Self {
        Self::with_request_timeout(secrets, Self::REQUEST_TIMEOUT)
    }

    pub fn with_request_timeout(secrets: Arc<dyn SecretSource>, timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("Orderbridge/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("TLS backend initialises");
        Self {
            http,
            secrets,
            timeout,
            pacer: Arc::new(InMemoryPacer::new()),
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Paces every call through `pacer` (the table's, in Lambda, shared by every invocation).
    pub fn with_pacer(mut self, pacer: Arc<dyn CallPacer>) -> Self {
        self.pacer = pacer;
        self.clients.get_mut().unwrap_or_else(|e| e.into_inner()).clear();
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
        let mut clients = self.clients.lock().expect("client cache lock");
        if let Some((cached_settings, client)) = clients.get(&account.id) {
            if cached_settings == settings {
                return Ok(client.clone());
            }
        }
        require_tls(&account.id, &settings.api_base_url)?;
        let client = Arc::new(ScxClient::new(
            account.id.clone(),
            settings.clone(),
            self.http.clone(),
            self.secrets.clone(),
            self.timeout,
            self.pacer.clone(),
        ));
        clients.insert(account.id.clone(), (settings.clone(), client.clone()));
        Ok(client)
    }
}

#[cfg(test)]
mod tests;
