//! Test harness: a marketplace sandbox, a table and a status queue on moto (or the embedded
//! store), a connected account, and the real handlers fed real event payloads.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use orderbridge::adapters::dynamodb::{schema, DynamoStore};
use orderbridge::adapters::secrets::{SecretSource, SecretsManager};
use orderbridge::adapters::sqs::SqsStatusQueue;
use orderbridge::domain::{AccountId, OrderKey, SalesOrder};
use orderbridge::handlers::{self, HandlerError};
use orderbridge::ports::{PipelineSettings, Ports};
use orderbridge::usecases::import::ImportReport;
use orderbridge::{wiring, Deadline};
use orderbridge_sandbox::{NewItem, NewOrder, RunningSandbox, Sandbox, SandboxConfig, SellerCredentials};
use serde_json::{json, Value};

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub mod fault_proxy;
pub mod scx;

pub use orderbridge_cli::embedded::EmbeddedStore;

/// The moto server the test command started (`scripts/test`).
pub fn moto_url() -> String {
    std::env::var("ORDERBRIDGE_TEST_MOTO_URL")
        .expect("ORDERBRIDGE_TEST_MOTO_URL is not set: run the tests through scripts/test, which starts moto")
}

/// A name no other test in this run uses.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{prefix}-{}-{}-{nanos}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

pub use orderbridge_cli::embedded::local_sdk_config as sdk_config;

/// A fresh orders table on moto.
pub async fn moto_table() -> DynamoStore {
    let sdk = sdk_config(&moto_url()).await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let table = unique("orders");
    schema::create_table_if_missing(&client, &table).await.expect("create table on moto");
    DynamoStore::new(client, table)
}

/// A new queue on moto: its URL and its ARN.
pub async fn create_queue(sqs: &aws_sdk_sqs::Client, prefix: &str) -> (String, String) {
    let url =
        sqs.create_queue().queue_name(unique(prefix)).send().await.expect("create queue").queue_url.unwrap();
    (url.clone(), queue_arn(sqs, &url).await)
}

pub async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> String {
    sqs.get_queue_attributes()
        .queue_url(url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("queue attributes")
        .attributes
        .expect("attributes")[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone()
}

/// What a function wrote (log or metrics lines), captured in memory.
#[derive(Clone, Default)]
pub struct CapturedOutput(pub Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for CapturedOutput {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl CapturedOutput {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// The real EventBridge payload of the import schedule, as in `events/`.
pub fn scheduled_event() -> Value {
    serde_json::from_str(include_str!("../../events/import-scheduled.json")).unwrap()
}

pub fn item(sku: &str, quantity: u32, cents: i64) -> NewItem {
    NewItem::new(sku, quantity, cents)
}

/// Everything of one pipeline: the sandbox with one seller, moto table/queue/secret, the
/// account connected, and the ports the functions would build in Lambda.
pub struct Pipeline {
    pub sandbox: Sandbox,
    pub marketplace: RunningSandbox,
    pub seller: SellerCredentials,
    pub account: AccountId,
    pub store: DynamoStore,
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
    pub dead_letter_queue_url: Option<String>,
    pub ports: Ports,
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
}

impl Default for PipelineOptions {
    fn default() -> Self {
        Self {
            sandbox: SandboxConfig { window_lag: Duration::ZERO, ..Default::default() },
            aws_endpoint: None,
            request_timeout: orderbridge::adapters::sp_api::SpApiConnector::REQUEST_TIMEOUT,
            settings: PipelineSettings { first_status_check_delay: Duration::ZERO, ..Default::default() },
            max_receive_count: None,
        }
    }
}

impl Pipeline {
    pub async fn on_moto() -> Self {
        Self::on_moto_with(PipelineOptions::default()).await
    }

    pub async fn on_moto_with(options: PipelineOptions) -> Self {
        let config = options.sandbox;
        let rate_limited = config.rate_limit.is_some();
        let sdk = sdk_config(options.aws_endpoint.as_deref().unwrap_or(&moto_url())).await;
        let store = {
            let table = moto_table().await;
            DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table.table())
        };
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
        let sandbox = Sandbox::new(config);
        let marketplace = sandbox.start().await.expect("start sandbox");
        let seller = sandbox.add_seller();
        let secrets = aws_sdk_secretsmanager::Client::new(&sdk_config(&moto_url()).await);
        let secret_id = format!("orderbridge/{}", unique("seller"));
        secrets
            .create_secret()
            .name(&secret_id)
            .secret_string(orderbridge_cli::local_run::seller_secret(&seller))
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
        let connector = orderbridge::adapters::sp_api::SpApiConnector::with_request_timeout(
            secret_source,
            options.request_timeout,
        );
        // Paced (in memory: moto is not safe under concurrent writes) at Amazon's documented plans
        // when the sandbox enforces rate limits; a sandbox without them has nothing to pace.
        ports.marketplaces = Arc::new(if rate_limited {
            connector
        } else {
            connector.with_pacer(Arc::new(orderbridge::adapters::pacing::Unpaced))
        });
        let account = AccountId::parse("amazon-de").unwrap();
        let connected =
            orderbridge_cli::local_run::sandbox_account(account.clone(), &marketplace, &seller, secret_id, 0);
        ports.accounts.put_account(&connected).await.unwrap();
        Self { sandbox, marketplace, seller, account, store, sqs, queue_url, dead_letter_queue_url, ports }
    }

    /// An order placed a little while ago (so the import window, ending at "now" in whole
    /// seconds, already holds it).
    pub fn place(&self, order: NewOrder) -> String {
        self.sandbox.create_order_at(
            &self.seller.seller_id,
            order,
            chrono::Utc::now() - chrono::Duration::seconds(30),
        )
    }

    pub fn key(&self, order_id: &str) -> OrderKey {
        OrderKey::new(
            orderbridge::domain::Marketplace::Amazon,
            self.account.clone(),
            orderbridge::domain::MarketplaceOrderId::parse(order_id).unwrap(),
        )
    }

    pub async fn order(&self, order_id: &str) -> SalesOrder {
        use orderbridge::ports::OrderStore;
        self.store
            .get_order(&self.key(order_id))
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("order {order_id} not stored"))
    }

    pub async fn import(&self) -> Result<ImportReport, HandlerError> {
        handlers::import::handle(&self.ports, scheduled_event(), Deadline::unlimited()).await
    }

    /// Runs the import (as the schedule would, again and again) until it reports the account
    /// caught up; panics after `max_runs`.
    pub async fn import_until_caught_up(&self, max_runs: u32) {
        for run in 1..=max_runs {
            match self.import().await {
                Ok(report) if report.accounts[0].caught_up => return,
                Ok(report) => eprintln!("import run {run}: {report:?}"),
                Err(error) => eprintln!("import run {run}: {error}"),
            }
        }
        panic!("import did not catch up in {max_runs} runs");
    }

    pub async fn import_event(&self, event: Value) -> Result<ImportReport, HandlerError> {
        handlers::import::handle(&self.ports, event, Deadline::unlimited()).await
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
}

/// An SQS message as the Lambda event source hands it over.
pub fn lambda_message(m: &aws_sdk_sqs::types::Message) -> SqsMessage {
    let mut message = SqsMessage::default();
    message.message_id = m.message_id.clone();
    message.receipt_handle = m.receipt_handle.clone();
    message.body = m.body.clone();
    message.md5_of_body = m.md5_of_body.clone();
    message.event_source = Some("aws:sqs".into());
    message.aws_region = Some("eu-central-1".into());
    message.attributes = m
        .attributes
        .as_ref()
        .map(|a| a.iter().map(|(k, v)| (k.as_str().to_string(), v.clone())).collect())
        .unwrap_or_default();
    message
}

pub fn sqs_event(messages: Vec<SqsMessage>) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = messages;
    event
}

/// A status message body as the import function writes it.
pub fn message_with_body(id: &str, body: &str) -> SqsMessage {
    let mut message = SqsMessage::default();
    message.message_id = Some(id.to_string());
    message.body = Some(body.to_string());
    message.event_source = Some("aws:sqs".into());
    message
}

/// A small seeded generator (splitmix64) for the chaos suites: a failing run is replayed with
/// the seed it printed.
pub struct SeededRng(pub u64);

impl SeededRng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    pub fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }
}

/// `ORDERBRIDGE_CHAOS_SEED`, or a new seed each run.
pub fn chaos_seed() -> u64 {
    std::env::var("ORDERBRIDGE_CHAOS_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
            % 1_000_000
    })
}
