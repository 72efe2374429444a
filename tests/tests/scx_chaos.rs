//! Chaos for JTL's SCX seller feed: events duplicated (same payload, new id), redelivered after
//! their visibility timeout and behind newer ones, acknowledgements lost, and the hub's routes
//! failing (throttling, server errors, resets before and after processing, slow, truncated and
//! garbled answers), while the channels create, address, accept and cancel orders and the
//! merchant ships. Then, with the faults gone, the feed is drained and the invariants checked:
//!
//! - every event acknowledged was stored first (its raw copy is kept before its changes apply);
//! - no change applied twice: each stored order shows exactly the shipped and cancelled units
//!   and the status the hub has, however often and in whatever order its events came;
//! - every order stored once, and no shipping notice sent twice.
//!
//! Replay a failure with the seed it prints: `ORDERBRIDGE_CHAOS_SEED=<seed> scripts/test`.

use orderbridge::domain::OrderStatus;
use orderbridge::ports::{OrderStore, PipelineSettings};
use orderbridge::{handlers, Deadline};
use orderbridge_sandbox::{EndpointFaults, FaultConfig, NewItem, NewScxOrder, ScxCancelledBy, ScxOrderKey};
use orderbridge_tests::scx::{ScxPipeline, KAUFLAND, OTTO};
use orderbridge_tests::{chaos_seed, scheduled_event, SeededRng};
use serde_json::json;
use std::time::Duration;

const ROUNDS: u32 = 8;

async fn import(p: &ScxPipeline) {
    // Under faults a run may fail; the next one continues.
    let _ = handlers::import::handle(&p.ports, scheduled_event(), Deadline::unlimited()).await;
}

async fn ship_deliverable(p: &ScxPipeline, orders: &[ScxOrderKey], round: u32) {
    for key in orders {
        let Some(order) = p.stored(key).await else { continue };
        if order.status() != OrderStatus::Deliverable || order.packages_recorded > 0 {
            continue;
        }
        // Whole orders, so that the hub's shipped item status is the record of the notice.
        let items: Vec<_> = order
            .lines
            .iter()
            .filter(|l| l.quantity_unrecorded() > 0)
            .map(|l| json!({"order_item_id": l.item_id.as_str(), "quantity": l.quantity_unrecorded()}))
            .collect();
        let tracking = format!("T{round}{}", key.order_id);
        let _ = p.shipment(p.record_event(key, &tracking, json!(items))).await;
    }
    let _ = p.shipment(json!({})).await;
}

#[tokio::test]
async fn scx_events_under_faults_are_acknowledged_after_storing_applied_once_and_shipped_once() {
    let seed = chaos_seed();
    println!("scx chaos seed={seed}: replay with ORDERBRIDGE_CHAOS_SEED={seed}");
    let mut rng = SeededRng(seed);
    let settings = PipelineSettings {
        first_status_check_delay: Duration::ZERO,
        // A notice whose answer was lost waits for the hub's record, as in production.
        uncertain_shipment_wait: Duration::from_secs(3600),
        ..PipelineSettings::default()
    };
    let p = ScxPipeline::reading_with(&[], settings).await;
    p.sandbox.set_faults(FaultConfig {
        seed,
        scx_auth: EndpointFaults::uniform(2),
        scx_events: EndpointFaults::uniform(3),
        scx_orders: EndpointFaults::uniform(3),
        duplicate_event_percent: 25,
        reordered_redelivery_percent: 25,
        lost_ack_percent: 15,
        ..FaultConfig::none()
    });

    let mut orders: Vec<ScxOrderKey> = Vec::new();
    for round in 0..ROUNDS {
        for _ in 0..3 {
            let channel = if rng.percent(50) { OTTO } else { KAUFLAND };
            let quantity = 1 + rng.below(3) as u32;
            let new =
                NewScxOrder { items: vec![NewItem::new("MUG-1", quantity, 1999)], ..NewScxOrder::default() };
            orders.push(p.sandbox.create_scx_order(&p.seller.account_id, channel, new));
        }
        for key in &orders {
            match rng.below(10) {
                0..=3 => {
                    p.sandbox.scx_add_address(key);
                }
                4..=6 => {
                    p.sandbox.scx_accept(key);
                }
                7 => {
                    p.sandbox.scx_cancel(key, ScxCancelledBy::Buyer, &[]);
                }
                _ => {}
            }
        }
        import(&p).await;
        if rng.percent(40) {
            p.sandbox.scx_expire_visibility();
        }
        ship_deliverable(&p, &orders, round).await;
    }

    // Calm: every event comes again until acknowledged; notices on record are settled.
    p.sandbox.set_faults(FaultConfig::none());
    for _ in 0..12 {
        p.sandbox.scx_expire_visibility();
        import(&p).await;
        let _ = p.shipment(json!({})).await;
        if p.sandbox.scx_pending_events(&p.seller.account_id).is_empty() {
            break;
        }
    }
    assert!(
        p.sandbox.scx_pending_events(&p.seller.account_id).is_empty(),
        "seed {seed}: every event acknowledged in the end"
    );

    let kept: std::collections::BTreeSet<String> =
        p.store.kept_deliveries(&p.account, None).await.unwrap().into_iter().map(|d| d.id).collect();
    for id in p.sandbox.scx_acknowledged_event_ids() {
        let event = p.sandbox.scx_events_emitted().into_iter().find(|e| e["id"] == id.as_str());
        assert!(
            kept.contains(&id),
            "seed {seed}: event {id} acknowledged but not stored: {event:?}; kept {}",
            kept.len()
        );
    }
    assert_eq!(p.sandbox.scx_duplicate_shipping_notices(), 0, "seed {seed}: a shipping notice sent twice");
    for key in &orders {
        let order = p.order(key).await;
        let status = p.sandbox.scx_order_status(key).unwrap();
        let hub = p.sandbox.scx_order_json(key).unwrap();
        for line in &order.lines {
            let shipped = p.sandbox.scx_shipped_units(key, line.item_id.as_str()).unwrap();
            assert_eq!(
                line.quantity_shipped, shipped,
                "seed {seed}: order {} line {}",
                key.order_id, line.item_id
            );
            let item = hub["orderItem"]
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["orderItemId"] == line.item_id.as_str());
            let cancelled_at_hub =
                item.and_then(|i| i["itemStatus"].as_str()).is_some_and(|s| s.starts_with("CANCELED"));
            let cancelled = if cancelled_at_hub { line.quantity_ordered } else { 0 };
            assert_eq!(
                line.quantity_cancelled, cancelled,
                "seed {seed}: order {} line {}",
                key.order_id, line.item_id
            );
        }
        // An accepted order's status is frozen at the hub; its lines tell what shipped or was
        // cancelled (and those were just checked against the hub's).
        let expected = match status.as_str() {
            "CREATED" | "UNACKED" => OrderStatus::Pending,
            "CANCELED_BY_BUYER" | "CANCELED_BY_SELLER" => OrderStatus::Cancelled,
            _ if order.lines.iter().all(|l| l.quantity_due() == 0) => OrderStatus::Cancelled,
            _ if order.lines.iter().all(|l| l.quantity_open() == 0) => OrderStatus::Shipped,
            _ if order.lines.iter().any(|l| l.quantity_shipped > 0) => OrderStatus::PartiallyShipped,
            _ => OrderStatus::Deliverable,
        };
        assert_eq!(order.status(), expected, "seed {seed}: order {} is {status} at the hub", key.order_id);
    }
    println!(
        "scx chaos seed={seed}: {} orders, {} events acknowledged, {} notices, faults {:?}",
        orders.len(),
        p.sandbox.scx_acknowledged_event_ids().len(),
        p.sandbox.scx_shipping_notices().len(),
        p.sandbox.fault_counts()
    );
}
