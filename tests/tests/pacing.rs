//! Marketplace calls paced by construction: a token bucket per (account, operation) kept in the
//! orders table, shared by every invocation, so that Orderbridge never causes a 429 itself.
//! Concurrent tests run on the embedded store and the in-process queue (moto is not safe under
//! concurrent writes); moto is used sequentially only.

use aws_lambda_events::sqs::SqsMessage;
use axum::http::StatusCode;
use orderbridge::adapters::dynamodb::DynamoStore;
use orderbridge::adapters::local::InProcessQueue;
use orderbridge::adapters::pacing::Unpaced;
use orderbridge::adapters::secrets::{InMemorySecrets, SecretSource};
use orderbridge::adapters::sp_api::SpApiConnector;
use orderbridge::domain::account::{AmazonSettings, QuotaOverride};
use orderbridge::domain::{AccountId, AccountSettings, MarketplaceAccount, MarketplaceOrderId, OrderStatus};
use orderbridge::ports::{CallPacer, MarketplaceConnector, PipelineSettings, Ports, Quota, StatusCheck};
use orderbridge::{handlers, wiring, Deadline};
use orderbridge_sandbox::{NewOrder, RateLimit, Sandbox, SandboxConfig, SellerCredentials};
use orderbridge_tests::{item, message_with_body, moto_table, sqs_event, unique, EmbeddedStore};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

const SECOND: Duration = Duration::from_secs(1);
/// How far a wait may fall short of its ideal value: the time the reservations themselves took.
const SLACK: Duration = Duration::from_millis(500);

fn account(name: &str) -> AccountId {
    AccountId::parse(unique(name)).unwrap()
}

/// `count` reservations one after another.
async fn reserve_in_turn(
    pacer: &dyn CallPacer,
    account: &AccountId,
    quota: Quota,
    count: usize,
) -> Vec<Duration> {
    let mut waits = Vec::new();
    for _ in 0..count {
        waits.push(pacer.reserve(account, "getOrder", quota).await.unwrap());
    }
    waits
}

/// The `n`-th reservation past the burst waits `n` intervals (less the time spent reserving).
fn assert_spaced(waits: &[Duration], burst: usize, interval: Duration) {
    assert!(waits[..burst].iter().all(Duration::is_zero), "the first {burst} go at once: {waits:?}");
    for (n, wait) in waits[burst..].iter().enumerate() {
        let ideal = interval * (n as u32 + 1);
        assert!(
            *wait <= ideal && *wait + SLACK > ideal,
            "reservation {} waits {wait:?}, not ~{ideal:?}: {waits:?}",
            burst + n
        );
    }
}

async fn burst_then_rate(store: &DynamoStore) {
    let quota = Quota { rate_per_second: 1.0, burst: 3 };
    let account = account("amazon-burst");
    let waits = reserve_in_turn(store, &account, quota, 6).await;
    assert_spaced(&waits, 3, SECOND);
    // Buckets are per account and per operation.
    assert!(store.reserve(&account, "searchOrders", quota).await.unwrap().is_zero());
    assert!(store
        .reserve(&AccountId::parse(unique("amazon-other")).unwrap(), "getOrder", quota)
        .await
        .unwrap()
        .is_zero());
}

#[tokio::test]
async fn the_table_bucket_lets_a_burst_go_at_once_then_spaces_calls_at_the_rate() {
    let embedded = EmbeddedStore::start(None).await.unwrap();
    let store = embedded.orders_table(&unique("orders")).await.unwrap();
    burst_then_rate(&store).await;
    embedded.stop().await;
}

#[tokio::test]
async fn the_table_bucket_on_moto_lets_a_burst_go_at_once_then_spaces_calls_at_the_rate() {
    burst_then_rate(&moto_table().await).await;
}

#[tokio::test]
async fn two_pacers_over_the_same_table_share_one_bucket() {
    let embedded = EmbeddedStore::start(None).await.unwrap();
    let table = unique("orders");
    let first = embedded.orders_table(&table).await.unwrap();
    let second = DynamoStore::new(embedded.client().await, &table);
    let quota = Quota { rate_per_second: 1.0, burst: 2 };
    let account = account("amazon-shared");

    // In turn, alternating between the two: one bucket of two, then one call a second.
    let mut waits = Vec::new();
    for n in 0..6 {
        let pacer: &dyn CallPacer = if n % 2 == 0 { &first } else { &second };
        waits.push(pacer.reserve(&account, "getOrder", quota).await.unwrap());
    }
    assert_spaced(&waits, 2, SECOND);

    // All at once, from both: every reservation gets a slot of its own. Contention makes them
    // take a while, so compare the times the calls may go, not the waits.
    let account = self::account("amazon-contended");
    let quota = Quota { rate_per_second: 0.5, burst: 2 };
    let interval = 2 * SECOND;
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..16 {
        let pacer = if n % 2 == 0 { first.clone() } else { second.clone() };
        let account = account.clone();
        tasks.spawn(async move {
            let wait = pacer.reserve(&account, "getOrder", quota).await.unwrap();
            (wait, Instant::now() + wait)
        });
    }
    let reservations = tasks.join_all().await;
    let at_once = reservations.iter().filter(|(wait, _)| wait.is_zero()).count();
    assert_eq!(at_once, 2, "one burst between both pacers: {reservations:?}");
    let mut go_at: Vec<Instant> = reservations.iter().map(|(_, at)| *at).collect();
    go_at.sort();
    for pair in go_at[2..].windows(2) {
        let apart = pair[1] - pair[0];
        assert!(
            apart + Duration::from_millis(100) > interval && apart < interval + Duration::from_millis(100),
            "calls {apart:?} apart, not {interval:?}: {reservations:?}"
        );
    }
    embedded.stop().await;
}

#[tokio::test]
async fn two_pacers_over_the_same_moto_table_share_one_bucket_in_turn() {
    let first = moto_table().await;
    let second = DynamoStore::new(first.client().clone(), first.table());
    let quota = Quota { rate_per_second: 1.0, burst: 2 };
    let account = account("amazon-shared");
    let mut waits = Vec::new();
    for n in 0..5 {
        let pacer: &dyn CallPacer = if n % 2 == 0 { &first } else { &second };
        waits.push(pacer.reserve(&account, "getOrder", quota).await.unwrap());
    }
    assert_spaced(&waits, 2, SECOND);
}

/// The sandbox served with every 429 it answers counted (the sandbox counts requests and
/// injected faults, not throttles of its own buckets).
struct CountedMarketplace {
    base_url: String,
    throttled: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl CountedMarketplace {
    async fn start(sandbox: &Sandbox) -> Self {
        let throttled = Arc::new(AtomicU64::new(0));
        let counter = throttled.clone();
        let router = sandbox.router().layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| {
                let counter = counter.clone();
                async move {
                    let response = next.run(request).await;
                    if response.status() == StatusCode::TOO_MANY_REQUESTS {
                        counter.fetch_add(1, Ordering::Relaxed);
                    }
                    response
                }
            },
        ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Self { base_url, throttled, task }
    }

    fn throttled(&self) -> u64 {
        self.throttled.load(Ordering::Relaxed)
    }

    /// An account of `seller` at this marketplace, whose usage plans Amazon raised to `plans`.
    fn account(
        &self,
        id: &AccountId,
        seller: &SellerCredentials,
        secret: &str,
        plans: &RateLimit,
    ) -> MarketplaceAccount {
        let per_hour = |rate: f64| (rate * 3600.0).round() as u32;
        let overrides = [("searchOrders", plans.search_orders), ("getOrder", plans.get_order)]
            .into_iter()
            .map(|(operation, q)| QuotaOverride {
                operation: operation.into(),
                requests_per_hour: per_hour(q.rate),
                burst: q.burst,
            })
            .collect();
        MarketplaceAccount {
            id: id.clone(),
            enabled: true,
            settings: AccountSettings::Amazon(AmazonSettings {
                api_base_url: self.base_url.clone(),
                token_url: format!("{}/auth/o2/token", self.base_url),
                credentials_secret: secret.into(),
                marketplace_ids: vec![seller.marketplace_id.clone()],
                window_lag_secs: 0,
                overlap_secs: 60,
                initial_lookback_hours: 1,
                seller_id: Some(seller.seller_id.clone()),
                quota_overrides: overrides,
            }),
        }
    }
}

impl Drop for CountedMarketplace {
    fn drop(&mut self) {
        self.task.abort();
    }
}

const ORDERS: usize = 1000;
const INVOCATIONS: usize = 4;
/// Messages per status invocation, as the SQS event source batches them.
const BATCH: usize = 10;

/// One status function instance: its own store client, connector and token cache, sharing only
/// the table (and the queue) with the others, as concurrent Lambda instances do.
async fn status_instance(
    embedded: &EmbeddedStore,
    table: &str,
    queue: Arc<InProcessQueue>,
    secrets: Arc<dyn SecretSource>,
) -> Ports {
    let store = DynamoStore::new(embedded.client().await, table);
    let settings = PipelineSettings { first_status_check_delay: Duration::ZERO, ..Default::default() };
    wiring::ports_over(store, queue, secrets, settings)
}

/// Delivers status checks in batches to one instance until no check is due.
async fn status_invocations(
    ports: Ports,
    work: Arc<Mutex<VecDeque<StatusCheck>>>,
    queue: Arc<InProcessQueue>,
) {
    loop {
        let batch: Vec<SqsMessage> = {
            let mut work = work.lock().unwrap();
            if work.is_empty() {
                work.extend(queue.take_due());
            }
            let n = work.len().min(BATCH);
            work.drain(..n)
                .enumerate()
                .map(|(i, check)| {
                    message_with_body(&format!("m{i}"), &serde_json::to_string(&check).unwrap())
                })
                .collect()
        };
        if batch.is_empty() {
            return;
        }
        let response = handlers::status::handle(&ports, sqs_event(batch), Deadline::after(60 * SECOND)).await;
        assert!(
            response.batch_item_failures.is_empty(),
            "status checks failed: {:?}",
            response.batch_item_failures
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_throttled_burst_of_1000_pending_orders_drains_with_zero_429s_caused_by_orderbridge() {
    // A seller whose plans Amazon raised (fast enough for a test, yet slower than four status
    // instances ask for getOrder on a busy two-core machine), enforced by the marketplace.
    let plans = RateLimit {
        search_orders: orderbridge_sandbox::Quota::new(5.0, 20),
        get_order: orderbridge_sandbox::Quota::new(25.0, 30),
        ..RateLimit::default()
    };
    let sandbox = Sandbox::new(SandboxConfig {
        window_lag: Duration::ZERO,
        rate_limit: Some(plans),
        ..Default::default()
    });
    let marketplace = CountedMarketplace::start(&sandbox).await;
    let seller = sandbox.add_seller();
    let secrets = Arc::new(InMemorySecrets::new());
    secrets.insert("orderbridge/paced", orderbridge_cli::local_run::seller_secret(&seller));
    let embedded = EmbeddedStore::start(None).await.unwrap();
    let table = unique("orders");
    embedded.orders_table(&table).await.unwrap();
    let queue = Arc::new(InProcessQueue::new());
    let import = status_instance(&embedded, &table, queue.clone(), secrets.clone()).await;
    let account_id = account("amazon-paced");
    import
        .accounts
        .put_account(&marketplace.account(&account_id, &seller, "orderbridge/paced", &plans))
        .await
        .unwrap();

    let placed = chrono::Utc::now() - chrono::Duration::seconds(30);
    let ids: Vec<String> = (0..ORDERS)
        .map(|i| {
            sandbox.create_order_at(
                &seller.seller_id,
                NewOrder::pending(vec![item(&format!("SKU-{i}"), 1, 500)]),
                placed,
            )
        })
        .collect();
    let mut caught_up = false;
    for _ in 0..5 {
        let report = orderbridge::usecases::import::run(&import, &Default::default(), Deadline::unlimited())
            .await
            .unwrap();
        assert_eq!(report.accounts[0].error, None, "{report:?}");
        if report.accounts[0].caught_up {
            caught_up = true;
            break;
        }
    }
    assert!(caught_up, "the import caught up");
    for id in &ids {
        assert!(sandbox.release_payment(id), "{id} released");
    }

    // Every check at once, across concurrent instances that share nothing but the table.
    let work = Arc::new(Mutex::new(VecDeque::new()));
    for _ in 0..3 {
        let mut instances = tokio::task::JoinSet::new();
        for _ in 0..INVOCATIONS {
            let ports = status_instance(&embedded, &table, queue.clone(), secrets.clone()).await;
            instances.spawn(status_invocations(ports, work.clone(), queue.clone()));
        }
        instances.join_all().await;
        // Checks sent on with a delay (paced out of an invocation's time) come back later.
        tokio::time::sleep(SECOND).await;
    }

    for id in &ids {
        let key = orderbridge::domain::OrderKey::new(
            orderbridge::domain::Marketplace::Amazon,
            account_id.clone(),
            MarketplaceOrderId::parse(id.clone()).unwrap(),
        );
        let order = import.orders.get_order(&key).await.unwrap().unwrap();
        assert_eq!(order.status(), OrderStatus::Deliverable, "{id}");
    }
    assert!(sandbox.request_count("getOrder") >= ORDERS as u64);
    assert_eq!(marketplace.throttled(), 0, "the marketplace throttled Orderbridge");

    // Control: the same marketplace does throttle a client that doesn't pace (another seller,
    // so another bucket).
    let other = sandbox.add_seller();
    secrets.insert("orderbridge/unpaced", orderbridge_cli::local_run::seller_secret(&other));
    let unpaced = marketplace.account(&account("amazon-unpaced"), &other, "orderbridge/unpaced", &plans);
    let order =
        sandbox.create_order_at(&other.seller_id, NewOrder::released(vec![item("SKU", 1, 500)]), placed);
    let client =
        SpApiConnector::new(secrets.clone()).with_pacer(Arc::new(Unpaced)).connect(&unpaced).await.unwrap();
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..(2 * plans.get_order.burst) {
        let (client, order) = (client.clone(), MarketplaceOrderId::parse(order.clone()).unwrap());
        calls.spawn(async move {
            // Some give up, throttled again and again; only the marketplace's answers count here.
            let _ = client.get_order(&order, Deadline::after(60 * SECOND)).await;
        });
    }
    calls.join_all().await;
    assert!(
        marketplace.throttled() > 0,
        "without pacing the marketplace throttles: the zero above is earned"
    );
    embedded.stop().await;
}
