//! `PUT /v1/seller/order/shipping`: every call is a notice of its own (no idempotency), and
//! what the seller API refuses.

mod scx_common;

use orderbridge_sandbox::{EndpointFaults, FaultConfig, NewScxOrder, ScxOrderKey};
use reqwest::StatusCode;
use scx_common::{item, line_ids, shipping_body, unthrottled, ScxHarness, KAUFLAND, OTTO};
use serde_json::json;

fn accepted(h: &ScxHarness, quantity: u32) -> (ScxOrderKey, String) {
    let key = h.order(OTTO, NewScxOrder::accepted(vec![item("A", quantity, 1000)]).shipping(495));
    let line = line_ids(&h.sandbox, &key).remove(0);
    (key, line)
}

#[tokio::test]
async fn every_shipping_notice_is_recorded_and_a_repeat_is_a_second_notice() {
    let h = ScxHarness::new(unthrottled()).await;
    let (key, line) = accepted(&h, 2);
    let token = h.token().await;
    let body = shipping_body(&key, "00340434161094042557", &[(&line, 2)], true);
    let first = h.put("/v1/seller/order/shipping", &token, &body).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    assert_eq!(first.body, serde_json::Value::Null);
    let repeat = h.put("/v1/seller/order/shipping", &token, &body).await;
    assert_eq!(repeat.status, StatusCode::CREATED, "not idempotent, and not refused either");

    let notices = h.sandbox.scx_shipping_notices();
    assert_eq!(notices.len(), 2);
    assert_eq!((notices[0].duplicate, notices[1].duplicate), (false, true));
    assert_eq!(h.sandbox.scx_duplicate_shipping_notices(), 1);
    assert_eq!(notices[1].order, key);
    assert!(notices[1].shipping_complete);
    assert_eq!(notices[1].packages[0].tracking_number, "00340434161094042557");
    assert_eq!(notices[1].packages[0].lines, vec![(line.clone(), 2)]);
    assert_eq!(notices[1].body, body["orderList"][0]);
    assert_eq!(h.sandbox.scx_shipped_units(&key, &line), Some(2), "the repeat shipped nothing more");
    assert_eq!(h.sandbox.scx_request_bodies("shipping").len(), 2);

    // The channel confirmed the line once: the seller can reconcile a lost answer by events.
    let events = h.events_of(&key);
    assert_eq!(scx_common::types(&events), vec![scx_common::NEW, scx_common::STATUS]);
    assert_eq!(
        events[1]["event"]["orderItems"],
        json!([{ "orderItemId": line, "itemStatus": "SHIPPED", "paymentStatus": "PENDING" }])
    );
}

#[tokio::test]
async fn units_ship_once_per_tracking_number_and_never_beyond_the_open_quantity() {
    let h = ScxHarness::new(unthrottled()).await;
    let (key, line) = accepted(&h, 2);
    let token = h.token().await;
    let three =
        h.put("/v1/seller/order/shipping", &token, &shipping_body(&key, "T-1", &[(&line, 3)], true)).await;
    assert_eq!(three.status, StatusCode::BAD_REQUEST);
    assert_eq!(three.error_code(), "VAL100");
    for tracking in ["T-1", "T-2"] {
        let r = h
            .put("/v1/seller/order/shipping", &token, &shipping_body(&key, tracking, &[(&line, 1)], false))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let third =
        h.put("/v1/seller/order/shipping", &token, &shipping_body(&key, "T-3", &[(&line, 1)], true)).await;
    assert_eq!(third.status, StatusCode::BAD_REQUEST, "both units shipped");
    assert!(third.error_messages().contains("0 are open"), "{}", third.body);
    assert_eq!(h.sandbox.scx_shipping_notices().len(), 2, "a refused notice is not recorded");
    assert_eq!(h.sandbox.scx_order_json(&key).unwrap()["orderItem"][0]["itemStatus"], "SHIPPED");
}

#[tokio::test]
async fn only_accepted_orders_ship() {
    let h = ScxHarness::new(unthrottled()).await;
    let token = h.token().await;
    for order in [
        NewScxOrder::created(vec![item("A", 1, 100)]).with_address(),
        NewScxOrder::unacked(vec![item("A", 1, 100)]),
    ] {
        let key = h.order(KAUFLAND, order);
        let line = line_ids(&h.sandbox, &key).remove(0);
        let r = h
            .put("/v1/seller/order/shipping", &token, &shipping_body(&key, "T-1", &[(&line, 1)], true))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
        assert!(r.error_messages().contains("ACCEPTED"), "{}", r.body);
    }
    assert!(h.sandbox.scx_shipping_notices().is_empty());
}

#[tokio::test]
async fn unknown_orders_items_and_shipping_lines_are_refused() {
    let h = ScxHarness::new(unthrottled()).await;
    let (key, _) = accepted(&h, 1);
    let token = h.token().await;
    let unknown_order = ScxOrderKey { order_id: "999".to_string(), ..key.clone() };
    let r = h
        .put("/v1/seller/order/shipping", &token, &shipping_body(&unknown_order, "T-1", &[("x", 1)], true))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.error_code(), "GEN404");
    let r = h
        .put("/v1/seller/order/shipping", &token, &shipping_body(&key, "T-1", &[("no-such-line", 1)], true))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let shipping_line = format!("SHIPPING-{}", key.order_id);
    let r = h
        .put("/v1/seller/order/shipping", &token, &shipping_body(&key, "T-1", &[(&shipping_line, 1)], true))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "only ITEM lines ship");
    assert!(h.sandbox.scx_shipping_notices().is_empty());
}

#[tokio::test]
async fn a_seller_id_the_account_does_not_have_on_the_channel_is_refused() {
    let h = ScxHarness::new(unthrottled()).await;
    let (key, line) = accepted(&h, 1);
    let token = h.token().await;
    let other = h.sandbox.add_scx_seller(&[OTTO]);
    let foreign = ScxOrderKey { seller_id: other.seller_id(OTTO).unwrap().to_string(), ..key.clone() };
    let r = h
        .put("/v1/seller/order/shipping", &token, &shipping_body(&foreign, "T-1", &[(&line, 1)], true))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error_code(), "GEN700");
    // The right sellerId on the wrong channel.
    let wrong_channel = ScxOrderKey { channel: KAUFLAND.to_string(), ..key };
    let r = h
        .put("/v1/seller/order/shipping", &token, &shipping_body(&wrong_channel, "T-1", &[(&line, 1)], true))
        .await;
    assert_eq!(r.error_code(), "GEN700");
}

#[tokio::test]
async fn a_call_with_one_bad_order_records_nothing() {
    let h = ScxHarness::new(unthrottled()).await;
    let (good, line) = accepted(&h, 1);
    let created = h.order(OTTO, NewScxOrder::created(vec![item("B", 1, 100)]));
    let token = h.token().await;
    let mut body = shipping_body(&good, "T-1", &[(&line, 1)], true);
    let bad = shipping_body(&created, "T-2", &[(&line_ids(&h.sandbox, &created)[0], 1)], true);
    body["orderList"].as_array_mut().unwrap().push(bad["orderList"][0].clone());
    let r = h.put("/v1/seller/order/shipping", &token, &body).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.error_messages().starts_with("orderList[1]"), "{}", r.body);
    assert!(h.sandbox.scx_shipping_notices().is_empty());
    assert_eq!(h.sandbox.scx_shipped_units(&good, &line), Some(0));
}

#[tokio::test]
async fn malformed_notices_are_refused_field_by_field() {
    let h = ScxHarness::new(unthrottled()).await;
    let (key, line) = accepted(&h, 1);
    let token = h.token().await;
    let body = json!({ "orderList": [{
        "sellerId": key.seller_id,
        "channel": "OTTO",
        "orderId": key.order_id,
        "shippingItems": [{ "carrier": "DHL", "shippedAt": "13.01.2026", "orderItemIdList": [{ "orderItemId": line, "quantity": 0 }] }],
    }]});
    let r = h.put("/v1/seller/order/shipping", &token, &body).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let messages = r.error_messages();
    for field in ["channel", "trackingNumber", "shippedAt", "quantity"] {
        assert!(messages.contains(field), "no word on {field}: {messages}");
    }
    assert_eq!(
        h.put("/v1/seller/order/shipping", &token, &json!({ "orderList": [] })).await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(h.put("/v1/seller/order/shipping", &token, &json!("x")).await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_notice_whose_answer_is_lost_was_recorded_and_its_retry_is_a_duplicate() {
    let h = ScxHarness::new(unthrottled()).await;
    let (key, line) = accepted(&h, 1);
    let token = h.token().await;
    let body = shipping_body(&key, "T-1", &[(&line, 1)], true);
    h.sandbox.set_faults(FaultConfig {
        seed: 5,
        scx_orders: EndpointFaults { reset_percent: 100, ..EndpointFaults::none() },
        ..FaultConfig::none()
    });
    let mut attempts = 0;
    loop {
        attempts += 1;
        assert!(attempts <= 20, "no reset after recording in 20 attempts");
        let sent =
            h.send(h.http.put(h.url("/v1/seller/order/shipping")).bearer_auth(&token).json(&body)).await;
        assert!(sent.is_err(), "reset");
        if h.sandbox.fault_counts().get("scxOrders/reset_after_record") == Some(&1) {
            break;
        }
        assert!(h.sandbox.scx_shipping_notices().is_empty(), "a reset before processing records nothing");
    }
    assert_eq!(h.sandbox.scx_shipping_notices().len(), 1, "recorded, though the seller never saw the 201");

    h.sandbox.set_faults(FaultConfig::none());
    let retry = h.put("/v1/seller/order/shipping", &token, &body).await;
    assert_eq!(retry.status, StatusCode::CREATED);
    assert_eq!(h.sandbox.scx_shipping_notices().len(), 2, "the channel now has two notices");
    assert_eq!(h.sandbox.scx_duplicate_shipping_notices(), 1);
}

#[tokio::test]
async fn payment_notices_are_recorded_for_known_orders() {
    let h = ScxHarness::new(unthrottled()).await;
    let (key, _) = accepted(&h, 1);
    let token = h.token().await;
    let body = json!({ "orderList": [{
        "channel": key.channel, "sellerId": key.seller_id, "orderId": key.order_id,
        "paymentComplete": true, "paidAt": "2026-01-13T12:00:00+00:00",
    }]});
    assert_eq!(h.put("/v1/seller/order/payment", &token, &body).await.status, StatusCode::CREATED);
    assert_eq!(h.sandbox.scx_request_bodies("payment"), vec![body.clone()]);
    let mut unknown = body.clone();
    unknown["orderList"][0]["orderId"] = json!("nope");
    assert_eq!(h.put("/v1/seller/order/payment", &token, &unknown).await.status, StatusCode::NOT_FOUND);
}
