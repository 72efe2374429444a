//! confirmShipment over real HTTP: validation, idempotency and effect on the order.

mod common;

use common::{lagless, package, Harness};
use orderbridge_sandbox::schema::AmazonModel;
use orderbridge_sandbox::{NewItem, NewOrder, SandboxConfig};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// An UNSHIPPED order with two items (2 x A, 1 x B); returns (order id, item ids).
fn two_item_order(h: &Harness, pending: bool) -> (String, Vec<String>) {
    let items = vec![NewItem::new("A", 2, 1000), NewItem::new("B", 1, 500)];
    let order = if pending { NewOrder::pending(items) } else { NewOrder::released(items) };
    let id = h.sandbox.create_order("SANDBOXSELLER1", order);
    let json = h.sandbox.order_json(&id).unwrap();
    let item_ids = json["orderItems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["orderItemId"].as_str().unwrap().to_string())
        .collect();
    (id, item_ids)
}

#[tokio::test]
async fn confirm_shipment_records_once_and_an_identical_repeat_is_idempotent() {
    let h = Harness::new(lagless()).await;
    let (id, items) = two_item_order(&h, false);
    let token = h.token().await;
    let body = package("1", &[(&items[0], 2), (&items[1], 1)]);

    let first = h.confirm(&token, &id, &body).await;
    assert_eq!(first.status, StatusCode::NO_CONTENT, "{}", first.body);
    assert_eq!(first.body, Value::Null);
    let repeat = h.confirm(&token, &id, &body).await;
    assert_eq!(repeat.status, StatusCode::NO_CONTENT);

    let confirmations = h.sandbox.confirmations();
    assert_eq!(confirmations.len(), 1);
    assert_eq!(h.sandbox.duplicate_confirmations(), 1);
    let c = &confirmations[0];
    assert_eq!(c.order_id, id);
    assert_eq!(c.package_reference_id, "1");
    assert_eq!(c.carrier_code, "DHL");
    assert_eq!(c.shipping_method.as_deref(), Some("DHL Paket"));
    assert_eq!(c.items, vec![(items[0].clone(), 2), (items[1].clone(), 1)]);
    assert_eq!(h.sandbox.order_status(&id).as_deref(), Some("SHIPPED"));
    assert_eq!(h.sandbox.request_count("confirmShipment"), 2);

    let order = h.get_order(&token, &id, "PACKAGES,FULFILLMENT").await.body["order"].clone();
    assert_eq!(order["fulfillment"]["fulfillmentStatus"], "SHIPPED");
    let packages = order["packages"].as_array().unwrap();
    assert_eq!(packages.len(), 1);
    assert_eq!(packages[0]["packageReferenceId"], "1");
    assert_eq!(packages[0]["carrier"], "DHL");
    assert_eq!(packages[0]["trackingNumber"], "003404341");
    assert_eq!(packages[0]["shipTime"], "2026-01-15T10:00:00.000Z");
    assert_eq!(packages[0]["packageItems"][0]["quantity"], 2);
    assert_eq!(order["orderItems"][0]["fulfillment"]["quantityFulfilled"], 2);
    assert_eq!(order["orderItems"][0]["fulfillment"]["quantityUnfulfilled"], 0);
}

#[tokio::test]
async fn repeat_of_a_package_reference_with_different_content_is_rejected() {
    let h = Harness::new(lagless()).await;
    let (id, items) = two_item_order(&h, false);
    let token = h.token().await;
    let first = h.confirm(&token, &id, &package("7", &[(&items[0], 1)])).await;
    assert_eq!(first.status, StatusCode::NO_CONTENT);
    let mut changed = package("7", &[(&items[0], 1)]);
    changed["packageDetail"]["trackingNumber"] = "OTHER123".into();
    let r = h.confirm(&token, &id, &changed).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error_code(), "InvalidInput");
    assert_eq!(h.sandbox.confirmations().len(), 1);
    assert_eq!(h.sandbox.duplicate_confirmations(), 0);
}

#[tokio::test]
async fn partial_shipments_mark_the_order_partially_shipped_then_shipped() {
    let h = Harness::new(lagless()).await;
    let (id, items) = two_item_order(&h, false);
    let token = h.token().await;
    let before = h.sandbox.order_json(&id).unwrap()["lastUpdatedTime"].clone();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;

    let r = h.confirm(&token, &id, &package("1", &[(&items[0], 1)])).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(h.sandbox.order_status(&id).as_deref(), Some("PARTIALLY_SHIPPED"));
    let order = h.sandbox.order_json(&id).unwrap();
    assert!(order["lastUpdatedTime"].as_str() > before.as_str());
    assert_eq!(order["orderItems"][0]["fulfillment"]["quantityUnfulfilled"], 1);

    // More than is still unshipped.
    let too_many = h.confirm(&token, &id, &package("2", &[(&items[0], 2)])).await;
    assert_eq!(too_many.status, StatusCode::BAD_REQUEST);
    assert_eq!(too_many.error_code(), "InvalidInput");

    let rest = package("2", &[(&items[0], 1), (&items[1], 1)]);
    assert_eq!(h.confirm(&token, &id, &rest).await.status, StatusCode::NO_CONTENT);
    assert_eq!(h.sandbox.order_status(&id).as_deref(), Some("SHIPPED"));
    assert_eq!(h.sandbox.order_json(&id).unwrap()["packages"].as_array().unwrap().len(), 2);
    assert!(!h.sandbox.cancel(&id), "shipped orders cannot be cancelled");
}

#[tokio::test]
async fn pending_and_cancelled_orders_cannot_be_confirmed() {
    let h = Harness::new(lagless()).await;
    let (pending, items) = two_item_order(&h, true);
    let token = h.token().await;
    let r = h.confirm(&token, &pending, &package("1", &[(&items[0], 1)])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error_code(), "InvalidInput");
    assert!(r.error_message().contains("pending"), "{}", r.body);

    let (cancelled, items) = two_item_order(&h, false);
    assert!(h.sandbox.cancel(&cancelled));
    assert_eq!(h.sandbox.order_status(&cancelled).as_deref(), Some("CANCELLED"));
    let r = h.confirm(&token, &cancelled, &package("1", &[(&items[0], 1)])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.error_message().contains("cancelled"));
    assert!(h.sandbox.confirmations().is_empty());
}

#[tokio::test]
async fn invalid_shipment_confirmations_are_rejected_as_invalid_input() {
    let h = Harness::new(lagless()).await;
    let (id, items) = two_item_order(&h, false);
    let token = h.token().await;
    let valid = package("1", &[(&items[0], 1)]);
    let mut cases: Vec<(&str, Value)> = Vec::new();
    let mut v = valid.clone();
    v["packageDetail"]["orderItems"][0]["orderItemId"] = "12345678901234".into();
    cases.push(("unknown item", v));
    let mut v = valid.clone();
    v["packageDetail"]["orderItems"][0]["quantity"] = 0.into();
    cases.push(("zero quantity", v));
    let mut v = valid.clone();
    v["packageDetail"]["packageReferenceId"] = "PKG-1".into();
    cases.push(("non-numeric reference", v));
    let mut v = valid.clone();
    v["packageDetail"]["packageReferenceId"] = 1.into();
    cases.push(("reference as number", v));
    let mut v = valid.clone();
    v["packageDetail"].as_object_mut().unwrap().remove("trackingNumber");
    cases.push(("missing tracking number", v));
    let mut v = valid.clone();
    v["packageDetail"]["shipDate"] = "15.01.2026".into();
    cases.push(("bad ship date", v));
    let mut v = valid.clone();
    v.as_object_mut().unwrap().remove("marketplaceId");
    cases.push(("missing marketplace", v));
    let mut v = valid.clone();
    v["packageDetail"]["carrierCode"] = "Other".into();
    cases.push(("Other without carrierName", v));
    let mut v = valid.clone();
    v["packageDetail"]["orderItems"] = serde_json::json!([]);
    cases.push(("no items", v));
    for field in ["packageReferenceId", "carrierCode", "shipDate", "orderItems"] {
        let mut v = valid.clone();
        v["packageDetail"].as_object_mut().unwrap().remove(field);
        cases.push((field, v));
    }
    for field in ["orderItemId", "quantity"] {
        let mut v = valid.clone();
        v["packageDetail"]["orderItems"][0].as_object_mut().unwrap().remove(field);
        cases.push((field, v));
    }
    let mut v = valid.clone();
    v.as_object_mut().unwrap().remove("packageDetail");
    cases.push(("missing packageDetail", v));
    let mut v = valid.clone();
    v["packageDetail"]["orderItems"][0]["quantity"] = "1".into();
    cases.push(("quantity as string", v));
    let mut v = valid.clone();
    v["packageDetail"]["orderItems"][0]["transparencyCodes"] = "AZ123".into();
    cases.push(("transparency codes not a list", v));
    let mut v = valid.clone();
    v["packageDetail"]["packageReferenceId"] = "0".into();
    cases.push(("reference not positive", v));
    let mut v = valid.clone();
    v["marketplaceId"] = "A1F83G8C2ARO7P".into();
    cases.push(("marketplace of another order", v));
    let mut v = valid.clone();
    v["codCollectionMethod"] = "Cash".into();
    cases.push(("codCollectionMethod outside the enum", v));
    for (case, body) in cases {
        let r = h.confirm(&token, &id, &body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{case}: {}", r.body);
        assert_eq!(r.error_code(), "InvalidInput", "{case}");
    }
    let unknown = h.confirm(&token, "302-0000000-0000000", &valid).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(h.sandbox.confirmations().is_empty());
    assert_eq!(h.sandbox.order_status(&id).as_deref(), Some("UNSHIPPED"));
}

#[tokio::test]
async fn confirm_shipment_requires_a_valid_access_token() {
    let h = Harness::new(lagless()).await;
    let (id, items) = two_item_order(&h, false);
    let r = h.confirm("Atza|forged", &id, &package("1", &[(&items[0], 1)])).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.error_code(), "Unauthorized");
    assert!(h.sandbox.confirmations().is_empty());
}

#[tokio::test]
async fn cod_collection_method_is_only_accepted_in_the_jp_marketplace() {
    let de = Harness::new(lagless()).await;
    let (id, items) = two_item_order(&de, false);
    let token = de.token().await;
    let mut body = package("1", &[(&items[0], 1)]);
    body["codCollectionMethod"] = "DirectPayment".into();
    let r = de.confirm(&token, &id, &body).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.error_message().contains("JP"), "{}", r.body);

    let jp = Harness::new(SandboxConfig {
        marketplace_id: "A1VC38T7YXB528".to_string(),
        currency: "JPY".to_string(),
        ..lagless()
    })
    .await;
    let (id, items) = two_item_order(&jp, false);
    let token = jp.token().await;
    body["marketplaceId"] = "A1VC38T7YXB528".into();
    body["packageDetail"]["orderItems"][0]["orderItemId"] = items[0].clone().into();
    let r = jp.confirm(&token, &id, &body).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
}

#[tokio::test]
async fn accepted_request_bodies_are_kept_as_sent_and_match_amazons_model() {
    let h = Harness::new(lagless()).await;
    let (id, items) = two_item_order(&h, false);
    let token = h.token().await;
    let mut first = package("1", &[(&items[0], 2)]);
    first["packageDetail"]["shipFromSupplySourceId"] = "057d3fcc-b750-419f-bbcd-4d340c60c430".into();
    first["packageDetail"]["orderItems"][0]["transparencyCodes"] = json!(["AZ1234567890"]);
    let refused = package("2", &[(&items[1], 5)]);
    let second = package("2", &[(&items[1], 1)]);
    for (body, status) in [
        (&first, StatusCode::NO_CONTENT),
        (&first, StatusCode::NO_CONTENT),
        (&refused, StatusCode::BAD_REQUEST),
        (&second, StatusCode::NO_CONTENT),
    ] {
        assert_eq!(h.confirm(&token, &id, body).await.status, status);
    }
    let bodies = h.sandbox.confirmation_request_bodies();
    assert_eq!(bodies, vec![first.clone(), first, second], "every 204 in arrival order, repeats too");
    assert_eq!(h.sandbox.confirmations().len(), 2);
    for body in &bodies {
        AmazonModel::orders_v0().validate_strict("ConfirmShipmentRequest", body).unwrap();
    }
}
