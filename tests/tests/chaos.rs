//! The chaos suite: the three functions' handlers run round after round against a marketplace
//! that throttles, fails, resets connections, answers slowly or with broken JSON, sends
//! malformed orders and expires tokens; a store and queue that throttle and lose answers; runs
//! killed at random points; queue deliveries duplicated, reordered and redelivered. Then the
//! faults stop, the pipeline heals, and the invariants are checked against the store and the
//! sandbox's record of confirmations. All log output is captured and searched for buyer data.
//!
//! The same test runs for Amazon and for JTL's SCX (`amazon::…`, `scx::…`). SCX adds events
//! duplicated under new ids, redelivered behind newer ones and acknowledgements lost, and
//! proves that every acknowledged event was stored first, that no change is applied twice
//! (each order's lines show exactly the units the marketplace shipped and cancelled, and its
//! status is the marketplace's) and that no package is reported twice.
//!
//! Replay a failure with the seed it prints: `ORDERBRIDGE_CHAOS_SEED=<seed> scripts/test`.
//! `ORDERBRIDGE_CHAOS_ROUNDS` sets the number of rounds (default 8).

use aws_lambda_events::sqs::SqsMessage;
use orderbridge::domain::{Marketplace, OrderStatus, PackageState};
use orderbridge::ports::{MetricsSink, OrderStore};
use orderbridge::Deadline;
use orderbridge_sandbox::{FaultConfig, NewItem, NewOrder};
use orderbridge_tests::fault_proxy::{FaultProxy, ProxyFaults};
use orderbridge_tests::{
    for_each_marketplace, lambda_message, moto_url, scheduled_event, sqs_event, CapturedOutput, Pipeline,
    PipelineOptions,
};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Percent of calls per fault kind and endpoint (six kinds: about 22 % of marketplace calls fail).
const MARKETPLACE_FAULT_PERCENT_EACH: u8 = 4;
const STORE_FAULT_BEFORE_PERCENT: u8 = 10;
const STORE_FAULT_AFTER_PERCENT: u8 = 3;
const MAX_RECEIVE_COUNT: u32 = 4;

use orderbridge_tests::SeededRng as Rng;

for_each_marketplace!(multi_thread: nothing_is_lost_or_doubled_under_chaos);

fn settings() -> orderbridge::ports::PipelineSettings {
    orderbridge::ports::PipelineSettings {
        first_status_check_delay: Duration::ZERO,
        pending_recheck_base: Duration::from_secs(1),
        pending_recheck_max: Duration::from_secs(2),
        // Longer than the 2.5 s request timeout plus the client's safety margin; short enough
        // that packages of killed runs go out again while the pipeline heals.
        shipment_claim_lease: Duration::from_secs(9),
        // A package whose answer was lost waits for the marketplace's record (SCX), as in
        // production, rather than risk a second notice.
        uncertain_shipment_wait: Duration::from_secs(3600),
        ..Default::default()
    }
}

/// Runs `work` to completion, or kills it at a random point (as a crashed or timed-out Lambda).
async fn maybe_killed<T: Send + 'static>(
    rng: &mut Rng,
    kill_percent: u64,
    work: impl std::future::Future<Output = T> + Send + 'static,
) -> Option<T> {
    let task = tokio::spawn(work);
    if rng.percent(kill_percent) {
        tokio::time::sleep(Duration::from_millis(rng.below(400))).await;
        task.abort();
        return task.await.ok();
    }
    task.await.ok()
}

/// One delivery of the status queue as SQS + Lambda would make it under stress: a received
/// batch, some messages twice, shuffled; messages the handler did not fail are deleted, the
/// rest come back after the visibility timeout; a killed run deletes nothing.
async fn deliver_status(p: &Pipeline, rng: &mut Rng, chaos: bool) -> usize {
    let out = p
        .sqs
        .receive_message()
        .queue_url(&p.queue_url)
        .max_number_of_messages(10)
        .visibility_timeout(2)
        .send()
        .await
        .expect("receive");
    let received = out.messages.unwrap_or_default();
    if received.is_empty() {
        return 0;
    }
    let mut batch: Vec<SqsMessage> = received.iter().map(lambda_message).collect();
    if chaos {
        for m in received.iter() {
            if rng.percent(30) {
                batch.push(lambda_message(m));
            }
        }
        for i in (1..batch.len()).rev() {
            batch.swap(i, rng.below(i as u64 + 1) as usize);
        }
    }
    let ports = p.ports.clone();
    let event = sqs_event(batch);
    let run = maybe_killed(rng, if chaos { 15 } else { 0 }, async move {
        orderbridge::handlers::status::handle(&ports, event, Deadline::unlimited()).await
    })
    .await;
    if let Some(response) = run {
        let failed: BTreeSet<String> =
            response.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect();
        for m in &received {
            if !failed.contains(m.message_id().unwrap_or_default()) {
                let _ = p
                    .sqs
                    .delete_message()
                    .queue_url(&p.queue_url)
                    .receipt_handle(m.receipt_handle().unwrap())
                    .send()
                    .await;
            }
        }
    }
    received.len()
}

/// What a failed invocation would leave in the on-failure queue: its error type and message.
static FAILURE_RECORDS: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn keep_failure<T>(result: &Result<T, orderbridge::handlers::HandlerError>) {
    if let Err(error) = result {
        FAILURE_RECORDS.lock().unwrap().push(format!("{}: {error}", error.error_type()));
    }
}

async fn import(p: &Pipeline, rng: &mut Rng) {
    match rng.below(4) {
        0 => {
            keep_failure(&p.import().await);
        }
        1 => {
            // EventBridge double-fires, or console and schedule at once.
            let (first, second) = tokio::join!(p.import(), p.import());
            keep_failure(&first);
            keep_failure(&second);
        }
        2 => {
            let ports = p.ports.clone();
            maybe_killed(rng, 100, async move {
                orderbridge::handlers::import::handle(&ports, scheduled_event(), Deadline::unlimited()).await
            })
            .await;
        }
        _ => {
            // Close to the function's timeout.
            let deadline = Deadline::after(Deadline::SAFETY_MARGIN + Duration::from_millis(rng.below(1500)));
            keep_failure(&orderbridge::handlers::import::handle(&p.ports, scheduled_event(), deadline).await);
        }
    }
}

/// Records a package for a few orders that still have units to ship, while shipment runs go on.
async fn ship(p: &Pipeline, rng: &mut Rng, round: u32) {
    let mut candidates = Vec::new();
    for status in [OrderStatus::Deliverable, OrderStatus::PartiallyShipped] {
        if let Ok(page) = p.ports.orders.orders_by_status(status, 50, None).await {
            candidates.extend(page.items);
        }
    }
    let mut records = Vec::new();
    let chosen: Vec<_> = candidates.into_iter().filter(|_| rng.percent(40)).take(4).collect();
    for order in chosen {
        let items: Vec<_> = order
            .lines
            .iter()
            .filter(|l| l.quantity_unrecorded() > 0)
            .map(|l| {
                let left = l.quantity_unrecorded();
                // SCX's record shows only completely shipped lines: a partial package whose
                // answer was lost could only be sent again blindly (after the operator's wait).
                let partial = p.marketplace == Marketplace::Amazon && left > 1 && rng.percent(50);
                let quantity = if partial { 1 } else { left };
                json!({"order_item_id": l.item_id.as_str(), "quantity": quantity})
            })
            .collect();
        if items.is_empty() {
            continue;
        }
        records.push(json!({"record_shipment": {
            "account_id": order.key.account_id.as_str(),
            "marketplace_order_id": order.key.marketplace_order_id.as_str(),
            "carrier": if rng.percent(50) { "DHL" } else { "Spedition Müller" },
            "tracking_id": format!("CHAOS-{round}-{}", rng.below(1_000_000)),
            "ship_date": "2026-11-28T10:00:00Z",
            "items": items,
        }}));
    }
    let ports = p.ports.clone();
    let report = maybe_killed(rng, 20, async move {
        orderbridge::handlers::shipment::handle(&ports, json!({}), Deadline::unlimited()).await
    });
    let record = async {
        for event in records {
            keep_failure(&p.shipment(event).await);
        }
    };
    tokio::join!(report, record);
}

/// The functions' own JSON log lines, at debug level, to check them for buyer data: one
/// capture for the whole process (both marketplaces' runs write into it).
fn captured_logs() -> CapturedOutput {
    static LOGS: std::sync::OnceLock<CapturedOutput> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        use tracing_subscriber::layer::SubscriberExt;
        use tracing_subscriber::util::SubscriberInitExt;
        let logs = CapturedOutput::default();
        let (layer, _cold_start) = orderbridge::logging::JsonLogLayer::new("chaos", Box::new(logs.clone()));
        tracing_subscriber::registry().with(tracing_subscriber::EnvFilter::new("debug")).with(layer).init();
        logs
    })
    .clone()
}

async fn nothing_is_lost_or_doubled_under_chaos(m: Marketplace) {
    let logs = captured_logs();

    let seed = orderbridge_tests::chaos_seed();
    let rounds: u32 =
        std::env::var("ORDERBRIDGE_CHAOS_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(8);
    let banner = format!(
        "{m} chaos seed={seed} rounds={rounds}: marketplace {MARKETPLACE_FAULT_PERCENT_EACH}% per fault kind per endpoint \
         (throttle, 5xx, reset, slow, truncated, garbage), 5% malformed orders, 20% duplicated pages, 5% expired \
         tokens; SCX events 25% duplicated, 25% redelivered out of order, 15% of acknowledgements lost; \
         store/queue {STORE_FAULT_BEFORE_PERCENT}% failures before and {STORE_FAULT_AFTER_PERCENT}% after \
         the write; 15-20% of runs killed; 30% duplicate deliveries. Replay: ORDERBRIDGE_CHAOS_SEED={seed}"
    );
    println!("{banner}");
    eprintln!("{banner}");
    let mut rng = Rng(seed);

    let proxy = FaultProxy::start(&moto_url(), ProxyFaults::none()).await;
    let mut options = PipelineOptions {
        aws_endpoint: Some(proxy.endpoint_url.clone()),
        request_timeout: Duration::from_millis(2500),
        settings: settings(),
        max_receive_count: Some(MAX_RECEIVE_COUNT),
        ..Default::default()
    };
    options.sandbox.seed = seed;
    options.sandbox.faults = FaultConfig {
        duplicate_event_percent: 25,
        reordered_redelivery_percent: 25,
        lost_ack_percent: 15,
        ..FaultConfig::uniform(seed, MARKETPLACE_FAULT_PERCENT_EACH)
    };
    let mut p = Pipeline::on_moto_with(m, options).await;
    // Metrics as the functions write them, to check them for buyer data at the end.
    let metrics_out = CapturedOutput::default();
    let metrics =
        Arc::new(orderbridge::adapters::emf::EmfMetrics::to_writer("chaos", Box::new(metrics_out.clone())));
    p.ports.metrics = metrics.clone();
    proxy.set_faults(ProxyFaults {
        seed,
        before_percent: STORE_FAULT_BEFORE_PERCENT,
        after_percent: STORE_FAULT_AFTER_PERCENT,
    });

    let mut created = Vec::new();
    for round in 0..rounds {
        for _ in 0..(3 + rng.below(4)) {
            let items = (0..1 + rng.below(2))
                .map(|i| {
                    NewItem::new(format!("SKU-{i}"), 1 + rng.below(3) as u32, 100 + rng.below(5000) as i64)
                })
                .collect();
            let order = if rng.percent(60) { NewOrder::pending(items) } else { NewOrder::released(items) };
            created.push(p.place(order));
        }
        for id in &created {
            if p.status_at_marketplace(id) == Some(OrderStatus::Pending) {
                if rng.percent(40) {
                    p.release(id);
                } else if rng.percent(8) {
                    p.cancel(id);
                } else if m == Marketplace::Scx && rng.percent(30) {
                    // The address comes in an event of its own, before the acceptance.
                    p.sandbox.scx_add_address(&p.scx_key(id));
                }
            }
        }
        p.time_passes().await;
        // Orders change while the import pages through them.
        let during: Vec<String> = created
            .iter()
            .filter(|id| p.status_at_marketplace(id) == Some(OrderStatus::Pending))
            .take(2)
            .cloned()
            .collect();
        let pause = Duration::from_millis(rng.below(300));
        tokio::join!(import(&p, &mut rng), async {
            tokio::time::sleep(pause).await;
            for id in during {
                p.release(&id);
            }
        });
        for _ in 0..3 {
            deliver_status(&p, &mut rng, true).await;
        }
        if rng.percent(40) {
            p.redeliver_unacknowledged();
        }
        ship(&p, &mut rng, round).await;
    }

    // Faults stop; the operator redrives the dead letters; the schedules and the queue go on
    // until every released order is settled and every recorded package is reported.
    p.sandbox.set_faults(FaultConfig::none());
    proxy.set_faults(ProxyFaults::none());
    // Time passes: a package whose answer was lost has waited out its time for the
    // marketplace's record. (Each round below imports first, so by then the record of a
    // notice SCX did take is stored, and the package is not sent again.)
    p.ports.settings.uncertain_shipment_wait = Duration::ZERO;
    let letters = orderbridge_cli::commands::dead_letters(
        &p.queue_url,
        p.dead_letter_queue_url.as_deref().unwrap(),
        Some(&moto_url()),
    )
    .await;
    let mut left = None;
    let mut dead_letter_bodies = Vec::new();
    for _ in 0..40 {
        let listed = letters.list(1000, Duration::ZERO).await.expect("list dead letters");
        dead_letter_bodies.extend(listed.into_iter().map(|l| l.body));
        letters.redrive(1000).await.expect("redrive");
        p.redeliver_unacknowledged();
        p.import().await.expect("import without faults");
        while deliver_status(&p, &mut rng, false).await > 0 {}
        p.shipment(json!({})).await.expect("shipment run without faults");
        left = unsettled(&p, &created).await;
        if left.is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    assert!(left.is_none(), "{banner}\nthe pipeline did not settle after the faults stopped: {left:?}");

    check_invariants(&p, &created).await;

    let captured = logs.text();
    assert!(captured.contains("account imported"), "the log capture works");
    metrics.flush();
    let metrics_text = metrics_out.text();
    assert!(metrics_text.contains("OrdersImported"), "the metrics capture works");
    let dead_letters = dead_letter_bodies.join("\n");
    let failure_records = FAILURE_RECORDS.lock().unwrap().join("\n");
    for value in p.sandbox.buyer_field_values() {
        assert!(!captured.contains(&value), "{banner}\nbuyer data {value:?} appeared in the logs");
        assert!(!metrics_text.contains(&value), "{banner}\nbuyer data {value:?} appeared in the metrics");
        assert!(!dead_letters.contains(&value), "{banner}\nbuyer data {value:?} appeared in a dead letter");
        assert!(
            !failure_records.contains(&value),
            "{banner}\nbuyer data {value:?} appeared in a function error (the on-failure queue's record)"
        );
    }
    for secret in p.seller.secrets() {
        assert!(!captured.contains(secret.as_str()), "a credential appeared in the logs");
    }
    println!(
        "{m}: orders created {}, rejected as malformed {}, packages received {}, repeated packages {}",
        created.len(),
        p.rejectable_order_ids().len(),
        p.received_packages().len(),
        p.repeated_packages()
    );
    println!("marketplace faults injected: {:?}", p.sandbox.fault_counts());
    println!("store/queue faults injected: {:?}", proxy.counts());
}

fn released(status: Option<OrderStatus>) -> bool {
    matches!(status, Some(OrderStatus::Deliverable | OrderStatus::PartiallyShipped | OrderStatus::Shipped))
}

/// Every released order promoted, every cancelled one cancelled, no package left to report,
/// nothing left in the marketplace's feed.
async fn unsettled(p: &Pipeline, created: &[String]) -> Option<String> {
    let rejectable = p.rejectable_order_ids();
    for id in created.iter().filter(|id| !rejectable.contains(id)) {
        let Ok(Some(order)) = p.store.get_order(&p.key(id)).await else {
            return Some(format!("order {id} not stored"));
        };
        let status = p.status_at_marketplace(id);
        let cancelled = status == Some(OrderStatus::Cancelled) && order.status() != OrderStatus::Cancelled;
        if (released(status) && order.status() == OrderStatus::Pending) || cancelled {
            return Some(format!("order {id} is {} here, {status:?} at the marketplace", order.status()));
        }
    }
    if !p.nothing_left_to_deliver() {
        return Some("events wait for acknowledgement".into());
    }
    match p.store.unreported_packages(10).await {
        Ok(packages) if packages.is_empty() => None,
        Ok(packages) => Some(format!(
            "packages not reported: {:?}",
            packages.iter().map(|p| (&p.order, &p.state)).collect::<Vec<_>>()
        )),
        Err(error) => Some(error.to_string()),
    }
}

async fn check_invariants(p: &Pipeline, created: &[String]) {
    let rejectable: BTreeSet<String> = p.rejectable_order_ids().into_iter().collect();

    // Every order the sandbox created exists exactly once (malformed ones: not at all).
    let mut stored: BTreeMap<String, usize> = BTreeMap::new();
    for status in OrderStatus::ALL {
        for order in orderbridge_cli::local_run::all_orders(&p.ports, status).await.unwrap() {
            *stored.entry(order.key.marketplace_order_id.to_string()).or_default() += 1;
        }
    }
    let expected: BTreeSet<String> = created.iter().filter(|id| !rejectable.contains(*id)).cloned().collect();
    assert_eq!(stored.keys().cloned().collect::<BTreeSet<_>>(), expected, "every created order is stored");
    assert!(stored.values().all(|n| *n == 1), "no order is stored twice: {stored:?}");

    // Every rejected order is listed with its reason.
    let rejected: BTreeSet<String> = p
        .ports
        .orders
        .rejections(&p.account, false)
        .await
        .unwrap()
        .into_iter()
        .inspect(|r| assert!(!r.reason.is_empty()))
        .filter_map(|r| r.marketplace_order_id)
        .collect();
    let rejectable_created: BTreeSet<String> =
        created.iter().filter(|id| rejectable.contains(*id)).cloned().collect();
    assert_eq!(rejected, rejectable_created, "every malformed order is recorded as rejected");

    // What the marketplace received, once per package (a repeat is counted apart).
    let received = p.received_packages();
    let mut by_package: BTreeMap<(String, String), usize> = BTreeMap::new();
    for r in &received {
        *by_package.entry((r.order_id.clone(), r.tracking_number.clone())).or_default() += 1;
    }
    assert!(by_package.values().all(|n| *n == 1), "a package was reported twice: {by_package:?}");
    if p.marketplace == Marketplace::Scx {
        // Amazon absorbs a repeated confirmation (same package reference); SCX has no
        // idempotency key, so a repeat would be a second notice.
        assert_eq!(p.repeated_packages(), 0, "the marketplace saw a package again");
    }

    let mut all_packages = Vec::new();
    for id in &expected {
        let order = p.order(id).await;
        let at_marketplace = p.status_at_marketplace(id);
        // No change applied twice, none lost: the order is where the marketplace has it.
        assert_eq!(Some(order.status()), at_marketplace, "order {id}");
        if released(at_marketplace) {
            assert!(
                order.payment().is_some() && order.customer().is_some(),
                "released order {id} has payment and address"
            );
        }
        if order.status() == OrderStatus::Pending {
            assert!(
                order.customer().is_none() && order.payment().is_none(),
                "pending order {id} holds no customer data"
            );
        }
        for line in &order.lines {
            let shipped: u32 = received
                .iter()
                .filter(|r| &r.order_id == id)
                .flat_map(|r| r.lines.iter())
                .filter(|(item, _)| item == line.item_id.as_str())
                .map(|(_, n)| n)
                .sum();
            assert_eq!(line.quantity_shipped, shipped, "order {id} line {}: units shipped", line.item_id);
        }
        all_packages.extend(p.store.packages(&p.key(id)).await.unwrap());
    }

    // Every recorded package was reported exactly once, with what was recorded.
    let recorded: BTreeSet<(String, String)> = all_packages
        .iter()
        .map(|pk| (pk.order.marketplace_order_id.to_string(), pk.tracking_id().to_string()))
        .collect();
    assert_eq!(
        by_package.keys().cloned().collect::<BTreeSet<_>>(),
        recorded,
        "recorded packages = packages the marketplace received"
    );
    for package in &all_packages {
        assert!(
            matches!(package.state, PackageState::Confirmed { .. }),
            "package {} of {} is {:?}",
            package.id,
            package.order,
            package.state
        );
        if p.marketplace == Marketplace::Amazon {
            let reference = package.id.to_string();
            assert!(received.iter().any(|r| r.order_id == package.order.marketplace_order_id.as_str()
                && r.reference.as_deref() == Some(reference.as_str())));
        }
    }

    // SCX: every event acknowledged was stored first (its raw copy kept before it applied).
    if p.marketplace == Marketplace::Scx {
        let kept: BTreeSet<String> =
            p.store.kept_deliveries(&p.account, None).await.unwrap().into_iter().map(|d| d.id).collect();
        for id in p.sandbox.scx_acknowledged_event_ids() {
            assert!(kept.contains(&id), "event {id} acknowledged but not stored");
        }
    }

    // Pending items in the table hold no customer data, whatever the code path that wrote them.
    let scan = p.store.client().scan().table_name(p.store.table()).send().await.unwrap();
    for item in scan.items.unwrap_or_default() {
        if item.get("status").and_then(|s| s.as_s().ok()).map(String::as_str) == Some("Pending") {
            let state = item["order"].as_m().unwrap()["state"].as_m().unwrap();
            assert!(
                !state.contains_key("customer") && !state.contains_key("payment"),
                "a Pending item holds customer data"
            );
        }
    }
}
