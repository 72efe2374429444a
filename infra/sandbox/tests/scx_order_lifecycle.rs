//! Orders in channels and the events that tell the seller: new orders without address,
//! address before acceptance, the seller's acceptance of `UNACKED` orders, payment, whole-line
//! and unit cancellations, cancellation requests, returns. Every event is checked against the
//! documented shapes (`ScxHarness::emitted`).

mod scx_common;

use orderbridge_sandbox::{NewScxOrder, ScxCancelReason, ScxCancelledBy, ScxReturnReason};
use reqwest::StatusCode;
use scx_common::{
    accept_body, item, line_ids, shipping_body, types, unthrottled, ScxHarness, ADDRESS,
    CANCELLATION_REQUEST, KAUFLAND, NEW, OTTO, RETURN, STATUS,
};
use serde_json::{json, Value};

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

#[tokio::test]
async fn a_new_order_carries_lines_and_decimal_string_amounts_but_no_address_yet() {
    let h = ScxHarness::new(unthrottled()).await;
    let key = h.order(OTTO, NewScxOrder::created(vec![item("OB-MUG-350", 2, 1299)]).shipping(495));
    let events = h.events_of(&key);
    assert_eq!(types(&events), vec![NEW]);
    let order = &events[0]["event"];
    assert_eq!(order["orderStatus"], "CREATED");
    assert_eq!(order["channel"], OTTO);
    assert_eq!(order["sellerId"], h.seller_id(OTTO).as_str());
    assert_eq!(order["currency"], "EUR");
    for withheld in ["billingAddress", "shippingAddress", "buyer", "orderAcceptUntil"] {
        assert!(order.get(withheld).is_none(), "{withheld} in a CREATED order without address: {order}");
    }
    let lines = order["orderItem"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    let mug = &lines[0];
    assert_eq!(
        (&mug["type"], &mug["itemStatus"], &mug["itemPaymentStatus"]),
        (&json!("ITEM"), &json!("UNSHIPPED"), &json!("PENDING"))
    );
    assert_eq!((&mug["grossPrice"], &mug["total"]), (&json!("12.99"), &json!("25.98")));
    assert!(mug["quantity"] == "2" || mug["quantity"] == "2.0", "{mug}");
    assert_eq!((&lines[1]["type"], &lines[1]["grossPrice"]), (&json!("SHIPPING"), &json!("4.95")));

    // No buyer data anywhere yet.
    let text = events[0].to_string();
    for value in h.sandbox.buyer_field_values() {
        assert!(!text.contains(&value), "buyer data {value:?} in a new order without address");
    }
}

#[tokio::test]
async fn the_address_comes_as_its_own_event_before_the_order_is_accepted() {
    let h = ScxHarness::new(unthrottled()).await;
    let key = h.order(KAUFLAND, NewScxOrder::created(vec![item("A", 1, 1000)]));
    assert!(!h.sandbox.scx_accept(&key), "no ACCEPTED without an address");
    assert!(h.sandbox.scx_add_address(&key));
    assert!(h.sandbox.scx_accept(&key));
    assert!(!h.sandbox.scx_add_address(&key), "an address update only applies before ACCEPTED");

    let events = h.events_of(&key);
    assert_eq!(types(&events), vec![NEW, ADDRESS, STATUS]);
    let address = &events[1]["event"];
    assert_eq!(
        keys(address),
        ["billingAddress", "buyer", "channel", "orderId", "sellerId", "shippingAddress"]
    );
    assert!(address["shippingAddress"]["street"].is_string() && address["buyer"]["email"].is_string());
    let status = &events[2]["event"];
    assert_eq!(status["orderStatus"], "ACCEPTED");
    assert!(status.get("orderItems").is_none(), "no line changed");

    // The order as the channel has it now: accepted, with address.
    let now = h.sandbox.scx_order_json(&key).unwrap();
    assert_eq!(now["orderStatus"], "ACCEPTED");
    assert_eq!(now["shippingAddress"], address["shippingAddress"]);
}

#[tokio::test]
async fn an_unacked_order_accepted_by_the_seller_becomes_accepted_once_it_has_an_address() {
    let h = ScxHarness::new(unthrottled()).await;
    let key = h.order(OTTO, NewScxOrder::unacked(vec![item("A", 1, 1000)]));
    let new = &h.events_of(&key)[0]["event"];
    assert_eq!(new["orderStatus"], "UNACKED");
    assert!(new["orderAcceptUntil"].is_string(), "{new}");

    let token = h.token().await;
    let r = h.put("/v1/seller/order/accept", &token, &accept_body(&key, true)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(h.sandbox.scx_order_status(&key).as_deref(), Some("UNACKED"), "still waiting for the address");
    assert!(h.sandbox.scx_add_address(&key));
    assert_eq!(h.sandbox.scx_order_status(&key).as_deref(), Some("ACCEPTED"));
    assert_eq!(types(&h.events_of(&key)), vec![NEW, ADDRESS, STATUS]);

    let twice = h.put("/v1/seller/order/accept", &token, &accept_body(&key, true)).await;
    assert_eq!(twice.status, StatusCode::BAD_REQUEST);
    assert_eq!(twice.error_code(), "VAL100");
    assert_eq!(h.sandbox.scx_request_bodies("accept").len(), 1);
}

#[tokio::test]
async fn an_unacked_order_with_address_is_accepted_at_once() {
    let h = ScxHarness::new(unthrottled()).await;
    let key = h.order(OTTO, NewScxOrder::unacked(vec![]).with_address());
    let token = h.token().await;
    assert_eq!(
        h.put("/v1/seller/order/accept", &token, &accept_body(&key, true)).await.status,
        StatusCode::CREATED
    );
    let events = h.events_of(&key);
    assert_eq!(types(&events), vec![NEW, STATUS]);
    assert_eq!(events[1]["event"]["orderStatus"], "ACCEPTED");
}

#[tokio::test]
async fn accepting_is_refused_after_order_accept_until_and_for_orders_that_are_not_unacked() {
    let h = ScxHarness::new(unthrottled()).await;
    let past = chrono::Utc::now() - chrono::Duration::minutes(1);
    let late = h.order(OTTO, NewScxOrder::unacked(vec![]).accept_until(past));
    let created = h.order(OTTO, NewScxOrder::created(vec![]));
    let token = h.token().await;
    for key in [&late, &created] {
        let r = h.put("/v1/seller/order/accept", &token, &accept_body(key, true)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
        assert_eq!(r.error_code(), "VAL100");
    }
    assert_eq!(h.sandbox.scx_order_status(&late).as_deref(), Some("UNACKED"));
    let missing_flag =
        json!({ "orderList": [{ "channel": OTTO, "sellerId": late.seller_id, "orderId": late.order_id }] });
    let r = h.put("/v1/seller/order/accept", &token, &missing_flag).await;
    assert!(r.error_messages().contains("orderAccepted"), "{}", r.body);
}

#[tokio::test]
async fn refusing_an_unacked_order_cancels_it_with_every_line() {
    let h = ScxHarness::new(unthrottled()).await;
    let key = h.order(OTTO, NewScxOrder::unacked(vec![item("A", 1, 100), item("B", 2, 200)]));
    let token = h.token().await;
    let mut body = accept_body(&key, false);
    body["orderList"][0]["reason"] = json!("OUT_OF_STOCK");
    assert_eq!(h.put("/v1/seller/order/accept", &token, &body).await.status, StatusCode::CREATED);
    let events = h.events_of(&key);
    assert_eq!(types(&events), vec![NEW, STATUS]);
    let status = &events[1]["event"];
    assert_eq!(status["orderStatus"], "CANCELED_BY_SELLER");
    let items = status["orderItems"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(|i| i["itemStatus"] == "CANCELED_BY_SELLER"));
}

#[tokio::test]
async fn payment_status_changes_per_line() {
    let h = ScxHarness::new(unthrottled()).await;
    let key = h.order(OTTO, NewScxOrder::accepted(vec![item("A", 1, 100), item("B", 1, 200)]));
    let lines = line_ids(&h.sandbox, &key);
    assert!(h.sandbox.scx_mark_paid(&key, &[&lines[1]]));
    assert!(h.sandbox.scx_mark_paid(&key, &[]), "the rest");
    assert!(!h.sandbox.scx_mark_paid(&key, &[]), "nothing left unpaid");
    let events = h.events_of(&key);
    assert_eq!(types(&events), vec![NEW, STATUS, STATUS]);
    let first = &events[1]["event"]["orderItems"];
    assert_eq!(
        first,
        &json!([{ "orderItemId": lines[1], "itemStatus": "UNSHIPPED", "paymentStatus": "PAID" }])
    );
    assert_eq!(events[2]["event"]["orderItems"][0]["orderItemId"], lines[0].as_str());
    assert_eq!(events[2]["event"]["orderStatus"], "ACCEPTED");
}

#[tokio::test]
async fn a_cancelled_unit_line_leaves_the_order_accepted_and_the_rest_ships() {
    let h = ScxHarness::new(unthrottled()).await;
    let key = h.order(OTTO, NewScxOrder::accepted(vec![item("A", 2, 1000)]).unit_lines().paid());
    let lines = line_ids(&h.sandbox, &key);
    assert_eq!(lines.len(), 2, "one line per unit");
    assert!(h.sandbox.scx_cancel(&key, ScxCancelledBy::Buyer, &[&lines[0]]));
    let status = &h.events_of(&key)[1]["event"];
    assert_eq!(status["orderStatus"], "ACCEPTED", "ACCEPTED is final");
    assert_eq!(status["orderItems"][0]["itemStatus"], "CANCELED_BY_BUYER");

    let token = h.token().await;
    let cancelled = h
        .put("/v1/seller/order/shipping", &token, &shipping_body(&key, "T-1", &[(&lines[0], 1)], false))
        .await;
    assert_eq!(cancelled.status, StatusCode::BAD_REQUEST, "a cancelled unit cannot ship");
    let rest = h
        .put("/v1/seller/order/shipping", &token, &shipping_body(&key, "T-1", &[(&lines[1], 1)], true))
        .await;
    assert_eq!(rest.status, StatusCode::CREATED, "{}", rest.body);
    assert_eq!(h.sandbox.scx_shipped_units(&key, &lines[1]), Some(1));
}

#[tokio::test]
async fn cancelling_a_created_order_cancels_it_and_every_line() {
    let h = ScxHarness::new(unthrottled()).await;
    let key = h.order(KAUFLAND, NewScxOrder::created(vec![item("A", 1, 100)]).shipping(390));
    assert!(h.sandbox.scx_cancel(&key, ScxCancelledBy::Buyer, &[]));
    assert!(!h.sandbox.scx_cancel(&key, ScxCancelledBy::Buyer, &[]), "once");
    let status = &h.events_of(&key)[1]["event"];
    assert_eq!(status["orderStatus"], "CANCELED_BY_BUYER");
    let items = status["orderItems"].as_array().unwrap();
    assert_eq!(items.len(), 2, "the shipping line too");
    assert!(!h.sandbox.scx_add_address(&key));
}

#[tokio::test]
async fn a_buyer_cancellation_request_accepted_by_the_seller_cancels_units() {
    let h = ScxHarness::new(unthrottled()).await;
    let key = h.order(OTTO, NewScxOrder::accepted(vec![item("A", 3, 1000)]));
    let line = line_ids(&h.sandbox, &key).remove(0);
    let request =
        h.sandbox.scx_request_cancellation(&key, &[(&line, 1)], ScxCancelReason::BuyerCancelled).unwrap();
    assert!(
        h.sandbox.scx_request_cancellation(&key, &[(&line, 4)], ScxCancelReason::Other).is_none(),
        "only open units"
    );
    let events = h.events_of(&key);
    assert_eq!(types(&events), vec![NEW, CANCELLATION_REQUEST]);
    let asked = &events[1]["event"];
    assert_eq!(asked["orderCancellationRequestId"], request.as_str());
    assert_eq!(asked["cancelReason"], "BUYER_CANCELLED");
    assert!(asked["orderItem"][0]["quantity"] == "1" || asked["orderItem"][0]["quantity"] == "1.0");

    let token = h.token().await;
    let answer = json!({ "channel": OTTO, "sellerId": key.seller_id, "orderCancellationRequestId": request });
    let r = h.put("/v1/seller/order/cancellation-accept", &token, &answer).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let again = h.put("/v1/seller/order/cancellation-accept", &token, &answer).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "answered already");
    // 2 of 3 units are open: the line keeps its status (the status model has no quantities).
    assert_eq!(types(&h.events_of(&key)), vec![NEW, CANCELLATION_REQUEST]);
    let too_many =
        h.put("/v1/seller/order/shipping", &token, &shipping_body(&key, "T-1", &[(&line, 3)], true)).await;
    assert_eq!(too_many.status, StatusCode::BAD_REQUEST);
    let rest =
        h.put("/v1/seller/order/shipping", &token, &shipping_body(&key, "T-1", &[(&line, 2)], true)).await;
    assert_eq!(rest.status, StatusCode::CREATED, "{}", rest.body);
}

#[tokio::test]
async fn a_request_for_every_open_unit_accepted_before_acceptance_cancels_the_order() {
    let h = ScxHarness::new(unthrottled()).await;
    let key = h.order(OTTO, NewScxOrder::created(vec![item("A", 2, 1000)]));
    let request = h.sandbox.scx_request_cancellation(&key, &[], ScxCancelReason::BuyerCancelled).unwrap();
    let token = h.token().await;
    let answer = json!({ "channel": OTTO, "sellerId": key.seller_id, "orderCancellationRequestId": request });
    assert_eq!(
        h.put("/v1/seller/order/cancellation-accept", &token, &answer).await.status,
        StatusCode::CREATED
    );
    let events = h.events_of(&key);
    assert_eq!(types(&events), vec![NEW, CANCELLATION_REQUEST, STATUS]);
    assert_eq!(events[2]["event"]["orderStatus"], "CANCELED_BY_BUYER");
    assert_eq!(events[2]["event"]["orderItems"][0]["itemStatus"], "CANCELED_BY_BUYER");
}

#[tokio::test]
async fn a_denied_cancellation_request_cancels_nothing_and_unknown_requests_are_not_found() {
    let h = ScxHarness::new(unthrottled()).await;
    let key = h.order(OTTO, NewScxOrder::accepted(vec![item("A", 1, 1000)]));
    let request = h.sandbox.scx_request_cancellation(&key, &[], ScxCancelReason::DelayedInventory).unwrap();
    let token = h.token().await;
    let deny = json!({ "channel": OTTO, "sellerId": key.seller_id, "orderCancellationRequestId": request, "reason": "already packed" });
    assert_eq!(h.put("/v1/seller/order/cancellation-deny", &token, &deny).await.status, StatusCode::CREATED);
    assert_eq!(types(&h.events_of(&key)), vec![NEW, CANCELLATION_REQUEST]);
    let line = line_ids(&h.sandbox, &key).remove(0);
    let ship =
        h.put("/v1/seller/order/shipping", &token, &shipping_body(&key, "T-9", &[(&line, 1)], true)).await;
    assert_eq!(ship.status, StatusCode::CREATED);

    let unknown = json!({ "channel": OTTO, "sellerId": key.seller_id, "orderCancellationRequestId": "82992d3a-b153-4422-b539-f4d1f1b4aecb" });
    let r = h.put("/v1/seller/order/cancellation-accept", &token, &unknown).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.error_code(), "GEN404");
}

#[tokio::test]
async fn a_return_is_announced_for_shipped_units_only() {
    let h = ScxHarness::new(unthrottled()).await;
    let key = h.order(OTTO, NewScxOrder::accepted(vec![item("A", 2, 1000)]));
    let line = line_ids(&h.sandbox, &key).remove(0);
    assert!(!h.sandbox.scx_return(&key, &[(&line, 1)], ScxReturnReason::Defect), "nothing shipped yet");
    let token = h.token().await;
    h.put("/v1/seller/order/shipping", &token, &shipping_body(&key, "T-1", &[(&line, 2)], true)).await;
    assert!(h.sandbox.scx_return(&key, &[(&line, 1)], ScxReturnReason::Defect));
    let events = h.events_of(&key);
    assert_eq!(types(&events), vec![NEW, STATUS, RETURN]);
    assert_eq!(events[1]["event"]["orderItems"][0]["itemStatus"], "SHIPPED");
    assert_eq!(events[2]["event"]["orderItem"][0]["returnReason"], "DEFECT");
}

#[tokio::test]
async fn generated_order_ids_repeat_across_channels_so_only_channel_and_seller_tell_orders_apart() {
    let h = ScxHarness::new(unthrottled()).await;
    let otto = h.order(OTTO, NewScxOrder::created(vec![]));
    let kaufland = h.order(KAUFLAND, NewScxOrder::created(vec![]));
    assert_eq!(otto.order_id, kaufland.order_id);
    assert_ne!(otto, kaufland);
    assert!(h.sandbox.scx_add_address(&otto));
    assert_eq!(types(&h.events_of(&otto)), vec![NEW, ADDRESS]);
    assert_eq!(types(&h.events_of(&kaufland)), vec![NEW]);
}
