//! Operator commands against a store: the local one (embedded, in a file) or a real table.

use crate::embedded::{local_sdk_config, EmbeddedStore};
use crate::local_run::{all_orders, LOCAL_TABLE};
use anyhow::{bail, Context, Result};
use orderbridge::adapters::dynamodb::{schema, DynamoStore};
use orderbridge::adapters::local::InProcessQueue;
use orderbridge::adapters::secrets::{InMemorySecrets, SecretSource, SecretsManager};
use orderbridge::domain::account::AmazonSettings;
use orderbridge::domain::{
    AccountId, AccountSettings, MarketplaceAccount, MarketplaceOrderId, OrderKey, OrderStatus, PackageLine,
    ShipmentRequest,
};
use orderbridge::ports::{PipelineSettings, Ports};
use orderbridge::usecases::shipment;
use orderbridge::wiring;
use std::path::PathBuf;
use std::sync::Arc;

/// Which store a command works on.
#[derive(Debug, Clone)]
pub enum StoreTarget {
    /// The embedded store in a file (what `local-run --store` writes).
    Local(PathBuf),
    /// A DynamoDB table; AWS region and credentials from the usual environment, optionally
    /// another endpoint (e.g. a local DynamoDB-compatible server).
    Table { name: String, endpoint_url: Option<String> },
}

/// An open store plus the ports the commands need. Keeps the embedded server alive.
pub struct Session {
    pub ports: Ports,
    pub store: DynamoStore,
    embedded: Option<EmbeddedStore>,
    local: bool,
}

impl Session {
    pub async fn open(target: &StoreTarget) -> Result<Self> {
        match target {
            StoreTarget::Local(path) => Self::local(path).await,
            StoreTarget::Table { name, endpoint_url } => {
                let sdk = match endpoint_url {
                    Some(url) => local_sdk_config(url).await,
                    None => aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await,
                };
                Ok(Self::on_table(&sdk, name))
            }
        }
    }

    /// The embedded store in a file (created if missing).
    pub async fn local(path: &std::path::Path) -> Result<Self> {
        let embedded = EmbeddedStore::start(Some(path)).await?;
        let store = embedded.orders_table(LOCAL_TABLE).await?;
        let secrets: Arc<dyn SecretSource> = Arc::new(InMemorySecrets::new());
        let ports = wiring::ports_over(
            store.clone(),
            Arc::new(InProcessQueue::new()),
            secrets,
            PipelineSettings::default(),
        );
        Ok(Self { ports, store, embedded: Some(embedded), local: true })
    }

    /// A DynamoDB table with the AWS configuration `sdk`; marketplace credentials are read from
    /// Secrets Manager with the same configuration.
    pub fn on_table(sdk: &aws_config::SdkConfig, table: &str) -> Self {
        let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), table);
        let secrets: Arc<dyn SecretSource> =
            Arc::new(SecretsManager::new(aws_sdk_secretsmanager::Client::new(sdk)));
        // The command line records shipments and manages accounts; it never queues status
        // checks, so an in-process queue is enough here.
        let ports = wiring::ports_over(
            store.clone(),
            Arc::new(InProcessQueue::new()),
            secrets,
            PipelineSettings::default(),
        );
        Self { ports, store, embedded: None, local: false }
    }

    /// Whether this is the local store (no AWS: no secrets to check, nothing to subscribe).
    pub fn is_local(&self) -> bool {
        self.local
    }

    pub async fn close(self) {
        if let Some(embedded) = self.embedded {
            embedded.stop().await;
        }
    }

    pub async fn init_table(&self) -> Result<bool> {
        schema::create_table_if_missing(self.store.client(), self.store.table())
            .await
            .map_err(anyhow::Error::msg)
    }

    pub async fn add_account(&self, account: &MarketplaceAccount) -> Result<()> {
        if self.ports.accounts.get_account(&account.id).await?.is_some() {
            bail!("account {} exists already", account.id);
        }
        self.ports.accounts.put_account(account).await?;
        Ok(())
    }

    pub async fn set_account_enabled(&self, id: &AccountId, enabled: bool) -> Result<MarketplaceAccount> {
        let mut account =
            self.ports.accounts.get_account(id).await?.with_context(|| format!("no account {id}"))?;
        account.enabled = enabled;
        self.ports.accounts.put_account(&account).await?;
        Ok(account)
    }

    pub async fn accounts(&self) -> Result<Vec<MarketplaceAccount>> {
        Ok(self.ports.accounts.list_accounts().await?)
    }

    pub async fn orders(&self, status: OrderStatus) -> Result<Vec<orderbridge::domain::SalesOrder>> {
        all_orders(&self.ports, status).await
    }

    pub async fn order_key(&self, account: &AccountId, order: &str) -> Result<OrderKey> {
        let found = self
            .ports
            .accounts
            .get_account(account)
            .await?
            .with_context(|| format!("no account {account}"))?;
        Ok(OrderKey::new(found.marketplace(), found.id, MarketplaceOrderId::parse(order)?))
    }

    /// The order and its packages, as JSON for display.
    pub async fn show_order(&self, key: &OrderKey) -> Result<serde_json::Value> {
        let order = self.ports.orders.get_order(key).await?.with_context(|| format!("no order {key}"))?;
        let packages = self.ports.orders.packages(key).await?;
        Ok(serde_json::json!({ "order": order, "packages": packages }))
    }

    pub async fn record_shipment(
        &self,
        key: &OrderKey,
        request: &ShipmentRequest,
    ) -> Result<shipment::RecordedPackage> {
        Ok(shipment::record(&self.ports, &key.account_id, &key.marketplace_order_id, request).await?)
    }
}

/// Settings for a new Amazon account with Amazon's defaults.
pub fn amazon_account(
    id: AccountId,
    credentials_secret: String,
    marketplace_ids: Vec<String>,
    api_base_url: String,
    token_url: String,
) -> MarketplaceAccount {
    MarketplaceAccount {
        id,
        enabled: true,
        settings: AccountSettings::Amazon(AmazonSettings {
            api_base_url,
            token_url,
            credentials_secret,
            marketplace_ids,
            window_lag_secs: AmazonSettings::DEFAULT_WINDOW_LAG_SECS,
            overlap_secs: AmazonSettings::DEFAULT_OVERLAP_SECS,
            initial_lookback_hours: AmazonSettings::DEFAULT_INITIAL_LOOKBACK_HOURS,
            seller_id: None,
            quota_overrides: Vec::new(),
        }),
    }
}

/// `ITEM:QTY` from the command line.
pub fn parse_package_line(value: &str) -> Result<PackageLine> {
    let (item, quantity) =
        value.split_once(':').with_context(|| format!("{value:?}: expected ITEM_ID:QUANTITY"))?;
    Ok(PackageLine::new(
        orderbridge::domain::OrderItemId::parse(item)?,
        quantity.parse().with_context(|| format!("{value:?}: quantity is not a whole number"))?,
    ))
}

/// The status queue's dead letters, on AWS (or another endpoint, e.g. a local server).
pub async fn dead_letters(
    queue_url: &str,
    dead_letter_queue_url: &str,
    endpoint_url: Option<&str>,
) -> orderbridge::adapters::sqs::DeadLetters {
    let sdk = match endpoint_url {
        Some(url) => local_sdk_config(url).await,
        None => aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await,
    };
    orderbridge::adapters::sqs::DeadLetters::new(
        aws_sdk_sqs::Client::new(&sdk),
        queue_url,
        dead_letter_queue_url,
    )
}
