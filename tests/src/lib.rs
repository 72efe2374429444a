//! Test harness: a marketplace sandbox, a table and a status queue on moto (or the embedded
//! store), a connected account of either marketplace, and the real handlers fed real event
//! payloads.

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use orderbridge::adapters::dynamodb::{schema, DynamoStore};
use orderbridge_sandbox::NewItem;
use serde_json::Value;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

pub mod at_marketplace;
pub mod fault_proxy;
mod pipeline;

pub use at_marketplace::{ReceivedPackage, KAUFLAND, OTTO};
pub use pipeline::{Pipeline, PipelineOptions, Seller};

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
