//! JTL SCX end to end: the sandbox's seller event feed imported by the real import function
//! into moto's DynamoDB, shipments reported by the real shipment function.

use orderbridge::domain::{
    Answer, AnsweredBy, DecisionKind, DecisionPolicy, LineQuantity, Marketplace, OrderState, OrderStatus,
};
use orderbridge::handlers::shipment::ShipmentResponse;
use orderbridge::ports::{OrderStore, PipelineSettings};
use orderbridge::Deadline;
use orderbridge_sandbox::{EndpointFaults, FaultConfig, NewItem, NewScxOrder, ScxCancelReason};
use orderbridge_tests::{Pipeline, PipelineOptions, KAUFLAND, OTTO};
use serde_json::json;
use std::time::Duration;

const NEW: &str = "Channel:Order.New";
const ADDRESS: &str = "Channel:Order.AddressUpdate";
const STATUS: &str = "Channel:Order.StatusUpdate";

fn created(p: &Pipeline, channel: &str, quantity: u32) -> String {
    p.place_scx(channel, NewScxOrder::created(vec![NewItem::new("MUG-1", quantity, 1999)]))
}

fn accepted(p: &Pipeline, quantity: u32) -> String {
    p.place_scx(OTTO, NewScxOrder::accepted(vec![NewItem::new("MUG-1", quantity, 1999)]))
}

fn acknowledged(p: &Pipeline, ids: &[String]) -> bool {
    let acked = p.sandbox.scx_acknowledged_event_ids();
    ids.iter().all(|id| acked.contains(id))
}

async fn scx_pipeline(options: PipelineOptions) -> Pipeline {
    Pipeline::on_moto_with(Marketplace::Scx, options).await
}

#[tokio::test]
async fn a_created_order_is_imported_pending_without_customer_and_acknowledged_once_stored() {
    let p = Pipeline::on_moto(Marketplace::Scx).await;
    let key = created(&p, OTTO, 2);
    assert!(p.stored(&key).await.is_none());

    let run = p.import_account().await;
    assert_eq!((run.created_pending, run.acknowledged, run.deferred), (1, 1, 0), "{run:?}");
    let order = p.order(&key).await;
    assert_eq!(order.status(), OrderStatus::Pending);
    assert!(matches!(order.state, OrderState::Pending { withheld_customer: None, .. }));
    assert_eq!(order.sales_channel, OTTO);
    assert_eq!(order.lines[0].quantity_ordered, 2);
    assert_eq!(order.prices().map(|p| p.total.minor_units), Some(3998), "SCX sends prices with the order");
    assert!(acknowledged(&p, &p.scx_event_ids_of(&key, NEW)));
    assert!(p.scx_pending_events().is_empty());
}

#[tokio::test]
async fn an_import_near_its_deadline_fetches_no_events_and_leaves_them_to_the_next_run() {
    let p = Pipeline::on_moto(Marketplace::Scx).await;
    let key = created(&p, OTTO, 1);
    let hurried = Deadline::after(Duration::from_secs(30));
    let report = orderbridge::usecases::import::run(&p.ports, &Default::default(), hurried).await.unwrap();
    assert!(!report.accounts[0].caught_up, "{report:?}");
    // Events fetched now could not be stored and acknowledged in time: they would only be
    // hidden for 5 minutes and then delivered again.
    assert_eq!(p.sandbox.request_count("scxGetEvents"), 0);
    assert!(p.stored(&key).await.is_none());

    let run = p.import_account().await;
    assert_eq!((run.created_pending, run.acknowledged), (1, 1), "{run:?}");
}

#[tokio::test]
async fn an_address_and_the_acceptance_make_the_order_deliverable() {
    let p = Pipeline::on_moto(Marketplace::Scx).await;
    let key = created(&p, OTTO, 1);
    p.import_account().await;
    assert!(p.sandbox.scx_add_address(&p.scx_key(&key)));
    p.import_account().await;
    assert_eq!(p.order(&key).await.status(), OrderStatus::Pending, "an address alone releases nothing");
    assert!(p.sandbox.scx_accept(&p.scx_key(&key)));

    let run = p.import_account().await;
    assert_eq!(run.released, 1, "{run:?}");
    let order = p.order(&key).await;
    assert_eq!(order.status(), OrderStatus::Deliverable);
    assert_eq!(order.customer().map(|c| c.shipping_address.country_code.len()), Some(2));
    assert_eq!(order.prices().map(|p| p.total.minor_units), Some(1999));
    assert!(p.scx_pending_events().is_empty());
}

#[tokio::test]
async fn duplicated_reordered_and_redelivered_events_apply_once() {
    let p = Pipeline::on_moto(Marketplace::Scx).await;
    p.sandbox.set_faults(FaultConfig {
        seed: 11,
        duplicate_event_percent: 100,
        reordered_redelivery_percent: 100,
        lost_ack_percent: 100,
        ..FaultConfig::none()
    });
    let key = created(&p, OTTO, 3);
    assert!(p.sandbox.scx_add_address(&p.scx_key(&key)));
    assert!(p.sandbox.scx_accept(&p.scx_key(&key)));
    let first = p.import_account().await;
    assert_eq!(first.created_pending + first.created_deliverable, 1, "{first:?}");
    let after_first = p.order(&key).await;
    assert_eq!(after_first.status(), OrderStatus::Deliverable);

    // Every acknowledgement was lost: everything comes again, the older events behind newer.
    p.sandbox.set_faults(FaultConfig { seed: 11, reordered_redelivery_percent: 100, ..FaultConfig::none() });
    assert!(p.sandbox.scx_expire_visibility() >= 6);
    let again = p.import_account().await;
    assert_eq!((again.created_pending, again.created_deliverable, again.updated), (0, 0, 0), "{again:?}");
    let order = p.order(&key).await;
    assert_eq!(order.version, after_first.version, "nothing was written again");
    assert_eq!(order.lines, after_first.lines);
    assert!(p.scx_pending_events().is_empty());
}

#[tokio::test]
async fn a_status_update_before_its_new_order_event_waits_and_applies_after_redelivery() {
    let p = Pipeline::on_moto(Marketplace::Scx).await;
    let key = created(&p, OTTO, 1);
    // Someone lists the new-order event and never acknowledges it (a crashed run).
    let account = p.ports.accounts.get_account(&p.account).await.unwrap().unwrap();
    let client = p.ports.marketplaces.connect(&account).await.unwrap();
    let listed = client.fetch_changes(None, Deadline::after(Duration::from_secs(600))).await.unwrap();
    assert_eq!(listed.deliveries.len(), 1);
    assert!(p.sandbox.scx_add_address(&p.scx_key(&key)));
    assert!(p.sandbox.scx_accept(&p.scx_key(&key)));
    p.sandbox.set_faults(FaultConfig { seed: 3, reordered_redelivery_percent: 100, ..FaultConfig::none() });
    p.sandbox.scx_expire_visibility();

    let first = p.import_account().await;
    assert_eq!(first.deferred, 2, "address and status arrived before the order: {first:?}");
    assert_eq!(p.order(&key).await.status(), OrderStatus::Pending);
    let later = [p.scx_event_ids_of(&key, ADDRESS), p.scx_event_ids_of(&key, STATUS)].concat();
    assert!(
        !later.iter().any(|id| p.sandbox.scx_acknowledged_event_ids().contains(id)),
        "left for redelivery"
    );
    assert!(acknowledged(&p, &p.scx_event_ids_of(&key, NEW)));

    p.sandbox.scx_expire_visibility();
    let second = p.import_account().await;
    assert_eq!((second.released, second.deferred), (1, 0), "{second:?}");
    assert_eq!(p.order(&key).await.status(), OrderStatus::Deliverable);
    assert!(acknowledged(&p, &later));
}

#[tokio::test]
async fn a_unit_cancelled_by_the_buyer_and_the_rest_shipped_ends_shipped_with_one_complete_notice() {
    let p = Pipeline::on_moto(Marketplace::Scx).await;
    let key = accepted(&p, 2);
    p.import_account().await;
    let line = p.order(&key).await.lines[0].item_id.clone();
    let request = p
        .sandbox
        .scx_request_cancellation(&p.scx_key(&key), &[(line.as_str(), 1)], ScxCancelReason::BuyerCancelled)
        .expect("request");
    p.import_account().await;
    let order = p.order(&key).await;
    let decision = order.decisions.iter().find(|d| d.id == request).expect("an open decision").clone();
    assert!(
        matches!(&decision.kind, DecisionKind::Cancellation { units, .. } if units == &[LineQuantity::new(line.clone(), 1)])
    );

    // The operator agrees from the console: the hub is told, then the order records it.
    let decide = json!({"decide": {
        "account_id": p.account.as_str(),
        "marketplace_order_id": order.key.marketplace_order_id.as_str(),
        "decision_id": request,
        "accept": true,
    }});
    assert!(matches!(p.shipment(decide.clone()).await, Ok(ShipmentResponse::Decided(_))));
    assert_eq!(p.sandbox.scx_request_bodies("cancellation-accept").len(), 1);
    let order = p.order(&key).await;
    assert_eq!(order.lines[0].quantity_cancelled, 1);
    let answer = order.decisions.iter().find(|d| d.id == request).and_then(|d| d.answer.clone());
    assert!(matches!(answer, Some(Answer { accepted: true, by: AnsweredBy::Operator, .. })));
    // Answered once: a repeat is refused and nothing more is sent to the hub.
    assert!(p.shipment(decide).await.is_err());
    assert_eq!(p.sandbox.scx_request_bodies("cancellation-accept").len(), 1);

    p.shipment(p.record_event(
        &key,
        "00340434161234567890",
        json!([{"order_item_id": line.as_str(), "quantity": 1}]),
    ))
    .await
    .unwrap();
    assert_eq!(p.report_shipments().await, 1);
    assert_eq!(p.report_shipments().await, 0, "a confirmed package is never sent again");
    let notices = p.sandbox.scx_shipping_notices();
    assert_eq!(notices.len(), 1);
    assert!(notices[0].shipping_complete);
    assert_eq!(p.order(&key).await.status(), OrderStatus::Shipped);

    // The channel's confirmation of the shipped line changes nothing more.
    p.import_account().await;
    let order = p.order(&key).await;
    assert_eq!(order.status(), OrderStatus::Shipped);
    assert_eq!((order.lines[0].quantity_cancelled, order.lines[0].quantity_shipped), (1, 1));
}

#[tokio::test]
async fn a_shipping_notice_whose_answer_is_lost_is_not_sent_twice() {
    let settings = PipelineSettings {
        first_status_check_delay: Duration::ZERO,
        uncertain_shipment_wait: Duration::ZERO,
        ..Default::default()
    };
    let p = scx_pipeline(PipelineOptions { settings, ..Default::default() }).await;
    let key = accepted(&p, 1);
    p.import_account().await;
    let line = p.order(&key).await.lines[0].item_id.clone();
    p.shipment(p.record_event(&key, "T-1", json!([{"order_item_id": line.as_str(), "quantity": 1}])))
        .await
        .unwrap();

    p.sandbox.set_faults(FaultConfig {
        seed: 5,
        scx_orders: EndpointFaults { reset_percent: 100, ..EndpointFaults::none() },
        ..FaultConfig::none()
    });
    for attempt in 1.. {
        assert!(attempt <= 20, "no reset after the notice was recorded in 20 runs");
        assert_eq!(p.report_shipments().await, 0, "every answer is lost");
        // What the hub recorded comes back through the feed before the next run decides.
        p.import_account().await;
        if p.sandbox.fault_counts().get("scxOrders/reset_after_record") == Some(&1) {
            break;
        }
        assert!(p.sandbox.scx_shipping_notices().is_empty());
    }
    p.sandbox.set_faults(FaultConfig::none());
    p.report_shipments().await;
    p.report_shipments().await;

    assert_eq!(p.sandbox.scx_shipping_notices().len(), 1);
    assert_eq!(p.sandbox.scx_duplicate_shipping_notices(), 0);
    assert_eq!(p.order(&key).await.status(), OrderStatus::Shipped);
    let packages = p.store.packages(&p.key(&key)).await.unwrap();
    assert!(packages[0].is_confirmed(), "{:?}", packages[0].state);
}

#[tokio::test]
async fn an_account_reading_otto_never_acknowledges_kaufland_events() {
    let p = scx_pipeline(PipelineOptions { scx_channels: vec![OTTO], ..Default::default() }).await;
    let otto = created(&p, OTTO, 1);
    let kaufland = created(&p, KAUFLAND, 1);

    let run = p.import_account().await;
    assert_eq!(run.created_pending, 1, "{run:?}");
    assert!(p.stored(&otto).await.is_some());
    assert!(p.stored(&kaufland).await.is_none());
    assert!(acknowledged(&p, &p.scx_event_ids_of(&otto, NEW)));
    let kaufland_events = p.scx_event_ids_of(&kaufland, NEW);
    assert!(!kaufland_events.iter().any(|id| p.sandbox.scx_acknowledged_event_ids().contains(id)));
    let pending = p.scx_pending_events();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["event"]["channel"], KAUFLAND);
}

#[tokio::test]
async fn an_account_that_accepts_automatically_accepts_an_unacked_order_once() {
    let p = scx_pipeline(PipelineOptions {
        decision_policy: DecisionPolicy::AcceptAutomatically,
        ..Default::default()
    })
    .await;
    let key = p.place_scx(OTTO, NewScxOrder::unacked(Vec::new()));
    let report = p.import_account().await;
    assert_eq!(report.decisions_answered, 1);
    assert_eq!(p.sandbox.scx_request_bodies("accept").len(), 1);
    let order = p.order(&key).await;
    assert_eq!(order.status(), OrderStatus::Pending, "accepted by the seller; the channel moves it on");
    assert!(order.open_decisions().next().is_none());
    // The channel's next events change the order, not the answer: nothing is sent again.
    p.import_account().await;
    assert_eq!(p.sandbox.scx_request_bodies("accept").len(), 1);
}

#[tokio::test]
async fn an_account_reading_two_channels_answers_each_under_its_own_seller_id() {
    // Connected under OTTO's sellerId; Kaufland knows the same seller under another one.
    let p = Pipeline::on_moto(Marketplace::Scx).await;
    let seller = p.seller.scx();
    assert_ne!(seller.seller_id(OTTO), seller.seller_id(KAUFLAND), "the channels know the seller apart");
    let otto = p.place_scx(OTTO, NewScxOrder::accepted(vec![NewItem::new("MUG-1", 1, 1999)]).paid());
    let kaufland = p.place_scx(KAUFLAND, NewScxOrder::accepted(vec![NewItem::new("MUG-1", 1, 1999)]).paid());
    assert_eq!(p.import_account().await.created_deliverable, 2);
    for (id, channel) in [(&otto, OTTO), (&kaufland, KAUFLAND)] {
        assert_eq!(p.order(id).await.marketplace_seller_id.as_deref(), seller.seller_id(channel));
        p.record_whole_order(id, &format!("T-{channel}")).await;
    }
    assert_eq!(p.report_shipments().await, 2);
    let notices = p.sandbox.scx_shipping_notices();
    assert_eq!(notices.len(), 2);
    for notice in &notices {
        assert_eq!(Some(notice.order.seller_id.as_str()), seller.seller_id(&notice.order.channel));
    }
    assert_eq!(p.order(&kaufland).await.status(), OrderStatus::Shipped);
}

#[tokio::test]
async fn changes_to_a_rejected_order_are_kept_and_acknowledged_not_redelivered_forever() {
    let p = Pipeline::on_moto(Marketplace::Scx).await;
    p.sandbox.set_faults(FaultConfig { malformed_order_percent: 100, ..FaultConfig::none() });
    let broken = created(&p, OTTO, 1);
    p.sandbox.set_faults(FaultConfig::none());
    assert_eq!(p.rejectable_order_ids(), vec![broken.clone()]);
    let first = p.import_account().await;
    assert_eq!(first.rejected, 1, "{first:?}");

    // The channel goes on with the order: address, acceptance.
    assert!(p.sandbox.scx_add_address(&p.scx_key(&broken)));
    assert!(p.sandbox.scx_accept(&p.scx_key(&broken)));
    let run = p.import_account().await;
    assert_eq!((run.deferred, run.kept_for_rejected_orders), (0, 2), "{run:?}");
    assert!(p.scx_pending_events().is_empty(), "nothing comes back forever");
    assert!(p.stored(&broken).await.is_none());
    let rejections = p.ports.orders.rejections(&p.account, false).await.unwrap();
    assert_eq!(rejections.len(), 1);
    assert_eq!(rejections[0].marketplace_order_id.as_deref(), Some(broken.as_str()));
    assert!(rejections[0].reason.contains("field "), "{}", rejections[0].reason);

    // Nothing is lost: every event is kept, and a replay tries them again (the order is still
    // unreadable, so it stays rejected).
    let kept = p.store.kept_deliveries(&p.account, Some(&broken)).await.unwrap();
    assert_eq!(kept.len(), 3);
    let replay = orderbridge::usecases::replay::replay(&p.ports, &p.account, Some(&broken)).await.unwrap();
    assert_eq!((replay.deliveries, replay.rejections_resolved), (3, 0), "{replay:?}");
    assert!(p.stored(&broken).await.is_none());
}

#[tokio::test]
async fn a_long_pending_order_is_counted_but_not_sent_to_the_status_function() {
    let settings = PipelineSettings {
        first_status_check_delay: Duration::ZERO,
        pending_sweep_after: Duration::ZERO,
        ..Default::default()
    };
    let p = scx_pipeline(PipelineOptions { settings, ..Default::default() }).await;
    let id = created(&p, OTTO, 1);
    p.import_account().await;
    assert_eq!(p.order(&id).await.status(), OrderStatus::Pending);
    let report = orderbridge::handlers::housekeeping::handle(&p.ports, json!({}), Deadline::unlimited())
        .await
        .unwrap();
    assert_eq!((report.pending_orders, report.pending_checks_queued), (1, 0), "{report:?}");
    assert!(p.status_messages().await.is_empty(), "SCX has no order query: its feed brings the change");
}

#[tokio::test]
async fn housekeeping_counts_open_decisions_and_answers_those_an_automatic_account_could_not_answer_at_import(
) {
    let housekeeping = |p: &Pipeline| {
        let ports = p.ports.clone();
        async move {
            orderbridge::handlers::housekeeping::handle(&ports, json!({}), Deadline::unlimited())
                .await
                .unwrap()
        }
    };
    let operator = Pipeline::on_moto(Marketplace::Scx).await;
    operator.place_scx(OTTO, NewScxOrder::unacked(Vec::new()));
    operator.import_account().await;
    let report = housekeeping(&operator).await;
    assert_eq!((report.open_decisions, report.decisions_answered), (1, 0), "left to the operator");
    assert!(operator.sandbox.scx_request_bodies("accept").is_empty());

    let automatic = scx_pipeline(PipelineOptions {
        decision_policy: DecisionPolicy::AcceptAutomatically,
        ..Default::default()
    })
    .await;
    let key = automatic.place_scx(OTTO, NewScxOrder::unacked(Vec::new()));
    automatic.sandbox.set_faults(FaultConfig {
        seed: 5,
        scx_orders: EndpointFaults { server_error_percent: 100, ..EndpointFaults::none() },
        ..FaultConfig::none()
    });
    assert_eq!(automatic.import_account().await.decisions_answered, 0, "the hub failed the answer");
    automatic.sandbox.set_faults(FaultConfig::none());
    let report = housekeeping(&automatic).await;
    assert_eq!((report.open_decisions, report.decisions_answered), (0, 1), "{report:?}");
    assert_eq!(automatic.sandbox.scx_request_bodies("accept").len(), 1);
    assert!(automatic.order(&key).await.open_decisions().next().is_none());
}
