//! The marketplace seam: one connector that hands each account the adapter its settings name.
//! Adding a marketplace is one adapter folder, one [`AccountSettings`] variant and one entry in
//! [`MarketplaceRouter::standard`]; no use case, handler or wiring changes.
//!
//! [`AccountSettings`]: crate::domain::AccountSettings

use crate::adapters::scx::ScxConnector;
use crate::adapters::secrets::SecretSource;
use crate::adapters::sp_api::SpApiConnector;
use crate::domain::{Marketplace, MarketplaceAccount};
use crate::ports::{CallPacer, MarketplaceClient, MarketplaceConnector, MarketplaceError};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Connects each account through its marketplace's connector.
#[derive(Default)]
pub struct MarketplaceRouter {
    connectors: BTreeMap<Marketplace, Arc<dyn MarketplaceConnector>>,
}

impl MarketplaceRouter {
    /// Every marketplace Orderbridge speaks, reading credentials from `secrets` and pacing
    /// calls through `pacer` (shared by every concurrent invocation in Lambda).
    pub fn standard(secrets: Arc<dyn SecretSource>, pacer: Arc<dyn CallPacer>) -> Self {
        Self::default()
            .with(
                Marketplace::Amazon,
                Arc::new(SpApiConnector::new(secrets.clone()).with_pacer(pacer.clone())),
            )
            .with(Marketplace::Scx, Arc::new(ScxConnector::new(secrets).with_pacer(pacer)))
    }

    /// Routes `marketplace`'s accounts to `connector` (tests plug in their own).
    pub fn with(mut self, marketplace: Marketplace, connector: Arc<dyn MarketplaceConnector>) -> Self {
        self.connectors.insert(marketplace, connector);
        self
    }
}

#[async_trait]
impl MarketplaceConnector for MarketplaceRouter {
    async fn connect(
        &self,
        account: &MarketplaceAccount,
    ) -> Result<Arc<dyn MarketplaceClient>, MarketplaceError> {
        match self.connectors.get(&account.marketplace()) {
            Some(connector) => connector.connect(account).await,
            None => Err(MarketplaceError::Credentials {
                account: account.id.clone(),
                message: format!("no connector for {} accounts in this deployment", account.marketplace()),
            }),
        }
    }
}
