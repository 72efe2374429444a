//! Running it as an operable service: metrics an operator can alarm on (and that carry no buyer
//! data), buyer data that expires, the sweep of long-pending orders, and one account's failure
//! that costs the healthy accounts nothing.

use orderbridge::adapters::emf::EmfMetrics;
use orderbridge::domain::{Marketplace, OrderStatus, PackageState};
use orderbridge::handlers::housekeeping;
use orderbridge::ports::{Clock, MetricsSink, OrderStore, StatusCheck};
use orderbridge::usecases::status::MAX_EARLY_RECHECKS;
use orderbridge::Deadline;
use orderbridge_sandbox::NewOrder;
use orderbridge_tests::{for_each_marketplace, item, moto_url, sdk_config, unique, CapturedOutput, Pipeline};
use serde_json::{json, Value};
use std::sync::Arc;

fn json_lines(captured: &CapturedOutput) -> Vec<Value> {
    captured
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

struct At(chrono::DateTime<chrono::Utc>);

impl Clock for At {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.0
    }
}

/// Checks one line against the embedded metric format specification: the `_aws` member with a
/// millisecond timestamp and one CloudWatchMetrics directive whose dimension sets and metric
/// names all resolve to top-level members of the right types.
fn assert_valid_emf(line: &Value) {
    let aws = &line["_aws"];
    assert!(aws["Timestamp"].as_i64().is_some_and(|t| t > 1_600_000_000_000), "{line}");
    let directives = aws["CloudWatchMetrics"].as_array().expect("CloudWatchMetrics");
    assert_eq!(directives.len(), 1);
    let directive = &directives[0];
    assert_eq!(directive["Namespace"], "Orderbridge");
    for set in directive["Dimensions"].as_array().unwrap() {
        let set = set.as_array().unwrap();
        assert!(set.len() <= 30);
        for dimension in set {
            let name = dimension.as_str().unwrap();
            assert!(line[name].is_string(), "dimension {name} is not a top-level string: {line}");
        }
    }
    let metrics = directive["Metrics"].as_array().unwrap();
    assert!(!metrics.is_empty() && metrics.len() <= 100);
    for metric in metrics {
        let name = metric["Name"].as_str().unwrap();
        assert!(line[name].is_number(), "metric {name} has no numeric value: {line}");
        assert!(["Count", "Seconds"].contains(&metric["Unit"].as_str().unwrap()), "{metric}");
    }
}

#[tokio::test]
async fn metrics_are_valid_emf_per_account_and_carry_no_buyer_data() {
    let mut p = Pipeline::on_moto(orderbridge::domain::Marketplace::Amazon).await;
    let captured = CapturedOutput::default();
    let metrics = Arc::new(EmfMetrics::to_writer("orderbridge-test", Box::new(captured.clone())));
    p.ports.metrics = metrics.clone();

    let pending = p.place(NewOrder::pending(vec![item("A", 1, 990)]));
    let released = p.place(NewOrder::released(vec![item("B", 2, 1990)]));
    p.import().await.unwrap();
    p.sandbox.release_payment(&pending);
    p.drain_status_queue().await;
    let item_id = p.order(&released).await.lines[0].item_id.to_string();
    p.shipment(json!({"record_shipment": {"account_id": "amazon-de", "marketplace_order_id": released,
        "carrier": "DHL", "tracking_id": "T-1", "ship_date": "2026-11-28T10:00:00Z",
        "items": [{"order_item_id": item_id, "quantity": 2}]}}))
        .await
        .unwrap();
    p.shipment(json!({})).await.unwrap();
    housekeeping::handle(&p.ports, json!({}), Deadline::unlimited()).await.unwrap();
    metrics.flush();

    let lines = json_lines(&captured);
    assert!(!lines.is_empty());
    let mut totals = std::collections::BTreeMap::<String, f64>::new();
    for line in &lines {
        assert_valid_emf(line);
        assert_eq!(line["Service"], "orderbridge-test");
        assert_eq!(line["Marketplace"], "amazon");
        assert_eq!(line["Account"], "amazon-de");
        for (name, value) in line.as_object().unwrap() {
            if let Some(n) = value.as_f64() {
                *totals.entry(name.clone()).or_default() += n;
            }
        }
    }
    assert_eq!(totals["OrdersImported"], 2.0);
    assert_eq!(totals["OrdersReleased"], 1.0);
    assert_eq!(totals["PackagesConfirmed"], 1.0);
    assert!(totals.contains_key("ImportLagSeconds"));
    assert!(totals.contains_key("PendingOrders") && totals.contains_key("OldestPendingAgeSeconds"));

    let text = captured.text();
    for value in p.sandbox.buyer_field_values() {
        assert!(!text.contains(&value), "buyer data {value:?} in a metrics line");
    }
}

/// Every string value of every item of the table.
async fn table_strings(p: &Pipeline) -> Vec<String> {
    fn collect(value: &aws_sdk_dynamodb::types::AttributeValue, out: &mut Vec<String>) {
        use aws_sdk_dynamodb::types::AttributeValue as A;
        match value {
            A::S(s) => out.push(s.clone()),
            A::L(items) => items.iter().for_each(|v| collect(v, out)),
            A::M(map) => map.values().for_each(|v| collect(v, out)),
            A::Ss(items) => out.extend(items.iter().cloned()),
            _ => {}
        }
    }
    let client = aws_sdk_dynamodb::Client::new(&sdk_config(&moto_url()).await);
    let mut out = Vec::new();
    let mut start = None;
    loop {
        let page =
            client.scan().table_name(p.store.table()).set_exclusive_start_key(start).send().await.unwrap();
        for item in page.items() {
            item.values().for_each(|v| collect(v, &mut out));
        }
        match page.last_evaluated_key {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => return out,
        }
    }
}

for_each_marketplace!(buyer_data_is_erased_after_the_retention_and_nothing_of_it_is_left_in_the_table);

async fn buyer_data_is_erased_after_the_retention_and_nothing_of_it_is_left_in_the_table(m: Marketplace) {
    let p = Pipeline::on_moto(m).await;
    let shipped = p.place(NewOrder::released(vec![item("A", 1, 990)]));
    let cancelled = p.place(NewOrder::released(vec![item("B", 1, 990)]));
    let open = p.place(NewOrder::released(vec![item("C", 1, 990)]));
    p.import_account().await;
    p.record_whole_order(&shipped, "T-1").await;
    assert_eq!(p.report_shipments().await, 1);
    assert!(p.cancel(&cancelled));
    p.time_passes().await;
    p.sync().await;
    assert_eq!(p.order(&shipped).await.status(), OrderStatus::Shipped);
    assert_eq!(p.order(&cancelled).await.status(), OrderStatus::Cancelled);

    // Within the retention nothing is erased.
    let report = housekeeping::handle(&p.ports, json!({}), Deadline::unlimited()).await.unwrap();
    assert_eq!(report.buyer_data_erased, 0);
    assert!(p.order(&shipped).await.holds_buyer_data());

    // 31 days later (retention 30): the settled orders lose their buyer data, the open one keeps it.
    let later = orderbridge::ports::Ports {
        clock: Arc::new(At(chrono::Utc::now() + chrono::Duration::days(31))),
        ..p.ports.clone()
    };
    let report = housekeeping::handle(&later, json!({}), Deadline::unlimited()).await.unwrap();
    assert_eq!(report.buyer_data_erased, 2);
    // SCX: the events kept for replay hold the same buyer data, and go with it.
    let kept_of_open = p.store.kept_deliveries(&p.account, Some(&open)).await.unwrap().len();
    match m {
        Marketplace::Amazon => assert_eq!((report.kept_deliveries_erased, kept_of_open), (0, 0)),
        Marketplace::Scx => assert!(report.kept_deliveries_erased >= 2 && kept_of_open >= 1, "{report:?}"),
    }
    for id in [&shipped, &cancelled] {
        let order = p.order(id).await;
        assert!(!order.holds_buyer_data(), "{id}");
        assert!(order.history.iter().any(|h| h.event == orderbridge::domain::OrderEvent::BuyerDataErased));
    }
    assert!(p.order(&open).await.holds_buyer_data(), "an order still to ship keeps its address");
    let shipped_order = p.order(&shipped).await;
    assert!(shipped_order.prices().is_some() && shipped_order.payment().is_some(), "business facts stay");
    let packages = p.ports.orders.packages(&p.key(&shipped)).await.unwrap();
    assert!(matches!(packages[0].state, PackageState::Confirmed { .. }));

    // Not a single buyer value of the settled orders is left anywhere in the table.
    let open_order = p.order(&open).await;
    let open_customer = serde_json::to_string(&open_order.customer()).unwrap();
    let strings = table_strings(&p).await;
    for value in p.sandbox.buyer_field_values() {
        if open_customer.contains(&value) {
            continue;
        }
        assert!(!strings.iter().any(|s| s.contains(&value)), "buyer value {value:?} still in the table");
    }
    // Erased once: a second run finds nothing.
    let again = housekeeping::handle(&later, json!({}), Deadline::unlimited()).await.unwrap();
    assert_eq!(again.buyer_data_erased, 0);
}

#[tokio::test]
async fn the_sweep_checks_long_pending_orders_once_without_starting_a_chain() {
    let p = Pipeline::on_moto(orderbridge::domain::Marketplace::Amazon).await;
    let id = p.place(NewOrder::pending(vec![item("A", 1, 990)]));
    p.import().await.unwrap();
    p.status_messages().await; // the import's own first check, not what this test is about

    let report = housekeeping::handle(&p.ports, json!({}), Deadline::unlimited()).await.unwrap();
    assert_eq!((report.pending_orders, report.pending_checks_queued), (1, 0), "young orders wait");

    let later = orderbridge::ports::Ports {
        clock: Arc::new(At(chrono::Utc::now() + chrono::Duration::hours(2))),
        ..p.ports.clone()
    };
    let report = housekeeping::handle(&later, json!({}), Deadline::unlimited()).await.unwrap();
    assert_eq!(report.pending_checks_queued, 1);
    let messages = p.status_messages().await;
    let check: StatusCheck = serde_json::from_str(messages[0].body.as_deref().unwrap()).unwrap();
    assert_eq!(check.attempt, MAX_EARLY_RECHECKS, "one look, no early re-checks");
    p.run_status(messages).await;
    assert!(p.status_messages().await.is_empty(), "still pending, and no chain started");

    p.sandbox.release_payment(&id);
    housekeeping::handle(&later, json!({}), Deadline::unlimited()).await.unwrap();
    p.drain_status_queue().await;
    assert_eq!(p.order(&id).await.status(), OrderStatus::Deliverable);
}

#[tokio::test]
async fn an_account_whose_credentials_fail_costs_the_healthy_account_no_extra_calls() {
    let p = Pipeline::on_moto(orderbridge::domain::Marketplace::Amazon).await;
    // A second account whose refresh token was revoked.
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk_config(&moto_url()).await);
    let secret_id = format!("orderbridge/{}", unique("revoked"));
    let revoked = json!({"client_id": p.seller.amazon().client_id, "client_secret": p.seller.amazon().client_secret,
        "refresh_token": "Atzr|revoked"});
    secrets.create_secret().name(&secret_id).secret_string(revoked.to_string()).send().await.unwrap();
    let broken = orderbridge_cli::local_run::sandbox_account(
        orderbridge::domain::AccountId::parse("amazon-revoked").unwrap(),
        &p.server,
        p.seller.amazon(),
        secret_id,
        0,
    );
    p.ports.accounts.put_account(&broken).await.unwrap();
    p.place(NewOrder::released(vec![item("A", 1, 990)]));

    const RUNS: u64 = 3;
    for _ in 0..RUNS {
        // One scheduled invocation each: the schedule retries nothing (MaximumRetryAttempts 0).
        let error = p.import().await.expect_err("the revoked account is reported");
        assert_eq!(error.error_type(), "AccountsFailed");
        assert!(error.message.contains("amazon-revoked") && !error.message.contains("amazon-de "), "{error}");
    }
    // At most one page per run (a run that finds the account caught up asks nothing): the
    // failing account's runs are never repeated for it, nor for the others.
    let searches = p.sandbox.request_count("searchOrders");
    assert!((1..=RUNS).contains(&searches), "{searches} searchOrders calls in {RUNS} runs");
    assert_eq!(
        p.ports.orders.orders_by_status(OrderStatus::Deliverable, 10, None).await.unwrap().items.len(),
        1
    );
}

#[tokio::test]
async fn an_import_whose_quota_is_used_up_stops_quietly_and_the_next_run_goes_on() {
    let p = Pipeline::on_moto(orderbridge::domain::Marketplace::Amazon).await;
    let id = p.place(NewOrder::released(vec![item("A", 1, 990)]));
    p.sandbox.set_faults(orderbridge_sandbox::FaultConfig {
        search_orders: orderbridge_sandbox::EndpointFaults {
            throttle_percent: 100,
            ..orderbridge_sandbox::EndpointFaults::none()
        },
        ..orderbridge_sandbox::FaultConfig::none()
    });
    let report = orderbridge::handlers::import::handle(
        &p.ports,
        json!({}),
        Deadline::after(std::time::Duration::from_secs(8)),
    )
    .await
    .expect("a used-up quota is not a failure");
    let account = &report.accounts[0];
    assert!(account.throttled && !account.caught_up && account.error.is_none(), "{account:?}");

    p.sandbox.set_faults(orderbridge_sandbox::FaultConfig::none());
    p.import_until_caught_up(3).await;
    assert_eq!(p.order(&id).await.status(), OrderStatus::Deliverable);
}
