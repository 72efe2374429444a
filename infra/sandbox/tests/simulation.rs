//! Seeded data, the generator, and the control endpoints.

mod common;

use std::time::Duration;

use common::{lagless, Harness};
use orderbridge_sandbox::{GeneratorConfig, NewOrder, Sandbox, SandboxConfig};
use reqwest::StatusCode;
use serde_json::json;

fn seeded(seed: u64) -> Sandbox {
    let sandbox = Sandbox::new(SandboxConfig { seed, ..SandboxConfig::default() });
    sandbox.add_seller();
    for _ in 0..3 {
        sandbox.create_order("SANDBOXSELLER1", NewOrder::released(vec![]));
    }
    sandbox
}

#[test]
fn orders_and_buyers_are_deterministic_from_the_seed() {
    let (a, b, c) = (seeded(42), seeded(42), seeded(43));
    assert_eq!(a.order_ids(), b.order_ids());
    assert_ne!(a.order_ids(), c.order_ids());
    assert_eq!(a.buyer_field_values(), b.buyer_field_values());
    // Timestamps (and the shipping windows counted from creation) follow the wall clock.
    let strip_times = |s: &Sandbox, id: &str| {
        let mut v = s.order_json(id).unwrap();
        v.as_object_mut().unwrap().remove("createdTime");
        v.as_object_mut().unwrap().remove("lastUpdatedTime");
        let fulfillment = v["fulfillment"].as_object_mut().unwrap();
        fulfillment.remove("shipByWindow");
        fulfillment.remove("deliverByWindow");
        v
    };
    let id = &a.order_ids()[0];
    assert_eq!(strip_times(&a, id), strip_times(&b, id));
    assert_eq!(a.sellers(), b.sellers());
    assert_eq!(a.sellers()[0].seller_id, "SANDBOXSELLER1");
    assert_eq!(a.sellers()[0].client_id, "amzn1.application-oa2-client.sandbox1");
}

#[test]
fn generated_ids_and_buyer_data_have_realistic_shapes() {
    let sandbox = seeded(7);
    let id = &sandbox.order_ids()[0];
    let parts: Vec<&str> = id.split('-').collect();
    assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), [3, 7, 7]);
    let order = sandbox.order_json(id).unwrap();
    let item_id = order["orderItems"][0]["orderItemId"].as_str().unwrap();
    assert_eq!(item_id.len(), 14);
    assert!(order["buyer"]["buyerEmail"].as_str().unwrap().ends_with("@marketplace.amazon.de"));
    assert_eq!(order["salesChannel"]["marketplaceName"], "Amazon.de");
    assert_eq!(order["fulfillment"]["fulfilledBy"], "MERCHANT");
    // Names are distinctive enough to grep for in logs.
    let name = order["buyer"]["buyerName"].as_str().unwrap();
    assert!(name.rsplit('-').next().unwrap().parse::<u32>().is_ok(), "{name}");
    assert!(sandbox.buyer_field_values().len() >= 3 * 4);
}

#[test]
fn generator_tick_places_pending_orders_and_later_releases_them() {
    let sandbox = Sandbox::new(SandboxConfig {
        generator: Some(GeneratorConfig {
            new_order_every: Duration::from_secs(3600),
            pending_percent: 100,
            release_after: Duration::ZERO,
            cancel_percent: 0,
        }),
        ..SandboxConfig::default()
    });
    sandbox.add_seller();
    sandbox.add_seller();
    sandbox.tick();
    let ids = sandbox.order_ids();
    assert_eq!(ids.len(), 2, "one order per seller");
    for id in &ids {
        assert_eq!(sandbox.order_status(id).as_deref(), Some("PENDING"));
    }
    sandbox.tick();
    assert_eq!(sandbox.order_ids().len(), 2, "next order only due in an hour");
    for id in &ids {
        assert_eq!(sandbox.order_status(id).as_deref(), Some("UNSHIPPED"));
    }
}

#[test]
fn generator_cancels_orders_per_cancel_percent() {
    let sandbox = Sandbox::new(SandboxConfig {
        generator: Some(GeneratorConfig {
            new_order_every: Duration::from_secs(3600),
            pending_percent: 0,
            release_after: Duration::ZERO,
            cancel_percent: 100,
        }),
        ..SandboxConfig::default()
    });
    sandbox.add_seller();
    sandbox.tick();
    sandbox.tick();
    let id = &sandbox.order_ids()[0];
    assert_eq!(sandbox.order_status(id).as_deref(), Some("CANCELLED"));
}

#[test]
fn tick_without_generator_config_does_nothing() {
    let sandbox = Sandbox::new(SandboxConfig::default());
    sandbox.add_seller();
    sandbox.tick();
    assert!(sandbox.order_ids().is_empty());
}

#[tokio::test]
async fn spawned_generator_keeps_placing_orders() {
    let sandbox = Sandbox::new(SandboxConfig {
        generator: Some(GeneratorConfig {
            new_order_every: Duration::from_millis(100),
            pending_percent: 50,
            release_after: Duration::from_millis(100),
            cancel_percent: 0,
        }),
        ..SandboxConfig::default()
    });
    sandbox.add_seller();
    let task = sandbox.spawn_generator();
    tokio::time::sleep(Duration::from_millis(450)).await;
    task.abort();
    assert!(sandbox.order_ids().len() >= 3, "{:?}", sandbox.order_ids());
}

#[tokio::test]
async fn control_endpoints_drive_the_sandbox() {
    let h = Harness::new(lagless()).await;
    let sellers = h.get("/_sandbox/sellers", None, &[]).await;
    assert_eq!(sellers.body[0]["seller_id"], "SANDBOXSELLER1");

    let created = h
        .post(
            "/_sandbox/orders",
            Some(
                &json!({"pending": true, "items": [{"sku": "X-1", "quantity": 2, "unit_price_cents": 250}]}),
            ),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.body["orderId"].as_str().unwrap().to_string();
    assert_eq!(h.sandbox.order_status(&id).as_deref(), Some("PENDING"));

    let released = h.post(&format!("/_sandbox/orders/{id}/release"), None).await;
    assert_eq!(released.status, StatusCode::OK);
    assert_eq!(released.body["fulfillmentStatus"], "UNSHIPPED");
    let again = h.post(&format!("/_sandbox/orders/{id}/release"), None).await;
    assert_eq!(again.status, StatusCode::CONFLICT);

    let list = h.get("/_sandbox/orders", None, &[]).await;
    assert_eq!(list.body[0]["orderId"], id.as_str());
    assert!(list.body[0].get("buyer").is_none());

    let preorder = h.post("/_sandbox/orders", Some(&json!({"preorder": true}))).await;
    let preorder = preorder.body["orderId"].as_str().unwrap().to_string();
    assert_eq!(h.sandbox.order_status(&preorder).as_deref(), Some("PENDING_AVAILABILITY"));
    let authorizing = h.post(&format!("/_sandbox/orders/{preorder}/authorize"), None).await;
    assert_eq!(authorizing.status, StatusCode::OK);
    assert_eq!(authorizing.body["fulfillmentStatus"], "PENDING");
    let again = h.post(&format!("/_sandbox/orders/{preorder}/authorize"), None).await;
    assert_eq!(again.status, StatusCode::CONFLICT);

    let cancelled = h.post(&format!("/_sandbox/orders/{id}/cancel"), None).await;
    assert_eq!(cancelled.body["fulfillmentStatus"], "CANCELLED");
    let missing = h.post("/_sandbox/orders/nope/cancel", None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    let confirmations = h.get("/_sandbox/confirmations", None, &[]).await;
    assert_eq!(confirmations.body, json!([]));
}
