//! The shapes the SCX tests check every answer and event against (`documented_shapes.json`,
//! transcribed from JTL's documentation) are strict, and a whole order lifecycle's events
//! and answers pass them.

mod scx_common;

use std::panic::catch_unwind;

use orderbridge_sandbox::{NewScxOrder, ScxCancelReason, ScxCancelledBy, ScxReturnReason};
use scx_common::{check_shape, item, line_ids, shipping_body, unthrottled, ScxHarness, OTTO};
use serde_json::{json, Value};

fn refused(name: &str, value: Value) -> bool {
    catch_unwind(|| check_shape(name, &value)).is_err()
}

#[test]
fn the_checker_refuses_what_jtl_does_not_document() {
    let event = json!({
        "id": "5f56353a5d140073454e9",
        "createdAt": "2020-08-06T06:40:18+0000",
        "type": "Channel:Order.AddressUpdate",
        "event": { "sellerId": "4711", "channel": "MYBESTDEALDE", "orderId": "1" },
    });
    check_shape("Event", &event);
    let mut extra = event.clone();
    extra["event"]["note"] = json!("not in OrderAddressUpdate");
    assert!(refused("Event", extra));
    let mut colon = event.clone();
    colon["createdAt"] = json!("2020-08-06T06:40:18+00:00");
    assert!(refused("Event", colon), "JTL's seller events write the offset without colon");
    let mut channel = event;
    channel["event"]["channel"] = json!("OTTO");
    assert!(refused("Event", channel), "channel names have 5 to 15 characters");
    assert!(refused(
        "AuthToken",
        json!({ "scope": "SELLER", "authToken": "x", "tokenExpireAt": "tomorrow", "expiresIn": 3600 })
    ));
    assert!(refused("ErrorList", json!({ "errors": [{ "code": "X", "message": "Amazon's shape" }] })));
}

#[tokio::test]
async fn a_whole_order_lifecycle_has_the_documented_shapes() {
    let h = ScxHarness::new(unthrottled()).await;
    let a = h.order(
        OTTO,
        NewScxOrder::unacked(vec![item("OB-TEE-ORG-M", 2, 1999), item("OB-MUG-350", 1, 1299)]).shipping(495),
    );
    let b = h.order(OTTO, NewScxOrder::created(vec![]));
    let token = h.token().await;
    let mut accept = scx_common::accept_body(&a, true);
    accept["orderList"][0]["reason"] = json!("OTHER");
    h.put("/v1/seller/order/accept", &token, &accept).await;
    assert!(h.sandbox.scx_add_address(&a));
    assert!(h.sandbox.scx_mark_paid(&a, &[]));
    let lines = line_ids(&h.sandbox, &a);
    let request =
        h.sandbox.scx_request_cancellation(&a, &[(&lines[0], 1)], ScxCancelReason::OutOfStock).unwrap();
    h.put(
        "/v1/seller/order/cancellation-accept",
        &token,
        &json!({ "channel": OTTO, "sellerId": a.seller_id, "orderCancellationRequestId": request }),
    )
    .await;
    h.put(
        "/v1/seller/order/shipping",
        &token,
        &shipping_body(&a, "T-1", &[(&lines[0], 1), (&lines[1], 1)], true),
    )
    .await;
    assert!(h.sandbox.scx_return(&a, &[(&lines[1], 1)], ScxReturnReason::WrongSize));
    assert!(h.sandbox.scx_cancel(&b, ScxCancelledBy::Seller, &[]));

    // Every event, as queued and as delivered.
    let emitted = h.emitted();
    let kinds: Vec<&str> = emitted.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "Channel:Order.New",
            "Channel:Order.New",
            "Channel:Order.AddressUpdate",
            "Channel:Order.StatusUpdate",
            "Channel:Order.StatusUpdate",
            "Channel:Order.Cancellation.Request",
            "Channel:Order.StatusUpdate",
            "Channel:Order.Return",
            "Channel:Order.StatusUpdate",
        ]
    );
    let delivered = h.events(&token, &[]).await.events();
    assert_eq!(delivered, emitted);
    for key in [&a, &b] {
        check_shape("Order", &h.sandbox.scx_order_json(key).unwrap());
    }
}
