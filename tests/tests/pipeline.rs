//! The three functions end to end, over the wire: moto for DynamoDB/SQS/Secrets Manager, the
//! marketplace sandbox for Amazon, the real handlers fed real event payloads.

use orderbridge::domain::OrderStatus;
use orderbridge::handlers::shipment::ShipmentResponse;
use orderbridge::handlers::{ErrorKind, HandlerError};
use orderbridge::ports::StatusCheck;
use orderbridge_sandbox::NewOrder;
use orderbridge_tests::{item, message_with_body, Pipeline};
use serde_json::json;

fn check_of(message: &aws_lambda_events::sqs::SqsMessage) -> StatusCheck {
    serde_json::from_str(message.body.as_deref().unwrap()).unwrap()
}

#[tokio::test]
async fn pending_order_is_promoted_once_payment_is_released() {
    let p = Pipeline::on_moto().await;
    let id = p.place(NewOrder::pending(vec![item("MUG-1", 2, 1999)]));

    let report = p.import().await.unwrap();
    assert_eq!(report.accounts[0].created_pending, 1);
    let pending = p.order(&id).await;
    assert_eq!(pending.status(), OrderStatus::Pending);
    assert!(
        pending.customer().is_none() && pending.payment().is_none(),
        "a Pending order holds no customer data or payment"
    );
    // As Amazon sends it: the items, but no prices before the payment is released.
    assert_eq!(pending.lines[0].quantity_ordered, 2);
    assert_eq!(pending.lines[0].sku.as_deref(), Some("MUG-1"));
    assert!(pending.lines[0].marketplace_product_id.is_some(), "the ASIN is kept");
    assert!(pending.prices().is_none(), "a Pending Amazon order carries no prices");
    assert_eq!(pending.currency.map(|c| c.code()), Some("EUR"), "the marketplace's currency, not an amount");
    assert!(p.ports.orders.rejections(&p.account, true).await.unwrap().is_empty(), "nothing rejected");

    let messages = p.status_messages().await;
    assert_eq!(messages.len(), 1, "every Pending order becomes a status check");
    assert_eq!(check_of(&messages[0]).marketplace_order_id.as_str(), id);

    p.sandbox.release_payment(&id);
    let response = p.run_status(messages).await;
    assert!(response.batch_item_failures.is_empty());

    let order = p.order(&id).await;
    assert_eq!(order.status(), OrderStatus::Deliverable);
    let payment = order.payment().expect("payment recorded");
    assert_eq!(payment.amount.minor_units, 3998);
    assert_eq!(payment.amount.currency.code(), "EUR");
    let prices = order.prices().expect("prices arrive with the release");
    assert_eq!(prices.unit_price(&order.lines[0].item_id).map(|m| m.minor_units), Some(1999));
    assert_eq!(prices.total.minor_units, 3998);
    let customer = order.customer().expect("customer stored");
    let sent = p.sandbox.order_json(&id).unwrap();
    assert_eq!(
        customer.shipping_address.name,
        sent["recipient"]["deliveryAddress"]["name"].as_str().unwrap()
    );
    assert_eq!(
        customer.shipping_address.city,
        sent["recipient"]["deliveryAddress"]["city"].as_str().unwrap()
    );
    assert_eq!(customer.buyer_email.as_deref(), sent["buyer"]["buyerEmail"].as_str());
}

#[tokio::test]
async fn released_order_is_imported_directly_as_deliverable() {
    let p = Pipeline::on_moto().await;
    let id = p.place(NewOrder::released(vec![item("MUG-1", 1, 1250), item("PLATE-2", 3, 500)]));

    let report = p.import().await.unwrap();
    assert_eq!(report.accounts[0].created_deliverable, 1);
    let order = p.order(&id).await;
    assert_eq!(order.status(), OrderStatus::Deliverable);
    assert_eq!(order.payment().unwrap().amount.minor_units, 2750);
    assert!(order.customer().is_some());
    assert_eq!(order.lines.len(), 2);
    assert!(p.status_messages().await.is_empty(), "a released order needs no status check");
}

#[tokio::test]
async fn reimport_changes_nothing() {
    let p = Pipeline::on_moto().await;
    let pending = p.place(NewOrder::pending(vec![item("A", 1, 100)]));
    let released = p.place(NewOrder::released(vec![item("B", 1, 100)]));
    p.import().await.unwrap();
    p.status_messages().await;
    let before = (p.order(&pending).await, p.order(&released).await);

    // Next second: the new window overlaps the last one, so both orders are seen again.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let again = p.import().await.unwrap();
    assert_eq!(again.accounts[0].created_pending + again.accounts[0].created_deliverable, 0);
    assert_eq!(again.accounts[0].unchanged, 2);
    // A console run of one account from scratch: still nothing new.
    p.import_event(json!({"accounts": ["amazon-de"]})).await.unwrap();
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
}

#[tokio::test]
async fn repeated_and_concurrent_status_messages_promote_once() {
    let p = Pipeline::on_moto().await;
    let id = p.place(NewOrder::pending(vec![item("A", 1, 990)]));
    p.import().await.unwrap();
    let message = p.status_messages().await.remove(0);
    p.sandbox.release_payment(&id);

    // The same message three times in one batch and twice concurrently in two invocations.
    let (a, b) = tokio::join!(
        p.run_status(vec![message.clone(), message.clone(), message.clone()]),
        p.run_status(vec![message.clone()])
    );
    assert!(a.batch_item_failures.is_empty() && b.batch_item_failures.is_empty());
    let promoted = p.order(&id).await;
    assert_eq!(promoted.status(), OrderStatus::Deliverable);
    assert_eq!(promoted.version, 2, "exactly one promotion was written");

    p.run_status(vec![message]).await;
    assert_eq!(p.order(&id).await, promoted, "a late duplicate changes nothing");
    assert!(p.status_messages().await.is_empty());
}

#[tokio::test]
async fn still_pending_order_is_checked_again_later_with_a_growing_delay() {
    let p = Pipeline::on_moto().await;
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
async fn cancelled_pending_order_becomes_cancelled() {
    let p = Pipeline::on_moto().await;
    let id = p.place(NewOrder::pending(vec![item("A", 1, 990)]));
    p.import().await.unwrap();
    p.sandbox.cancel(&id);
    p.drain_status_queue().await;
    let order = p.order(&id).await;
    assert_eq!(order.status(), OrderStatus::Cancelled);
    assert!(order.customer().is_none());
}

#[tokio::test]
async fn import_applies_a_release_its_order_list_shows_without_a_status_check() {
    let p = Pipeline::on_moto().await;
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

fn record_event(order: &str, tracking: &str, items: serde_json::Value) -> serde_json::Value {
    json!({"record_shipment": {
        "account_id": "amazon-de",
        "marketplace_order_id": order,
        "carrier": "DHL",
        "tracking_id": tracking,
        "ship_date": "2026-11-28T10:00:00Z",
        "shipping_method": "Paket",
        "items": items,
    }})
}

#[tokio::test]
async fn shipment_is_confirmed_exactly_once_and_order_is_shipped() {
    let p = Pipeline::on_moto().await;
    let id = p.place(NewOrder::released(vec![item("A", 2, 990)]));
    p.import().await.unwrap();
    let item_id = p.order(&id).await.lines[0].item_id.to_string();

    let event = record_event(&id, "00340434161234567890", json!([{"order_item_id": item_id, "quantity": 2}]));
    let recorded = p.shipment(event.clone()).await.unwrap();
    assert!(matches!(recorded, ShipmentResponse::Recorded(ref r) if r.package_id == 1 && r.newly_recorded));
    // The console event sent twice records the package once.
    let again = p.shipment(event).await.unwrap();
    assert!(matches!(again, ShipmentResponse::Recorded(ref r) if r.package_id == 1 && !r.newly_recorded));
    assert_eq!(p.order(&id).await.status(), OrderStatus::Deliverable, "recorded, not yet reported");

    let ShipmentResponse::Reported(report) = p.shipment(json!({})).await.unwrap() else {
        panic!("expected a report")
    };
    assert_eq!(report.reported, 1);
    let ShipmentResponse::Reported(second) = p.shipment(json!({})).await.unwrap() else {
        panic!("expected a report")
    };
    assert_eq!(second.reported, 0, "a reported package is never reported again");

    let confirmations = p.sandbox.confirmations();
    assert_eq!(confirmations.len(), 1);
    let c = &confirmations[0];
    assert_eq!((c.order_id.as_str(), c.package_reference_id.as_str()), (id.as_str(), "1"));
    assert_eq!((c.carrier_code.as_str(), c.tracking_number.as_str()), ("DHL", "00340434161234567890"));
    assert_eq!(c.shipping_method.as_deref(), Some("Paket"));
    assert_eq!(c.items, vec![(item_id, 2)]);
    assert_eq!(p.sandbox.duplicate_confirmations(), 0);
    assert_eq!(p.order(&id).await.status(), OrderStatus::Shipped);
    assert_eq!(p.sandbox.order_status(&id).as_deref(), Some("SHIPPED"));
}

#[tokio::test]
async fn a_split_shipment_marks_the_order_partially_then_fully_shipped() {
    let p = Pipeline::on_moto().await;
    let id = p.place(NewOrder::released(vec![item("A", 3, 990)]));
    p.import().await.unwrap();
    let item_id = p.order(&id).await.lines[0].item_id.to_string();

    p.shipment(record_event(&id, "TRACK-1", json!([{"order_item_id": item_id, "quantity": 1}])))
        .await
        .unwrap();
    p.shipment(json!({"accounts": ["amazon-de"]})).await.unwrap();
    assert_eq!(p.order(&id).await.status(), OrderStatus::PartiallyShipped);

    // More than what is left is refused.
    let too_many =
        p.shipment(record_event(&id, "TRACK-2", json!([{"order_item_id": item_id, "quantity": 3}]))).await;
    assert!(
        matches!(too_many, Err(HandlerError { kind: ErrorKind::ShipmentRefused, ref message, .. }) if message.contains("only 2 left")),
        "{too_many:?}"
    );

    p.shipment(record_event(&id, "TRACK-2", json!([{"order_item_id": item_id, "quantity": 2}])))
        .await
        .unwrap();
    p.shipment(json!({})).await.unwrap();
    assert_eq!(p.order(&id).await.status(), OrderStatus::Shipped);
    let references: Vec<String> =
        p.sandbox.confirmations().into_iter().map(|c| c.package_reference_id).collect();
    assert_eq!(references, vec!["1", "2"]);
}

#[tokio::test]
async fn shipping_a_pending_order_is_refused() {
    let p = Pipeline::on_moto().await;
    let id = p.place(NewOrder::pending(vec![item("A", 1, 990)]));
    p.import().await.unwrap();
    let item_id = p.order(&id).await.lines[0].item_id.to_string();
    let refused =
        p.shipment(record_event(&id, "TRACK-1", json!([{"order_item_id": item_id, "quantity": 1}]))).await;
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
    p.shipment(json!({})).await.unwrap();
    assert!(p.sandbox.confirmations().is_empty());
}

#[tokio::test]
async fn import_killed_half_way_is_resumed_without_loss_or_duplicates() {
    let p = Pipeline::on_moto().await;
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

    let report = p.import().await.unwrap();
    assert!(report.accounts[0].caught_up);
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
    assert_eq!(report.accounts[0].created_deliverable as usize + stored_at_kill, ids.len());
}

#[tokio::test]
async fn bad_console_events_are_refused_naming_the_field() {
    let p = Pipeline::on_moto().await;
    p.place(NewOrder::released(vec![item("A", 1, 990)]));
    let cases = [
        (json!({"acounts": ["amazon-de"]}), "acounts", ErrorKind::InvalidEvent),
        (json!({"accounts": "amazon-de"}), "sequence", ErrorKind::InvalidEvent),
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
            json!({"record_shipment": {"account_id": "amazon-de", "marketplace_order_id": "1", "tracking_id": "T", "ship_date": "2026-11-28T10:00:00Z", "items": []}}),
            "carrier",
        ),
        (
            json!({"record_shipment": {"account_id": "amazon-de", "marketplace_order_id": "1", "carrier": "DHL", "tracking_id": "T", "ship_date": "tomorrow", "items": []}}),
            "ship_date",
        ),
        (
            json!({"accounts": ["amazon-de"], "record_shipment": {"account_id": "amazon-de", "marketplace_order_id": "1", "carrier": "DHL", "tracking_id": "T", "ship_date": "2026-11-28T10:00:00Z", "items": []}}),
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
    // The real SQS event sample is read as a status check: its order is unknown to the
    // marketplace here, so its one message fails, and with it the whole (one-message) batch.
    let sample: serde_json::Value =
        serde_json::from_str(include_str!("../../events/status-sqs.json")).unwrap();
    let outcome =
        orderbridge::handlers::status::handle_payload(&p.ports, sample, orderbridge::Deadline::unlimited())
            .await;
    assert!(matches!(outcome, Err(HandlerError { kind: ErrorKind::BatchFailed, .. })), "{outcome:?}");
    assert_eq!(p.sandbox.request_count("searchOrders"), 0, "a bad event does nothing else");
    assert!(p
        .ports
        .orders
        .orders_by_status(OrderStatus::Deliverable, 10, None)
        .await
        .unwrap()
        .items
        .is_empty());
}

#[tokio::test]
async fn a_malformed_status_message_fails_only_itself() {
    let p = Pipeline::on_moto().await;
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
