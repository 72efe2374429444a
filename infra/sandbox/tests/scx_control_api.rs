//! `/_sandbox/scx/*`: driving the SCX side over HTTP, as when the sandbox runs standalone.

mod scx_common;

use reqwest::StatusCode;
use scx_common::{line_ids, shipping_body, unthrottled, ScxHarness, ADDRESS, KAUFLAND, NEW, STATUS};
use serde_json::{json, Value};

async fn post(h: &ScxHarness, path: &str, body: Value) -> (StatusCode, Value) {
    let r = h.http.post(h.url(path)).json(&body).send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap())
}

async fn get(h: &ScxHarness, path: &str) -> Value {
    h.http.get(h.url(path)).send().await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn the_control_api_drives_sellers_orders_and_events() {
    let h = ScxHarness::new(unthrottled()).await;
    let (status, seller) =
        post(&h, "/_sandbox/scx/sellers", json!({ "channels": ["CONRADDE", "OTTODE"] })).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(seller["accountId"], "SCXACCOUNT2");
    let (status, _) = post(&h, "/_sandbox/scx/sellers", json!({ "channels": ["OTTO"] })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "channel names have 5 to 15 characters");
    assert_eq!(get(&h, "/_sandbox/scx/sellers").await.as_array().unwrap().len(), 2);

    let (status, key) = post(
        &h,
        "/_sandbox/scx/orders",
        json!({ "channel": KAUFLAND, "items": [{ "sku": "A", "quantity": 2, "unitPriceCents": 1250 }], "paid": true }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    assert_eq!(key["sellerId"], h.seller_id(KAUFLAND).as_str());
    let base = format!(
        "/_sandbox/scx/orders/{}/{}/{}",
        key["channel"].as_str().unwrap(),
        key["sellerId"].as_str().unwrap(),
        key["orderId"].as_str().unwrap()
    );

    let (status, _) = post(&h, &format!("{base}/accept"), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "no address yet");
    let (status, _) = post(&h, &format!("{base}/address"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, summary) = post(&h, &format!("{base}/accept"), json!({})).await;
    assert_eq!((status, &summary["orderStatus"]), (StatusCode::OK, &json!("ACCEPTED")));
    let summaries = get(&h, "/_sandbox/scx/orders").await;
    assert!(!summaries.to_string().contains('@'), "no buyer data in summaries");

    let order_key: orderbridge_sandbox::ScxOrderKey = serde_json::from_value(key.clone()).unwrap();
    let line = line_ids(&h.sandbox, &order_key).remove(0);
    let (status, request) = post(
        &h,
        &format!("{base}/cancellation-request"),
        json!({ "items": [{ "orderItemId": line, "quantity": 1 }], "reason": "OUT_OF_STOCK" }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(request["orderCancellationRequestId"].is_string());

    let events = get(&h, "/_sandbox/scx/events").await;
    let kinds: Vec<&str> =
        events["emitted"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, [NEW, ADDRESS, STATUS, "Channel:Order.Cancellation.Request"]);

    let token = h.token().await;
    assert_eq!(h.events(&token, &[]).await.events().len(), 4);
    let (status, expired) = post(&h, "/_sandbox/scx/events/expire-visibility", json!({})).await;
    assert_eq!((status, &expired["expired"]), (StatusCode::OK, &json!(4)));

    h.put("/v1/seller/order/shipping", &token, &shipping_body(&order_key, "T-1", &[(&line, 1)], false)).await;
    let notices = get(&h, "/_sandbox/scx/shipping-notices").await;
    assert_eq!(notices["notices"].as_array().unwrap().len(), 1);
    assert_eq!(notices["duplicates"], 0);
}
