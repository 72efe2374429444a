//! What Amazon documents it withholds, and when: pending orders, FBA orders, the delivery
//! address and phone, ship and delivery windows, pre-orders and the two-year history.
//! (The harness also checks every response against Amazon's model.)

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::Utc;
use common::{lagless, package, Harness, LONG_AGO};
use orderbridge_sandbox::schema::AmazonModel;
use orderbridge_sandbox::{NewItem, NewOrder, SandboxConfig};
use reqwest::StatusCode;
use serde_json::Value;

/// Every `includedData` value the model has.
const EVERYTHING: &str =
    "BUYER,RECIPIENT,PROCEEDS,EXPENSE,PROMOTION,CANCELLATION,FULFILLMENT,PACKAGES,TAX,PAYMENT,FULFILLMENT_ORDERS";

fn items() -> Vec<NewItem> {
    vec![NewItem::new("MUG", 2, 1999), NewItem::new("CUP", 1, 500)]
}

fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

fn set<'a>(names: &[&'a str]) -> BTreeSet<&'a str> {
    names.iter().copied().collect()
}

fn days_ago(days: i64) -> chrono::DateTime<Utc> {
    Utc::now() - chrono::Duration::days(days)
}

/// The order through getOrder and through searchOrders, both with every section asked for.
async fn both_ways(h: &Harness, token: &str, id: &str) -> [Value; 2] {
    let got = h.get_order(token, id, EVERYTHING).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.body);
    let found = h.search(token, &[("createdAfter", LONG_AGO), ("includedData", EVERYTHING)]).await;
    let found = found.body["orders"].as_array().unwrap().iter().find(|o| o["orderId"] == id).unwrap().clone();
    [got.body["order"].clone(), found]
}

/// The id of the first item of order `id`.
fn first_item(h: &Harness, id: &str) -> String {
    h.sandbox.order_json(id).unwrap()["orderItems"][0]["orderItemId"].as_str().unwrap().to_string()
}

/// What a pending order (`PENDING` or `PENDING_AVAILABILITY`) may show: ids, items without
/// prices, status; nothing of the buyer.
fn assert_shows_nothing_but_items(h: &Harness, order: &Value, status: &str) {
    assert_eq!(order["fulfillment"]["fulfillmentStatus"], status);
    let top = keys(order);
    for withheld in ["buyer", "recipient", "proceeds", "payment", "tax", "packages"] {
        assert!(!top.contains(withheld), "{withheld} sent for a {status} order: {order}");
    }
    for item in order["orderItems"].as_array().unwrap() {
        assert_eq!(keys(item), set(&["orderItemId", "quantityOrdered", "product", "fulfillment"]), "{item}");
        assert_eq!(keys(&item["product"]), set(&["asin", "title", "sellerSku"]), "{item}");
    }
    let text = order.to_string();
    for value in h.sandbox.buyer_field_values() {
        assert!(!text.contains(&value), "buyer data {value:?} sent for a {status} order");
    }
}

#[tokio::test]
async fn pending_order_carries_no_prices_buyer_or_recipient() {
    let h = Harness::new(lagless()).await;
    let id = h.sandbox.create_order("SANDBOXSELLER1", NewOrder::pending(items()));
    let token = h.token().await;
    for order in both_ways(&h, &token, &id).await {
        assert_shows_nothing_but_items(&h, &order, "PENDING");
        let item = &order["orderItems"][0];
        assert_eq!(item["quantityOrdered"], 2);
        assert_eq!(item["product"]["sellerSku"], "MUG");
        assert_eq!(item["fulfillment"]["quantityUnfulfilled"], 2);
    }
}

#[tokio::test]
async fn released_order_shows_prices_and_address() {
    let h = Harness::new(lagless()).await;
    let id = h.sandbox.create_order("SANDBOXSELLER1", NewOrder::pending(items()));
    let token = h.token().await;
    let [pending, _] = both_ways(&h, &token, &id).await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert!(h.sandbox.release_payment(&id));
    assert!(!h.sandbox.release_payment(&id), "released once");

    for order in both_ways(&h, &token, &id).await {
        assert_eq!(order["fulfillment"]["fulfillmentStatus"], "UNSHIPPED");
        assert!(order["lastUpdatedTime"].as_str() > pending["lastUpdatedTime"].as_str());
        assert!(order["buyer"]["buyerName"].is_string());
        assert!(order["buyer"]["buyerEmail"].as_str().unwrap().ends_with("@marketplace.amazon.de"));
        let address = &order["recipient"]["deliveryAddress"];
        for field in ["name", "addressLine1", "city", "postalCode", "countryCode", "phone"] {
            assert!(address[field].is_string(), "missing {field}: {address}");
        }
        assert_eq!(order["proceeds"]["grandTotal"]["amount"], "44.98");
        assert_eq!(order["payment"]["paymentExecutions"][0]["paymentAmount"]["amount"], "44.98");
        let item = &order["orderItems"][0];
        assert_eq!(item["product"]["price"]["unitPrice"]["amount"], "19.99");
        assert_eq!(item["proceeds"]["proceedsTotal"]["amount"], "39.98");
    }
    let values = h.sandbox.buyer_field_values();
    let address = &h.sandbox.order_json(&id).unwrap()["recipient"]["deliveryAddress"];
    for field in ["name", "addressLine1", "phone"] {
        assert!(values.contains(&address[field].as_str().unwrap().to_string()), "{field}");
    }
}

#[tokio::test]
async fn order_json_follows_the_same_rules_and_the_model_in_every_state() {
    let h = Harness::new(lagless()).await;
    let pending = h.sandbox.create_order("SANDBOXSELLER1", NewOrder::pending(items()));
    let preorder = h.sandbox.create_order("SANDBOXSELLER1", NewOrder::preorder(items()));
    let fba = h.sandbox.create_order("SANDBOXSELLER1", NewOrder::released(items()).fulfilled_by_amazon());
    let shipped = h.sandbox.create_order("SANDBOXSELLER1", NewOrder::released(items()));
    let cancelled = h.sandbox.create_order("SANDBOXSELLER1", NewOrder::released(items()));
    h.sandbox.cancel(&cancelled);
    let token = h.token().await;
    let ids = h.sandbox.order_json(&shipped).unwrap()["orderItems"].clone();
    let all: Vec<(&str, u32)> = ids
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["orderItemId"].as_str().unwrap(), i["quantityOrdered"].as_u64().unwrap() as u32))
        .collect();
    assert_eq!(h.confirm(&token, &shipped, &package("1", &all)).await.status, StatusCode::NO_CONTENT);

    assert_shows_nothing_but_items(&h, &h.sandbox.order_json(&pending).unwrap(), "PENDING");
    for id in [&pending, &preorder, &fba, &shipped, &cancelled] {
        let order = h.sandbox.order_json(id).unwrap();
        if let Err(errors) = AmazonModel::orders_2026().validate_strict("Order", &order) {
            panic!("{id}: {errors:?}");
        }
    }
}

#[tokio::test]
async fn order_cancelled_before_payment_never_shows_buyer_prices_or_address() {
    let h = Harness::new(lagless()).await;
    let id = h.sandbox.create_order("SANDBOXSELLER1", NewOrder::pending(items()));
    assert!(h.sandbox.cancel(&id));
    assert!(!h.sandbox.release_payment(&id));
    let token = h.token().await;
    for order in both_ways(&h, &token, &id).await {
        assert_shows_nothing_but_items(&h, &order, "CANCELLED");
    }
}

#[tokio::test]
async fn cancelled_order_keeps_buyer_and_prices_but_loses_the_delivery_address() {
    let h = Harness::new(lagless()).await;
    let id = h.sandbox.create_order("SANDBOXSELLER1", NewOrder::released(items()));
    let token = h.token().await;
    assert!(h.get_order(&token, &id, "RECIPIENT").await.body["order"]["recipient"].is_object());
    assert!(h.sandbox.cancel(&id));
    for order in both_ways(&h, &token, &id).await {
        assert_eq!(order["fulfillment"]["fulfillmentStatus"], "CANCELLED");
        assert!(order.get("recipient").is_none(), "{order}");
        assert!(order["buyer"]["buyerName"].is_string());
        assert_eq!(order["proceeds"]["grandTotal"]["amount"], "44.98");
    }
}

#[tokio::test]
async fn buyer_email_is_only_sent_for_merchant_fulfilled_orders() {
    let h = Harness::new(lagless()).await;
    let fbm = h.sandbox.create_order("SANDBOXSELLER1", NewOrder::released(items()));
    let fba = h.sandbox.create_order("SANDBOXSELLER1", NewOrder::released(items()).fulfilled_by_amazon());
    let token = h.token().await;
    let fbm = h.get_order(&token, &fbm, "BUYER,FULFILLMENT").await.body["order"].clone();
    assert_eq!(fbm["fulfillment"]["fulfilledBy"], "MERCHANT");
    assert!(fbm["buyer"]["buyerEmail"].is_string());
    let fba = h.get_order(&token, &fba, "BUYER,FULFILLMENT").await.body["order"].clone();
    assert_eq!(fba["fulfillment"]["fulfilledBy"], "AMAZON");
    assert!(fba["buyer"]["buyerName"].is_string());
    assert!(fba["buyer"].get("buyerEmail").is_none(), "{fba}");
}

#[tokio::test]
async fn fba_orders_are_read_only_without_phone_packages_or_shipping_windows() {
    let h = Harness::new(lagless()).await;
    let id = h.sandbox.create_order("SANDBOXSELLER1", NewOrder::released(items()).fulfilled_by_amazon());
    let item = first_item(&h, &id);
    let token = h.token().await;
    let r = h.confirm(&token, &id, &package("1", &[(&item, 1)])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error_code(), "InvalidInput");
    assert!(r.error_message().contains("fulfilled by Amazon"), "{}", r.body);
    assert!(h.sandbox.confirmations().is_empty());
    for order in both_ways(&h, &token, &id).await {
        let address = &order["recipient"]["deliveryAddress"];
        assert!(address["name"].is_string());
        assert!(address.get("phone").is_none(), "phone of an FBA order: {address}");
        assert!(order.get("packages").is_none());
        let fulfillment = &order["fulfillment"];
        assert!(fulfillment.get("shipByWindow").is_none() && fulfillment.get("deliverByWindow").is_none());
    }
}

#[tokio::test]
async fn fulfilled_by_filter_selects_merchant_or_amazon_orders() {
    let h = Harness::new(lagless()).await;
    let fbm = h.sandbox.create_order("SANDBOXSELLER1", NewOrder::released(items()));
    let fba = h.sandbox.create_order("SANDBOXSELLER1", NewOrder::pending(items()).fulfilled_by_amazon());
    let token = h.token().await;
    for (filter, expected) in [
        ("MERCHANT", vec![fbm.as_str()]),
        ("AMAZON", vec![fba.as_str()]),
        ("AMAZON,MERCHANT", vec![fbm.as_str(), fba.as_str()]),
    ] {
        let r = h.search(&token, &[("createdAfter", LONG_AGO), ("fulfilledBy", filter)]).await;
        let mut ids: Vec<&str> =
            r.body["orders"].as_array().unwrap().iter().map(|o| o["orderId"].as_str().unwrap()).collect();
        ids.sort();
        let mut expected = expected;
        expected.sort();
        assert_eq!(ids, expected, "{filter}");
    }
}

#[tokio::test]
async fn phone_is_suppressed_for_shipped_fbm_orders_past_the_latest_delivery_date() {
    let h = Harness::new(lagless()).await;
    let token = h.token().await;
    let two = vec![NewItem::new("MUG", 2, 1999)];
    let old = h.sandbox.create_order_at("SANDBOXSELLER1", NewOrder::released(two.clone()), days_ago(30));
    let old_partial =
        h.sandbox.create_order_at("SANDBOXSELLER1", NewOrder::released(two.clone()), days_ago(30));
    let fresh = h.sandbox.create_order("SANDBOXSELLER1", NewOrder::released(two));
    for (id, quantity) in [(&old, 2), (&old_partial, 1), (&fresh, 2)] {
        let item = first_item(&h, id);
        let r = h.confirm(&token, id, &package("1", &[(&item, quantity)])).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    }
    let phone = |order: &Value| order["recipient"]["deliveryAddress"].get("phone").cloned();
    let old = h.get_order(&token, &old, "RECIPIENT,FULFILLMENT").await.body["order"].clone();
    assert_eq!(old["fulfillment"]["fulfillmentStatus"], "SHIPPED");
    let latest = old["fulfillment"]["deliverByWindow"]["latestDateTime"].as_str().unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(latest).unwrap() < Utc::now(), "{latest}");
    assert_eq!(phone(&old), None, "shipped and past the latest delivery date");
    assert!(old["recipient"]["deliveryAddress"]["addressLine1"].is_string(), "only the phone goes");

    let partial = h.get_order(&token, &old_partial, "RECIPIENT,FULFILLMENT").await.body["order"].clone();
    assert_eq!(partial["fulfillment"]["fulfillmentStatus"], "PARTIALLY_SHIPPED");
    assert!(phone(&partial).is_some(), "not shipped yet");
    let fresh = h.get_order(&token, &fresh, "RECIPIENT").await.body["order"].clone();
    assert!(phone(&fresh).is_some(), "shipped, still before the latest delivery date");
}

#[tokio::test]
async fn fbm_windows_have_no_latest_delivery_date_while_pending_or_once_cancelled() {
    let h = Harness::new(lagless()).await;
    let id = h.sandbox.create_order("SANDBOXSELLER1", NewOrder::pending(items()));
    let token = h.token().await;
    let windows = |order: &Value| {
        (order["fulfillment"]["shipByWindow"].clone(), order["fulfillment"]["deliverByWindow"].clone())
    };

    let (ship_by, deliver_by) = windows(&h.get_order(&token, &id, "FULFILLMENT").await.body["order"]);
    assert_eq!(keys(&ship_by), set(&["earliestDateTime", "latestDateTime"]));
    assert!(ship_by["earliestDateTime"].as_str() < ship_by["latestDateTime"].as_str());
    assert_eq!(keys(&deliver_by), set(&["earliestDateTime"]), "pending: no latest delivery date");

    h.sandbox.release_payment(&id);
    let (_, deliver_by) = windows(&h.get_order(&token, &id, "FULFILLMENT").await.body["order"]);
    assert_eq!(keys(&deliver_by), set(&["earliestDateTime", "latestDateTime"]));
    assert!(deliver_by["earliestDateTime"].as_str() < deliver_by["latestDateTime"].as_str());

    h.sandbox.cancel(&id);
    let (_, deliver_by) = windows(&h.get_order(&token, &id, "FULFILLMENT").await.body["order"]);
    assert_eq!(keys(&deliver_by), set(&["earliestDateTime"]), "cancelled: no latest delivery date");
}

#[tokio::test]
async fn preorder_waits_in_pending_availability_then_passes_into_pending_when_authorization_begins() {
    let h = Harness::new(lagless()).await;
    let id = h.sandbox.create_order("SANDBOXSELLER1", NewOrder::preorder(items()));
    let token = h.token().await;
    for order in both_ways(&h, &token, &id).await {
        assert_shows_nothing_but_items(&h, &order, "PENDING_AVAILABILITY");
        assert_eq!(order["programs"], serde_json::json!(["PREORDER"]));
    }
    let filtered = h
        .search(&token, &[("createdAfter", LONG_AGO), ("fulfillmentStatuses", "PENDING_AVAILABILITY")])
        .await;
    assert_eq!(filtered.body["orders"][0]["orderId"], id.as_str());
    let item = first_item(&h, &id);
    let r = h.confirm(&token, &id, &package("1", &[(&item, 1)])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "not ready for shipment");

    assert!(!h.sandbox.release_payment(&id), "a pre-order passes through PENDING first");
    assert!(h.sandbox.begin_payment_authorization(&id));
    assert!(!h.sandbox.begin_payment_authorization(&id));
    assert_eq!(h.sandbox.order_status(&id).as_deref(), Some("PENDING"));
    for order in both_ways(&h, &token, &id).await {
        assert_shows_nothing_but_items(&h, &order, "PENDING");
    }

    assert!(h.sandbox.release_payment(&id));
    let [order, _] = both_ways(&h, &token, &id).await;
    assert_eq!(order["fulfillment"]["fulfillmentStatus"], "UNSHIPPED");
    assert_eq!(order["orderItems"][0]["product"]["price"]["unitPrice"]["amount"], "19.99");
    assert_eq!(order["programs"], serde_json::json!(["PREORDER"]));
}

#[tokio::test]
async fn orders_older_than_two_years_are_not_returned() {
    let h = Harness::new(lagless()).await;
    let old = h.sandbox.create_order_at("SANDBOXSELLER1", NewOrder::released(items()), days_ago(3 * 365));
    let recent = h.sandbox.create_order_at("SANDBOXSELLER1", NewOrder::released(items()), days_ago(700));
    let token = h.token().await;
    for query in [("createdAfter", "2010-01-01T00:00:00Z"), ("lastUpdatedAfter", "2010-01-01T00:00:00Z")] {
        let r = h.search(&token, &[query]).await;
        let ids: Vec<&str> =
            r.body["orders"].as_array().unwrap().iter().map(|o| o["orderId"].as_str().unwrap()).collect();
        assert_eq!(ids, vec![recent.as_str()], "{query:?}");
    }
    let r = h.get_order(&token, &old, "").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.error_code(), "NotFound");
    assert!(h.sandbox.order_json(&old).is_some(), "still in the sandbox, just not shown");
}

#[tokio::test]
async fn jp_marketplace_shows_orders_back_to_2016() {
    let h = Harness::new(SandboxConfig {
        marketplace_id: "A1VC38T7YXB528".to_string(),
        currency: "JPY".to_string(),
        ..lagless()
    })
    .await;
    let in_2016 = chrono::DateTime::parse_from_rfc3339("2016-03-01T00:00:00Z").unwrap().to_utc();
    let in_2015 = chrono::DateTime::parse_from_rfc3339("2015-12-31T23:00:00Z").unwrap().to_utc();
    let shown = h.sandbox.create_order_at("SANDBOXSELLER1", NewOrder::released(items()), in_2016);
    let hidden = h.sandbox.create_order_at("SANDBOXSELLER1", NewOrder::released(items()), in_2015);
    let token = h.token().await;
    let r = h.search(&token, &[("createdAfter", "2010-01-01T00:00:00Z"), ("includedData", "PROCEEDS")]).await;
    let orders = r.body["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0]["orderId"], shown.as_str());
    assert_eq!(orders[0]["salesChannel"]["marketplaceName"], "Amazon.co.jp");
    assert_eq!(
        orders[0]["proceeds"]["grandTotal"],
        serde_json::json!({"amount": "4498", "currencyCode": "JPY"})
    );
    assert_eq!(h.get_order(&token, &hidden, "").await.status, StatusCode::NOT_FOUND);
}
