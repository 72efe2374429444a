//! One pipeline per test, for either marketplace: the sandbox with one seller, a table, a
//! status queue and a secret on moto, the account connected, and the ports the functions would
//! build in Lambda. The tests that prove a guarantee for every marketplace run once per
//! marketplace ([`crate::for_each_marketplace`]); they speak of orders by the id Orderbridge
//! stores, and [`crate::at_marketplace`] translates what they do to each sandbox module.

use crate::{at_marketplace::KAUFLAND, at_marketplace::OTTO, lambda_message};
use crate::{create_queue, moto_table, moto_url, queue_arn, scheduled_event, sdk_config, sqs_event, unique};
use aws_lambda_events::sqs::{SqsBatchResponse, SqsMessage};
use orderbridge::adapters::dynamodb::DynamoStore;
use orderbridge::adapters::marketplaces::MarketplaceRouter;
use orderbridge::adapters::pacing::Unpaced;
use orderbridge::adapters::scx::ScxConnector;
use orderbridge::adapters::secrets::{SecretSource, SecretsManager};
use orderbridge::adapters::sp_api::SpApiConnector;
use orderbridge::adapters::sqs::SqsStatusQueue;
use orderbridge::domain::account::ScxSettings;
use orderbridge::domain::{
    AccountId, AccountSettings, DecisionPolicy, Marketplace, MarketplaceAccount, MarketplaceOrderId,
    OrderKey, SalesOrder,
};
use orderbridge::handlers::{self, HandlerError};
use orderbridge::ports::{MarketplaceConnector, OrderStore, PipelineSettings, Ports};
use orderbridge::usecases::import::{AccountImport, ImportReport};
use orderbridge::{wiring, Deadline};
use orderbridge_sandbox::{
    RunningSandbox, Sandbox, SandboxConfig, ScxConfig, ScxRateLimit, ScxSellerCredentials, SellerCredentials,
};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// The seller the account is connected to.
pub enum Seller {
    Amazon(SellerCredentials),
    Scx(ScxSellerCredentials),
}

impl Seller {
    pub fn amazon(&self) -> &SellerCredentials {
        match self {
            Seller::Amazon(seller) => seller,
            Seller::Scx(_) => panic!("an SCX pipeline has no Amazon seller"),
        }
    }

    pub fn scx(&self) -> &ScxSellerCredentials {
        match self {
            Seller::Scx(seller) => seller,
            Seller::Amazon(_) => panic!("an Amazon pipeline has no SCX seller"),
        }
    }

    /// Every credential of the seller, for asserting that none reaches a log.
    pub fn secrets(&self) -> Vec<String> {
        match self {
            Seller::Amazon(s) => vec![s.client_secret.clone(), s.refresh_token.clone()],
            Seller::Scx(s) => vec![s.refresh_token.clone()],
        }
    }
}

pub struct Pipeline {
    pub marketplace: Marketplace,
    pub sandbox: Sandbox,
    pub server: RunningSandbox,
    pub seller: Seller,
    pub account: AccountId,
    pub store: DynamoStore,
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
    pub dead_letter_queue_url: Option<String>,
    pub ports: Ports,
    /// SCX: the channels the account reads, where [`Pipeline::place`] places orders in turn.
    pub scx_channels: Vec<&'static str>,
}

/// How a test pipeline differs from the default one.
pub struct PipelineOptions {
    pub sandbox: SandboxConfig,
    /// Talk to DynamoDB and SQS through this endpoint (e.g. a fault proxy) instead of moto.
    pub aws_endpoint: Option<String>,
    /// Per-request timeout of the marketplace client.
    pub request_timeout: Duration,
    pub settings: PipelineSettings,
    /// Give the status queue a dead-letter queue after this many receives.
    pub max_receive_count: Option<u32>,
    /// SCX: the channels the account reads (empty: every channel); the account is connected
    /// under the first one's `sellerId`.
    pub scx_channels: Vec<&'static str>,
    /// SCX: how the account answers decisions.
    pub decision_policy: DecisionPolicy,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        Self {
            sandbox: SandboxConfig {
                window_lag: Duration::ZERO,
                // SCX's pacing is proven in `pacing`; here the hub does not count.
                scx: ScxConfig {
                    rate_limit: ScxRateLimit::new(100_000, Duration::from_secs(60)),
                    ..ScxConfig::default()
                },
                ..Default::default()
            },
            aws_endpoint: None,
            request_timeout: SpApiConnector::REQUEST_TIMEOUT,
            settings: PipelineSettings { first_status_check_delay: Duration::ZERO, ..Default::default() },
            max_receive_count: None,
            scx_channels: Vec::new(),
            decision_policy: DecisionPolicy::AskOperator,
        }
    }
}

impl Pipeline {
    pub async fn on_moto(marketplace: Marketplace) -> Self {
        Self::on_moto_with(marketplace, PipelineOptions::default()).await
    }

    pub async fn on_moto_with(marketplace: Marketplace, options: PipelineOptions) -> Self {
        let rate_limited = options.sandbox.rate_limit.is_some();
        let sdk = sdk_config(options.aws_endpoint.as_deref().unwrap_or(&moto_url())).await;
        let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), moto_table().await.table());
        // The harness reads the queue directly; the functions send through `sdk` (maybe a proxy).
        let sqs = aws_sdk_sqs::Client::new(&sdk_config(&moto_url()).await);
        let dead_letter_queue_url = match options.max_receive_count {
            None => None,
            Some(_) => Some(create_queue(&sqs, "status-dlq").await.0),
        };
        let mut create = sqs.create_queue().queue_name(unique("status"));
        if let (Some(dlq), Some(max)) = (&dead_letter_queue_url, options.max_receive_count) {
            let arn = queue_arn(&sqs, dlq).await;
            create = create.attributes(
                aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy,
                json!({"deadLetterTargetArn": arn, "maxReceiveCount": max.to_string()}).to_string(),
            );
        }
        let queue_url = create.send().await.expect("create queue on moto").queue_url.expect("queue url");
        let sandbox = Sandbox::new(options.sandbox);
        let server = sandbox.start().await.expect("start sandbox");
        let secrets = aws_sdk_secretsmanager::Client::new(&sdk_config(&moto_url()).await);
        let secret_id = format!("orderbridge/{}", unique("seller"));
        let (seller, secret_value) = match marketplace {
            Marketplace::Amazon => {
                let seller = sandbox.add_seller();
                let secret = orderbridge_cli::local_run::seller_secret(&seller);
                (Seller::Amazon(seller), secret)
            }
            Marketplace::Scx => {
                let seller = sandbox.add_scx_seller(&[OTTO, KAUFLAND]);
                let secret = json!({ "refresh_token": seller.refresh_token }).to_string();
                (Seller::Scx(seller), secret)
            }
        };
        secrets
            .create_secret()
            .name(&secret_id)
            .secret_string(secret_value)
            .send()
            .await
            .expect("create secret on moto");
        let secret_source: Arc<dyn SecretSource> = Arc::new(SecretsManager::new(secrets));
        let mut ports = wiring::ports_over(
            store.clone(),
            Arc::new(SqsStatusQueue::new(aws_sdk_sqs::Client::new(&sdk), &queue_url)),
            secret_source.clone(),
            options.settings,
        );
        let scx_channels = match (&seller, options.scx_channels.is_empty()) {
            (Seller::Amazon(_), _) => Vec::new(),
            (Seller::Scx(_), true) => vec![OTTO, KAUFLAND],
            (Seller::Scx(_), false) => options.scx_channels.clone(),
        };
        let (account, connector): (_, Arc<dyn MarketplaceConnector>) = match &seller {
            Seller::Amazon(seller) => {
                let connector = SpApiConnector::with_request_timeout(secret_source, options.request_timeout);
                // Paced (in memory: moto is not safe under concurrent writes) at Amazon's
                // documented plans when the sandbox enforces rate limits.
                let connector =
                    if rate_limited { connector } else { connector.with_pacer(Arc::new(Unpaced)) };
                let id = AccountId::parse("amazon-de").unwrap();
                let account = orderbridge_cli::local_run::sandbox_account(id, &server, seller, secret_id, 0);
                (account, Arc::new(connector))
            }
            Seller::Scx(seller) => {
                let connector = ScxConnector::with_request_timeout(secret_source, options.request_timeout)
                    .with_pacer(Arc::new(Unpaced));
                let under = options.scx_channels.first().copied().unwrap_or(OTTO);
                let account = MarketplaceAccount {
                    id: AccountId::parse("scx-seller").unwrap(),
                    enabled: true,
                    settings: AccountSettings::Scx(ScxSettings {
                        api_base_url: server.base_url.clone(),
                        credentials_secret: secret_id,
                        seller_id: seller.seller_id(under).expect("the seller sells there").to_string(),
                        channels: options.scx_channels.iter().map(|c| c.to_string()).collect(),
                        decision_policy: options.decision_policy,
                        requests_per_minute: None,
                    }),
                };
                (account, Arc::new(connector))
            }
        };
        ports.marketplaces = Arc::new(MarketplaceRouter::default().with(marketplace, connector));
        ports.accounts.put_account(&account).await.unwrap();
        Self {
            marketplace,
            sandbox,
            server,
            seller,
            account: account.id,
            store,
            sqs,
            queue_url,
            dead_letter_queue_url,
            ports,
            scx_channels,
        }
    }

    pub fn key(&self, order_id: &str) -> OrderKey {
        OrderKey::new(self.marketplace, self.account.clone(), MarketplaceOrderId::parse(order_id).unwrap())
    }

    pub async fn stored(&self, order_id: &str) -> Option<SalesOrder> {
        self.store.get_order(&self.key(order_id)).await.unwrap()
    }

    pub async fn order(&self, order_id: &str) -> SalesOrder {
        self.stored(order_id).await.unwrap_or_else(|| panic!("order {order_id} not stored"))
    }

    pub async fn import(&self) -> Result<ImportReport, HandlerError> {
        handlers::import::handle(&self.ports, scheduled_event(), Deadline::unlimited()).await
    }

    /// One import run that must succeed; the account's part of its report.
    pub async fn import_account(&self) -> AccountImport {
        let report = self.import().await.expect("import run");
        report.accounts.into_iter().next().expect("the account was imported")
    }

    /// Runs the import (as the schedule would, again and again) until it reports the account
    /// caught up; panics after `max_runs`. Events left unacknowledged by a failed run come
    /// back as their visibility timeout would let them.
    pub async fn import_until_caught_up(&self, max_runs: u32) {
        for run in 1..=max_runs {
            match self.import().await {
                Ok(report) if report.accounts[0].caught_up && self.nothing_left_to_deliver() => return,
                Ok(report) => eprintln!("import run {run}: {report:?}"),
                Err(error) => eprintln!("import run {run}: {error}"),
            }
            self.redeliver_unacknowledged();
        }
        panic!("import did not catch up in {max_runs} runs");
    }

    pub async fn import_event(&self, event: Value) -> Result<ImportReport, HandlerError> {
        handlers::import::handle(&self.ports, event, Deadline::unlimited()).await
    }

    /// What reaches Orderbridge of the marketplace's news in the normal course: an import
    /// run, then every status check due. Returns the status checks delivered.
    pub async fn sync(&self) -> usize {
        self.import().await.expect("import run");
        self.drain_status_queue().await
    }

    /// Receives every visible message of the status queue as Lambda's SQS event source would
    /// deliver it (and deletes it from the queue, as Lambda does after the handler returns).
    pub async fn status_messages(&self) -> Vec<SqsMessage> {
        let mut messages = Vec::new();
        loop {
            let out = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
                .send()
                .await
                .expect("receive from moto");
            let received = out.messages.unwrap_or_default();
            if received.is_empty() {
                return messages;
            }
            for m in received {
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(m.receipt_handle().unwrap_or_default())
                    .send()
                    .await
                    .expect("delete from moto");
                messages.push(lambda_message(&m));
            }
        }
    }

    pub async fn run_status(&self, messages: Vec<SqsMessage>) -> SqsBatchResponse {
        handlers::status::handle(&self.ports, sqs_event(messages), Deadline::unlimited()).await
    }

    /// Delivers what is on the status queue to the status function until it is empty (delayed
    /// re-checks aside, which moto holds back like SQS).
    pub async fn drain_status_queue(&self) -> usize {
        let mut delivered = 0;
        loop {
            let messages = self.status_messages().await;
            if messages.is_empty() {
                return delivered;
            }
            delivered += messages.len();
            let response = self.run_status(messages).await;
            assert!(
                response.batch_item_failures.is_empty(),
                "status checks failed: {:?}",
                response.batch_item_failures
            );
        }
    }

    pub async fn shipment(&self, event: Value) -> Result<handlers::shipment::ShipmentResponse, HandlerError> {
        handlers::shipment::handle(&self.ports, event, Deadline::unlimited()).await
    }

    /// One shipment run that must succeed: the packages it reported.
    pub async fn report_shipments(&self) -> u32 {
        match self.shipment(json!({})).await.expect("shipment run") {
            handlers::shipment::ShipmentResponse::Reported(report) => report.reported,
            other => panic!("expected a report: {other:?}"),
        }
    }

    /// The console's record of a package with one tracking number.
    pub fn record_event(&self, order_id: &str, tracking: &str, items: Value) -> Value {
        json!({"record_shipment": {
            "account_id": self.account.as_str(),
            "marketplace_order_id": order_id,
            "carrier": "DHL",
            "tracking_id": tracking,
            "ship_date": "2026-11-28T10:00:00Z",
            "shipping_method": "Paket",
            "items": items,
        }})
    }

    /// Records a package of every open unit of the order, one tracking number.
    pub async fn record_whole_order(&self, order_id: &str, tracking: &str) {
        let order = self.order(order_id).await;
        let items: Vec<Value> = order
            .lines
            .iter()
            .filter(|l| l.quantity_unrecorded() > 0)
            .map(|l| json!({"order_item_id": l.item_id.as_str(), "quantity": l.quantity_unrecorded()}))
            .collect();
        self.shipment(self.record_event(order_id, tracking, json!(items))).await.expect("package recorded");
    }
}
