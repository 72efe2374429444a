//! An SCX seller account on the sandbox, imported and shipped through the real handlers over
//! moto's DynamoDB, SQS and Secrets Manager.

use crate::{create_queue, moto_table, scheduled_event, sdk_config, unique};
use orderbridge::adapters::dynamodb::DynamoStore;
use orderbridge::adapters::marketplaces::MarketplaceRouter;
use orderbridge::adapters::pacing::Unpaced;
use orderbridge::adapters::scx::ScxConnector;
use orderbridge::adapters::secrets::{SecretSource, SecretsManager};
use orderbridge::adapters::sqs::SqsStatusQueue;
use orderbridge::domain::account::ScxSettings;
use orderbridge::domain::{
    AccountId, AccountSettings, DecisionPolicy, Marketplace, MarketplaceAccount, MarketplaceOrderId,
    OrderKey, SalesOrder,
};
use orderbridge::handlers::shipment::ShipmentResponse;
use orderbridge::handlers::{self, HandlerError};
use orderbridge::ports::{OrderStore, PipelineSettings, Ports};
use orderbridge::usecases::import::{AccountImport, ImportReport};
use orderbridge::{wiring, Deadline};
use orderbridge_sandbox::{
    RunningSandbox, Sandbox, SandboxConfig, ScxConfig, ScxOrderKey, ScxRateLimit, ScxSellerCredentials,
};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

pub const OTTO: &str = "OTTODE";
pub const KAUFLAND: &str = "KAUFLANDDE";

pub struct ScxPipeline {
    pub sandbox: Sandbox,
    pub marketplace: RunningSandbox,
    pub seller: ScxSellerCredentials,
    pub account: AccountId,
    pub store: DynamoStore,
    pub ports: Ports,
}

impl ScxPipeline {
    /// A seller selling on OTTO and Kaufland, connected as one Orderbridge account reading
    /// every channel.
    pub async fn on_moto() -> Self {
        Self::reading(&[]).await
    }

    /// The same seller, connected as an account reading only `channels` (under the first
    /// one's `sellerId`), e.g. because JTL-Wawi reads the others.
    pub async fn reading(channels: &[&str]) -> Self {
        let settings = PipelineSettings { first_status_check_delay: Duration::ZERO, ..Default::default() };
        Self::reading_with(channels, settings).await
    }

    pub async fn reading_with(channels: &[&str], settings: PipelineSettings) -> Self {
        let config = SandboxConfig {
            scx: ScxConfig {
                rate_limit: ScxRateLimit::new(100_000, Duration::from_secs(60)),
                ..ScxConfig::default()
            },
            ..SandboxConfig::default()
        };
        let sandbox = Sandbox::new(config);
        let marketplace = sandbox.start().await.expect("start sandbox");
        let seller = sandbox.add_scx_seller(&[OTTO, KAUFLAND]);
        let sdk = sdk_config(&crate::moto_url()).await;
        let store = moto_table().await;
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let (queue_url, _) = create_queue(&sqs, "scx-status").await;
        let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
        let secret_id = format!("orderbridge/{}", unique("scx"));
        secrets
            .create_secret()
            .name(&secret_id)
            .secret_string(json!({ "refresh_token": seller.refresh_token }).to_string())
            .send()
            .await
            .expect("create secret on moto");
        let secret_source: Arc<dyn SecretSource> = Arc::new(SecretsManager::new(secrets));
        let mut ports = wiring::ports_over(
            store.clone(),
            Arc::new(SqsStatusQueue::new(sqs, &queue_url)),
            secret_source.clone(),
            settings,
        );
        let connector = ScxConnector::new(secret_source).with_pacer(Arc::new(Unpaced));
        ports.marketplaces =
            Arc::new(MarketplaceRouter::default().with(Marketplace::Scx, Arc::new(connector)));
        let account = AccountId::parse("scx-seller").unwrap();
        let seller_channel = channels.first().copied().unwrap_or(OTTO);
        let connected = MarketplaceAccount {
            id: account.clone(),
            enabled: true,
            settings: AccountSettings::Scx(ScxSettings {
                api_base_url: marketplace.base_url.clone(),
                credentials_secret: secret_id,
                seller_id: seller.seller_id(seller_channel).expect("seller sells there").to_string(),
                channels: channels.iter().map(|c| c.to_string()).collect(),
                decision_policy: DecisionPolicy::AskOperator,
                requests_per_minute: None,
            }),
        };
        ports.accounts.put_account(&connected).await.unwrap();
        Self { sandbox, marketplace, seller, account, store, ports }
    }

    pub fn key(&self, order: &ScxOrderKey) -> OrderKey {
        let id = MarketplaceOrderId::parse(format!("{}:{}", order.channel, order.order_id)).unwrap();
        OrderKey::new(Marketplace::Scx, self.account.clone(), id)
    }

    pub async fn stored(&self, order: &ScxOrderKey) -> Option<SalesOrder> {
        self.store.get_order(&self.key(order)).await.unwrap()
    }

    pub async fn order(&self, order: &ScxOrderKey) -> SalesOrder {
        self.stored(order).await.unwrap_or_else(|| panic!("order {} not stored", order.order_id))
    }

    /// One run of the import function; the account's part of its report.
    pub async fn import(&self) -> AccountImport {
        let report: ImportReport =
            handlers::import::handle(&self.ports, scheduled_event(), Deadline::unlimited())
                .await
                .expect("import run");
        report.accounts.into_iter().next().expect("the account was imported")
    }

    pub async fn shipment(&self, event: Value) -> Result<ShipmentResponse, HandlerError> {
        handlers::shipment::handle(&self.ports, event, Deadline::unlimited()).await
    }

    /// The console's record of a package with one tracking number.
    pub fn record_event(&self, order: &ScxOrderKey, tracking: &str, items: Value) -> Value {
        json!({"record_shipment": {
            "account_id": self.account.as_str(),
            "marketplace_order_id": format!("{}:{}", order.channel, order.order_id),
            "carrier": "DHL",
            "tracking_id": tracking,
            "ship_date": "2026-11-28T10:00:00Z",
            "items": items,
        }})
    }

    /// The ids of the events of `order` the sandbox has emitted, in queue order.
    pub fn event_ids_of(&self, order: &ScxOrderKey, kind: &str) -> Vec<String> {
        self.sandbox
            .scx_events_emitted()
            .iter()
            .filter(|e| e["type"] == kind && e["event"]["orderId"] == order.order_id.as_str())
            .filter(|e| e["event"]["channel"] == order.channel.as_str())
            .map(|e| e["id"].as_str().unwrap().to_string())
            .collect()
    }
}
