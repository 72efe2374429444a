//! The three functions end to end, over the wire: moto for DynamoDB/SQS/Secrets Manager, the
//! marketplace sandbox, the real handlers fed real event payloads. Every guarantee is proven
//! for each marketplace by the same test (`amazon::…` and `scx::…`); the tests after those are
//! about Amazon's order query, which the status function polls (SCX has none: its feed brings
//! every change to the import).

use orderbridge::domain::{Marketplace, OrderStatus};
use orderbridge::handlers::shipment::ShipmentResponse;
use orderbridge::handlers::{ErrorKind, HandlerError};
use orderbridge::ports::StatusCheck;
use orderbridge_sandbox::{FaultConfig, NewOrder};
use orderbridge_tests::{for_each_marketplace, item, message_with_body, Pipeline};
use serde_json::json;

for_each_marketplace!(
    pending_order_is_promoted_once_payment_is_released,
    released_order_is_imported_directly_as_deliverable,
    reimport_changes_nothing,
    repeated_and_concurrent_news_of_a_release_promote_once,
    cancelled_pending_order_becomes_cancelled,
    shipment_is_confirmed_exactly_once_and_order_is_shipped,
    a_split_shipment_marks_the_order_partially_then_fully_shipped,
    shipping_a_pending_order_is_refused,
    import_killed_half_way_is_resumed_without_loss_or_duplicates,
    bad_console_events_are_refused_naming_the_field,
);

fn check_of(message: &aws_lambda_events::sqs::SqsMessage) -> StatusCheck {
    serde_json::from_str(message.body.as_deref().unwrap()).unwrap()
}

async fn pending_order_is_promoted_once_payment_is_released(m: Marketplace) {
    let p = Pipeline::on_moto(m).await;
    let id = p.place(NewOrder::pending(vec![item("MUG-1", 2, 1999)]));

    let run = p.import_account().await;
    assert_eq!(run.created_pending, 1, "{run:?}");
    let pending = p.order(&id).await;
    assert_eq!(pending.status(), OrderStatus::Pending);
    assert!(
        pending.customer().is_none() && pending.payment().is_none(),
        "a Pending order holds no customer data or payment"
    );
    assert_eq!(pending.lines[0].quantity_ordered, 2);
    assert_eq!(pending.lines[0].sku.as_deref(), Some("MUG-1"));
    assert!(pending.lines[0].marketplace_product_id.is_some(), "the ASIN / channel offer id is kept");
    assert_eq!(pending.currency.map(|c| c.code()), Some("EUR"));
    assert!(p.ports.orders.rejections(&p.account, true).await.unwrap().is_empty(), "nothing rejected");

    p.release(&id);
    match m {
        Marketplace::Amazon => {
            // As Amazon sends it: the items, but no prices before the payment is released.
            assert!(pending.prices().is_none(), "a Pending Amazon order carries no prices");
            let messages = p.status_messages().await;
            assert_eq!(messages.len(), 1, "every Pending order becomes a status check");
            assert_eq!(check_of(&messages[0]).marketplace_order_id.as_str(), id);
            assert!(p.run_status(messages).await.batch_item_failures.is_empty());
        }
        Marketplace::Scx => {
            assert_eq!(pending.prices().map(|p| p.total.minor_units), Some(3998), "SCX sends prices at once");
            assert!(
                p.status_messages().await.is_empty(),
                "no order query to poll: the feed brings the release"
            );
            assert_eq!(p.import_account().await.released, 1);
        }
    }

    let order = p.order(&id).await;
    assert_eq!(order.status(), OrderStatus::Deliverable);
    let payment = order.payment().expect("payment recorded");
    assert_eq!(payment.amount.minor_units, 3998);
    assert_eq!(payment.amount.currency.code(), "EUR");
    let prices = order.prices().expect("prices arrive with the release");
    assert_eq!(prices.unit_price(&order.lines[0].item_id).map(|m| m.minor_units), Some(1999));
    assert_eq!(prices.total.minor_units, 3998);
    let customer = order.customer().expect("customer stored");
    let buyer_data = p.sandbox.buyer_field_values();
    let email = customer.buyer_email.clone().expect("the buyer's e-mail");
    assert!(buyer_data.contains(&email), "the marketplace's buyer, not another");
    assert_eq!(customer.shipping_address.country_code, "DE");
}

async fn released_order_is_imported_directly_as_deliverable(m: Marketplace) {
    let p = Pipeline::on_moto(m).await;
    let id = p.place(NewOrder::released(vec![item("MUG-1", 1, 1250), item("PLATE-2", 3, 500)]));

    let run = p.import_account().await;
    assert_eq!(run.created_deliverable, 1, "{run:?}");
    let order = p.order(&id).await;
    assert_eq!(order.status(), OrderStatus::Deliverable);
    assert_eq!(order.payment().unwrap().amount.minor_units, 2750);
    assert!(order.customer().is_some());
    assert_eq!(order.lines.len(), 2);
    assert!(p.status_messages().await.is_empty(), "a released order needs no status check");
}

async fn reimport_changes_nothing(m: Marketplace) {
    let p = Pipeline::on_moto(m).await;
    // Amazon shows the orders again in the next, overlapping window; SCX delivers its events
    // again when their acknowledgement was lost.
    p.sandbox.set_faults(FaultConfig { lost_ack_percent: 100, ..FaultConfig::none() });
    let pending = p.place(NewOrder::pending(vec![item("A", 1, 100)]));
    let released = p.place(NewOrder::released(vec![item("B", 1, 100)]));
    p.import_account().await;
    p.status_messages().await;
    let before = (p.order(&pending).await, p.order(&released).await);
    p.sandbox.set_faults(FaultConfig::none());

    p.time_passes().await;
    let again = p.import_account().await;
    assert_eq!(again.created_pending + again.created_deliverable, 0, "{again:?}");
    assert_eq!(again.unchanged, 2, "{again:?}");
    // A console run of one account: still nothing new.
    p.import_event(json!({"accounts": [p.account.as_str()]})).await.unwrap();
    assert_eq!(
        (p.order(&pending).await, p.order(&released).await),
        before,
        "re-import must not touch stored orders"
    );
    let messages = p.status_messages().await;
    assert!(
        messages.is_empty(),
        "nothing changed, so nothing to check: {:?} {again:?}",
        messages.iter().map(|m| m.body.clone()).collect::<Vec<_>>()
    );
    assert!(p.nothing_left_to_deliver());
}

async fn repeated_and_concurrent_news_of_a_release_promote_once(m: Marketplace) {
    let p = Pipeline::on_moto(m).await;
    let id = p.place(NewOrder::pending(vec![item("A", 1, 990)]));
    p.import_account().await;
    let checks = p.status_messages().await;
    // SCX: every event of the release comes twice, under ids of its own.
    p.sandbox.set_faults(FaultConfig { duplicate_event_percent: 100, ..FaultConfig::none() });
    p.release(&id);

    match m {
        Marketplace::Amazon => {
            // The same message three times in one batch and twice concurrently in two invocations.
            let message = checks.into_iter().next().expect("a status check");
            let (a, b) = tokio::join!(
                p.run_status(vec![message.clone(), message.clone(), message.clone()]),
                p.run_status(vec![message.clone()])
            );
            assert!(a.batch_item_failures.is_empty() && b.batch_item_failures.is_empty());
            assert_eq!(p.order(&id).await.version, 2, "exactly one promotion was written");
            p.run_status(vec![message]).await;
        }
        Marketplace::Scx => {
            // Two runs at once (schedule and console), then the lot again as if unacknowledged.
            let (a, b) = tokio::join!(p.import(), p.import());
            let released: u32 = [a, b].into_iter().map(|r| r.unwrap().accounts[0].released).sum();
            assert_eq!(released, 1, "exactly one promotion");
            p.sandbox.set_faults(FaultConfig::none());
            let promoted = p.order(&id).await;
            p.time_passes().await;
            assert_eq!(p.import_account().await.released, 0);
            assert_eq!(p.order(&id).await, promoted);
        }
    }
    let promoted = p.order(&id).await;
    assert_eq!(promoted.status(), OrderStatus::Deliverable);
    p.sync().await;
    assert_eq!(p.order(&id).await, promoted, "a late duplicate changes nothing");
    assert!(p.status_messages().await.is_empty());
    assert!(p.nothing_left_to_deliver());
}

async fn cancelled_pending_order_becomes_cancelled(m: Marketplace) {
    let p = Pipeline::on_moto(m).await;
    let id = p.place(NewOrder::pending(vec![item("A", 1, 990)]));
    p.import_account().await;
    assert!(p.cancel(&id));
    p.time_passes().await;
    p.sync().await;
    let order = p.order(&id).await;
    assert_eq!(order.status(), OrderStatus::Cancelled);
    assert!(order.customer().is_none());
}

async fn shipment_is_confirmed_exactly_once_and_order_is_shipped(m: Marketplace) {
    let p = Pipeline::on_moto(m).await;
    let id = p.place(NewOrder::released(vec![item("A", 2, 990)]));
    p.import_account().await;
    let item_id = p.order(&id).await.lines[0].item_id.to_string();

    let event =
        p.record_event(&id, "00340434161234567890", json!([{"order_item_id": item_id, "quantity": 2}]));
    let recorded = p.shipment(event.clone()).await.unwrap();
    assert!(matches!(recorded, ShipmentResponse::Recorded(ref r) if r.package_id == 1 && r.newly_recorded));
    // The console event sent twice records the package once.
    let again = p.shipment(event).await.unwrap();
    assert!(matches!(again, ShipmentResponse::Recorded(ref r) if r.package_id == 1 && !r.newly_recorded));
    assert_eq!(p.order(&id).await.status(), OrderStatus::Deliverable, "recorded, not yet reported");

    assert_eq!(p.report_shipments().await, 1);
    assert_eq!(p.report_shipments().await, 0, "a reported package is never reported again");

    let received = p.received_packages();
    assert_eq!(received.len(), 1);
    let c = &received[0];
    assert_eq!((c.order_id.as_str(), c.tracking_number.as_str()), (id.as_str(), "00340434161234567890"));
    assert_eq!(c.lines, vec![(item_id, 2)]);
    match m {
        Marketplace::Amazon => {
            assert_eq!(c.reference.as_deref(), Some("1"));
            assert_eq!(c.shipping_method.as_deref(), Some("Paket"));
        }
        Marketplace::Scx => {
            assert!(p.sandbox.scx_shipping_notices()[0].shipping_complete, "the package completes the order")
        }
    }
    assert_eq!(p.repeated_packages(), 0);
    assert_eq!(p.order(&id).await.status(), OrderStatus::Shipped);
    assert_eq!(p.status_at_marketplace(&id), Some(OrderStatus::Shipped));
}

async fn a_split_shipment_marks_the_order_partially_then_fully_shipped(m: Marketplace) {
    let p = Pipeline::on_moto(m).await;
    let id = p.place(NewOrder::released(vec![item("A", 3, 990)]));
    p.import_account().await;
    let item_id = p.order(&id).await.lines[0].item_id.to_string();

    p.shipment(p.record_event(&id, "TRACK-1", json!([{"order_item_id": item_id, "quantity": 1}])))
        .await
        .unwrap();
    p.shipment(json!({"accounts": [p.account.as_str()]})).await.unwrap();
    assert_eq!(p.order(&id).await.status(), OrderStatus::PartiallyShipped);
    assert_eq!(p.status_at_marketplace(&id), Some(OrderStatus::PartiallyShipped));

    // More than what is left is refused.
    let too_many =
        p.shipment(p.record_event(&id, "TRACK-2", json!([{"order_item_id": item_id, "quantity": 3}]))).await;
    assert!(
        matches!(too_many, Err(HandlerError { kind: ErrorKind::ShipmentRefused, ref message, .. }) if message.contains("only 2 left")),
        "{too_many:?}"
    );

    p.shipment(p.record_event(&id, "TRACK-2", json!([{"order_item_id": item_id, "quantity": 2}])))
        .await
        .unwrap();
    p.report_shipments().await;
    assert_eq!(p.order(&id).await.status(), OrderStatus::Shipped);
    assert_eq!(p.status_at_marketplace(&id), Some(OrderStatus::Shipped));
    let tracking: Vec<String> = p.received_packages().into_iter().map(|c| c.tracking_number).collect();
    assert_eq!(tracking, vec!["TRACK-1", "TRACK-2"]);
    if m == Marketplace::Amazon {
        let references: Vec<String> = p.received_packages().into_iter().filter_map(|c| c.reference).collect();
        assert_eq!(references, vec!["1", "2"]);
    }
}

async fn shipping_a_pending_order_is_refused(m: Marketplace) {
    let p = Pipeline::on_moto(m).await;
    let id = p.place(NewOrder::pending(vec![item("A", 1, 990)]));
    p.import_account().await;
    let item_id = p.order(&id).await.lines[0].item_id.to_string();
    let refused =
        p.shipment(p.record_event(&id, "TRACK-1", json!([{"order_item_id": item_id, "quantity": 1}]))).await;
    match refused {
        Err(error @ HandlerError { kind: ErrorKind::ShipmentRefused, .. }) => {
            let message = error.to_string();
            assert!(
                message.contains(&id) && message.contains("Pending") && message.contains("cannot ship"),
                "{message}"
            );
            assert!(!message.contains("invalid"), "a refusal is not a malformed event: {message}");
            assert_eq!(error.error_type(), "ShipmentRefused");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    p.report_shipments().await;
    assert!(p.received_packages().is_empty());
}

async fn import_killed_half_way_is_resumed_without_loss_or_duplicates(m: Marketplace) {
    let p = Pipeline::on_moto(m).await;
    let ids: Vec<String> =
        (0..230).map(|i| p.place(NewOrder::released(vec![item(&format!("SKU-{i}"), 1, 100)]))).collect();

    // Kill the import as soon as part of the first page is stored.
    let run = {
        let ports = p.ports.clone();
        tokio::spawn(async move {
            orderbridge::handlers::import::handle(
                &ports,
                orderbridge_tests::scheduled_event(),
                orderbridge::Deadline::unlimited(),
            )
            .await
        })
    };
    loop {
        let stored =
            p.ports.orders.orders_by_status(OrderStatus::Deliverable, 1000, None).await.unwrap().items.len();
        if stored >= 20 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    run.abort();
    let _ = run.await;
    let stored_at_kill =
        p.ports.orders.orders_by_status(OrderStatus::Deliverable, 1000, None).await.unwrap().items.len();
    assert!(stored_at_kill < ids.len(), "the run must have been killed half-way ({stored_at_kill} stored)");

    // SCX: what the killed run fetched and did not acknowledge comes again.
    p.redeliver_unacknowledged();
    let run = p.import_account().await;
    assert!(run.caught_up && p.nothing_left_to_deliver(), "{run:?}");
    let mut stored: Vec<String> = orderbridge_cli::local_run::all_orders(&p.ports, OrderStatus::Deliverable)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key.marketplace_order_id.to_string())
        .collect();
    stored.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(stored, expected, "every order stored exactly once");
    assert_eq!(run.created_deliverable as usize + stored_at_kill, ids.len());
}

async fn bad_console_events_are_refused_naming_the_field(m: Marketplace) {
    let p = Pipeline::on_moto(m).await;
    p.place(NewOrder::released(vec![item("A", 1, 990)]));
    let account = p.account.as_str();
    let cases = [
        (json!({"acounts": [account]}), "acounts", ErrorKind::InvalidEvent),
        (json!({"accounts": account}), "sequence", ErrorKind::InvalidEvent),
        (json!({"accounts": []}), "accounts", ErrorKind::InvalidEvent),
        (json!({"accounts": ["nope"]}), "nope", ErrorKind::UnknownAccount),
        (json!([1, 2]), "JSON object", ErrorKind::InvalidEvent),
    ];
    for (event, named, kind) in cases {
        match p.import_event(event.clone()).await {
            Err(error) => {
                assert_eq!(error.kind, kind, "{event}: {error}");
                assert!(error.message.contains(named), "{event}: {error}")
            }
            other => panic!("{event}: expected an error, got {other:?}"),
        }
    }
    let shipment_cases = [
        (
            json!({"record_shipment": {"account_id": account, "marketplace_order_id": "1", "tracking_id": "T", "ship_date": "2026-11-28T10:00:00Z", "items": []}}),
            "carrier",
        ),
        (
            json!({"record_shipment": {"account_id": account, "marketplace_order_id": "1", "carrier": "DHL", "tracking_id": "T", "ship_date": "tomorrow", "items": []}}),
            "ship_date",
        ),
        (
            json!({"accounts": [account], "record_shipment": {"account_id": account, "marketplace_order_id": "1", "carrier": "DHL", "tracking_id": "T", "ship_date": "2026-11-28T10:00:00Z", "items": []}}),
            "not both",
        ),
    ];
    for (event, named) in shipment_cases {
        match p.shipment(event.clone()).await {
            Err(HandlerError { kind: ErrorKind::InvalidEvent, message, .. }) => {
                assert!(message.contains(named), "{event}: {message}")
            }
            other => panic!("{event}: expected a bad-event error, got {other:?}"),
        }
    }
    for (event, named) in [(json!({}), "Records"), (json!({"Records": [{"body": 7}]}), "Records[0].body")] {
        match orderbridge::handlers::status::handle_payload(
            &p.ports,
            event.clone(),
            orderbridge::Deadline::unlimited(),
        )
        .await
        {
            Err(HandlerError { kind: ErrorKind::InvalidEvent, message, .. }) => {
                assert!(message.contains(named), "{event}: {message}")
            }
            other => panic!("{event}: expected a bad-event error, got {other:?}"),
        }
    }
    // The real SQS event sample is read as a status check: its order is unknown here, so its
    // one message fails, and with it the whole (one-message) batch.
    let sample: serde_json::Value =
        serde_json::from_str(include_str!("../../events/status-sqs.json")).unwrap();
    let outcome =
        orderbridge::handlers::status::handle_payload(&p.ports, sample, orderbridge::Deadline::unlimited())
            .await;
    assert!(matches!(outcome, Err(HandlerError { kind: ErrorKind::BatchFailed, .. })), "{outcome:?}");
    assert_eq!(p.change_requests(), 0, "a bad event does nothing else");
    assert!(p
        .ports
        .orders
        .orders_by_status(OrderStatus::Deliverable, 10, None)
        .await
        .unwrap()
        .items
        .is_empty());
}

// Amazon's order query, polled by the status function.

#[tokio::test]
async fn still_pending_order_is_checked_again_later_with_a_growing_delay() {
    let p = Pipeline::on_moto(Marketplace::Amazon).await;
    let id = p.place(NewOrder::pending(vec![item("A", 1, 990)]));
    p.import().await.unwrap();
    let first = p.status_messages().await;
    let response = p.run_status(first).await;
    assert!(response.batch_item_failures.is_empty(), "a still-pending order is not a failure");
    assert_eq!(p.order(&id).await.status(), OrderStatus::Pending);
    // The re-check is on the queue but delayed (moto holds it back like SQS).
    assert!(p.status_messages().await.is_empty(), "the re-check must wait");
    let attributes = p
        .sqs
        .get_queue_attributes()
        .queue_url(&p.queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesDelayed)
        .send()
        .await
        .unwrap();
    let delayed = attributes.attributes().unwrap()
        [&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesDelayed]
        .clone();
    assert_eq!(delayed, "1");
    let settings = p.ports.settings;
    assert!(settings.recheck_delay(1) > settings.recheck_delay(0));
    assert_eq!(p.sandbox.request_count("getOrder"), 1, "one marketplace call per check, no polling loop");
}

#[tokio::test]
async fn import_applies_a_release_its_order_list_shows_without_a_status_check() {
    let p = Pipeline::on_moto(Marketplace::Amazon).await;
    let id = p.place(NewOrder::pending(vec![item("A", 1, 990)]));
    p.import().await.unwrap();
    p.status_messages().await; // the first check was lost in time; the import must catch up
    p.sandbox.release_payment(&id);
    // The release happened "now"; windows end at whole seconds.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let report = p.import().await.unwrap();
    assert_eq!((report.accounts[0].updated, report.accounts[0].released), (1, 1));
    // searchOrders brings prices and address with the release: no getOrder needed.
    assert_eq!(report.accounts[0].status_checks_queued, 0);
    assert_eq!(p.drain_status_queue().await, 0);
    let order = p.order(&id).await;
    assert_eq!(order.status(), OrderStatus::Deliverable);
    assert!(order.customer().is_some());
}

#[tokio::test]
async fn a_malformed_status_message_fails_only_itself() {
    let p = Pipeline::on_moto(Marketplace::Amazon).await;
    let id = p.place(NewOrder::pending(vec![item("A", 1, 990)]));
    p.import().await.unwrap();
    let good = p.status_messages().await.remove(0);
    p.sandbox.release_payment(&id);
    let response = p
        .run_status(vec![
            message_with_body("bad-1", "not json"),
            good,
            message_with_body("bad-2", r#"{"account_id":"nobody","marketplace_order_id":"1"}"#),
        ])
        .await;
    let failed: Vec<&str> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
    assert_eq!(failed, vec!["bad-1", "bad-2"]);
    assert_eq!(p.order(&id).await.status(), OrderStatus::Deliverable);
}
