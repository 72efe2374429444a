//! Tests of the one rule that applies marketplace changes: idempotent, monotonic, and fit for
//! whole orders (Amazon) as for events (SCX).

use super::*;
use crate::domain::{AccountId, Address, LinePrice, Marketplace, OrderEvent, PackageLine, ShipmentRequest};
use chrono::{Duration, TimeZone};

const ORDER: &str = "SCX-4711";

fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap() + Duration::minutes(minutes)
}

fn eur(cents: i64) -> Money {
    Money::new(cents, Currency::parse("EUR").unwrap())
}

fn item(id: &str) -> OrderItemId {
    OrderItemId::parse(id).unwrap()
}

fn units(id: &str, quantity: u32) -> LineQuantity {
    LineQuantity::new(item(id), quantity)
}

fn customer(city: &str) -> Customer {
    Customer {
        buyer_name: Some("Erika Mustermann".into()),
        buyer_email: None,
        company: None,
        shipping_address: Address {
            name: "Erika Mustermann".into(),
            company: None,
            lines: vec!["Heidestraße 17".into()],
            city: city.into(),
            postal_code: Some("51147".into()),
            region: None,
            country_code: "DE".into(),
            phone: None,
        },
    }
}

/// An SCX order as its new-order event carries it: CREATED, priced, two units of A and one
/// of B, no address yet.
fn created_order() -> MarketplaceOrder {
    let lines = vec![
        OrderLine::new(item("A"), Some("SKU-A".into()), None, None, 2),
        OrderLine::new(item("B"), Some("SKU-B".into()), None, None, 1),
    ];
    let prices = Prices::new(
        &lines,
        eur(5_000),
        vec![
            LinePrice { item_id: item("A"), unit_price: eur(2_000) },
            LinePrice { item_id: item("B"), unit_price: eur(1_000) },
        ],
    )
    .unwrap();
    MarketplaceOrder {
        id: MarketplaceOrderId::parse(ORDER).unwrap(),
        sales_channel: "OTTODE".into(),
        created_at: at(0),
        updated_at: at(0),
        state: MarketplaceOrderState::Pending,
        lines,
        currency: Some(prices.currency()),
        prices: Some(prices),
        paid_amount: None,
        customer: None,
        accept_until: None,
        seller_id: None,
    }
}

fn change(minutes: i64, kind: ChangeKind) -> OrderChange {
    OrderChange {
        order_id: MarketplaceOrderId::parse(ORDER).unwrap(),
        sales_channel: "OTTODE".into(),
        changed_at: at(minutes),
        kind,
    }
}

fn new_order() -> SalesOrder {
    let created = change(0, ChangeKind::Snapshot(Box::new(created_order())));
    SalesOrder::from_change(Marketplace::Scx, AccountId::parse("scx-main").unwrap(), &created, at(1)).unwrap()
}

fn accepted(minutes: i64) -> OrderChange {
    change(minutes, ChangeKind::StatusChanged(MarketplaceOrderState::Released))
}

fn address(minutes: i64, city: &str) -> OrderChange {
    change(minutes, ChangeKind::BuyerChanged(customer(city)))
}

fn apply_all(order: &mut SalesOrder, changes: &[OrderChange]) -> Vec<Applied> {
    changes.iter().map(|c| order.apply(c, at(30)).unwrap()).collect()
}

#[test]
fn a_created_order_without_address_is_pending_and_shows_no_customer() {
    let order = new_order();
    assert_eq!(order.status(), OrderStatus::Pending);
    assert_eq!(order.customer(), None);
    assert!(order.prices().is_some());
}

#[test]
fn address_then_acceptance_makes_the_order_deliverable() {
    let mut order = new_order();
    apply_all(&mut order, &[address(2, "Köln")]);
    assert_eq!(order.status(), OrderStatus::Pending, "an address alone releases nothing");
    assert_eq!(order.customer(), None, "withheld until the release");
    let applied = order.apply(&accepted(3), at(30)).unwrap();
    assert!(applied.released());
    assert_eq!(order.status(), OrderStatus::Deliverable);
    assert_eq!(order.customer().map(|c| c.shipping_address.city.as_str()), Some("Köln"));
}

#[test]
fn acceptance_before_the_address_waits_for_the_address() {
    let mut order = new_order();
    apply_all(&mut order, &[accepted(3)]);
    assert_eq!(order.status(), OrderStatus::Pending, "accepted without an address does not ship");
    apply_all(&mut order, &[address(2, "Köln")]);
    assert_eq!(order.status(), OrderStatus::Deliverable);
}

#[test]
fn every_change_applied_twice_changes_nothing_the_second_time() {
    let changes = [
        address(2, "Köln"),
        accepted(3),
        change(4, ChangeKind::PaymentChanged { paid: vec![item("A"), item("B")] }),
        change(5, ChangeKind::Cancelled { units: Some(vec![units("B", 1)]) }),
        change(6, ChangeKind::Shipped { units: vec![units("A", 2)] }),
        change(7, ChangeKind::Returned { units: vec![units("A", 1)], return_id: Some("R-1".into()) }),
        change(
            8,
            ChangeKind::CancellationRequested {
                request_id: "req-1".into(),
                units: vec![units("A", 1)],
                reason: None,
                respond_until: None,
            },
        ),
    ];
    let mut order = new_order();
    for c in &changes {
        order.apply(c, at(30)).unwrap();
        let once = order.clone();
        assert_eq!(order.apply(c, at(31)).unwrap(), Applied::Unchanged, "{}", c.kind.name());
        assert_eq!(order, once, "{}", c.kind.name());
    }
    assert_eq!(order.status(), OrderStatus::Shipped);
    assert_eq!(order.lines[0].quantity_returned, 1);
}

#[test]
fn an_older_status_never_moves_the_order_back() {
    let mut order = new_order();
    apply_all(&mut order, &[address(2, "Köln"), accepted(3)]);
    let deliverable = order.clone();
    let created_again = change(1, ChangeKind::StatusChanged(MarketplaceOrderState::Pending));
    assert_eq!(order.apply(&created_again, at(30)).unwrap(), Applied::Unchanged);
    let old_snapshot = change(0, ChangeKind::Snapshot(Box::new(created_order())));
    assert_eq!(order.apply(&old_snapshot, at(30)).unwrap(), Applied::Unchanged);
    assert_eq!(order, deliverable);
}

#[test]
fn an_older_address_never_overwrites_a_newer_one() {
    let mut order = new_order();
    apply_all(&mut order, &[address(5, "Bonn"), address(2, "Köln"), accepted(6)]);
    assert_eq!(order.customer().map(|c| c.shipping_address.city.as_str()), Some("Bonn"));
}

#[test]
fn the_same_changes_in_any_order_end_in_the_same_order() {
    let changes = vec![
        address(2, "Köln"),
        accepted(3),
        change(4, ChangeKind::Cancelled { units: Some(vec![units("B", 1)]) }),
        change(6, ChangeKind::Shipped { units: vec![units("A", 2)] }),
    ];
    let mut forward = new_order();
    apply_all(&mut forward, &changes);
    let mut backward = new_order();
    let reversed: Vec<_> = changes.iter().rev().cloned().collect();
    apply_all(&mut backward, &reversed);
    assert_eq!(forward.status(), OrderStatus::Shipped);
    assert_eq!(backward.status(), forward.status());
    assert_eq!(backward.lines, forward.lines);
}

#[test]
fn a_line_cancelled_at_the_marketplace_leaves_the_rest_to_ship() {
    let mut order = new_order();
    apply_all(&mut order, &[address(2, "Köln"), accepted(3)]);
    let applied = order.apply(&change(4, ChangeKind::Cancelled { units: Some(vec![units("B", 1)]) }), at(30));
    assert_eq!(
        applied.unwrap(),
        Applied::Changed { from: OrderStatus::Deliverable, to: OrderStatus::Deliverable }
    );
    assert!(matches!(order.history.last().map(|h| &h.event), Some(OrderEvent::UnitsCancelled { units: 1 })));
    assert_eq!(order.lines[1].quantity_open(), 0);
}

#[test]
fn an_order_with_one_unit_cancelled_by_the_buyer_ships_the_rest_and_ends_shipped() {
    let mut order = new_order();
    apply_all(&mut order, &[address(2, "Köln"), accepted(3)]);
    order.cancel_units(&[units("A", 1)], at(10)).unwrap();
    assert_eq!(order.status(), OrderStatus::Deliverable);
    let request = ShipmentRequest::single(
        "DHL",
        "T-1",
        at(20),
        vec![PackageLine::new(item("A"), 1), PackageLine::new(item("B"), 1)],
    );
    let package = order.record_package(&request, at(20)).unwrap();
    assert!(order.completed_by(&package));
    order.confirm_package(&package, at(21)).unwrap();
    assert_eq!(order.status(), OrderStatus::Shipped);
    assert_eq!(order.lines[0].quantity_cancelled, 1);
    assert_eq!(order.lines[0].quantity_shipped, 1);
}

#[test]
fn a_cancelled_unit_can_no_longer_be_packed() {
    let mut order = new_order();
    apply_all(&mut order, &[address(2, "Köln"), accepted(3)]);
    order.cancel_units(&[units("B", 1)], at(10)).unwrap();
    let request = ShipmentRequest::single("DHL", "T-1", at(20), vec![PackageLine::new(item("B"), 1)]);
    assert!(matches!(order.record_package(&request, at(20)), Err(TransitionError::QuantityExceeded { .. })));
}

#[test]
fn cancelling_every_line_cancels_a_pending_order_and_drops_the_withheld_address() {
    let mut order = new_order();
    apply_all(&mut order, &[address(2, "Köln")]);
    let applied = order.apply(&change(3, ChangeKind::Cancelled { units: None }), at(30)).unwrap();
    assert!(applied.cancelled());
    assert_eq!(order.status(), OrderStatus::Cancelled);
    assert!(!order.holds_buyer_data());
}

#[test]
fn returns_with_an_id_count_once_each() {
    let mut order = new_order();
    apply_all(
        &mut order,
        &[address(2, "Köln"), accepted(3), change(4, ChangeKind::Shipped { units: vec![units("A", 2)] })],
    );
    let first = change(5, ChangeKind::Returned { units: vec![units("A", 1)], return_id: Some("R-1".into()) });
    let second =
        change(6, ChangeKind::Returned { units: vec![units("A", 1)], return_id: Some("R-2".into()) });
    apply_all(&mut order, &[first.clone(), first, second]);
    assert_eq!(order.lines[0].quantity_returned, 2);
    assert_eq!(order.status(), OrderStatus::PartiallyShipped, "returns are facts; the status stays");
}

#[test]
fn a_change_about_an_order_not_stored_yet_waits_for_the_order() {
    let error =
        SalesOrder::from_change(Marketplace::Scx, AccountId::parse("scx-main").unwrap(), &accepted(3), at(4))
            .unwrap_err();
    assert!(matches!(error, ChangeError::OrderNotYetKnown { .. }));
}

#[test]
fn a_change_naming_an_unknown_line_is_refused_and_changes_nothing() {
    let mut order = new_order();
    let before = order.clone();
    let bad = change(3, ChangeKind::Shipped { units: vec![units("Z", 1)] });
    assert!(matches!(order.apply(&bad, at(30)), Err(TransitionError::UnknownItem { .. })));
    assert_eq!(order, before);
}

#[test]
fn an_unacked_order_opens_an_acceptance_decision_that_the_marketplace_settles() {
    let unacked = MarketplaceOrder { accept_until: Some(at(60)), ..created_order() };
    let mut order = SalesOrder::from_change(
        Marketplace::Scx,
        AccountId::parse("scx-main").unwrap(),
        &change(0, ChangeKind::Snapshot(Box::new(unacked))),
        at(1),
    )
    .unwrap();
    assert_eq!(order.decisions.len(), 1);
    assert!(order.decisions[0].is_open());
    assert_eq!(order.decisions[0].respond_until, Some(at(60)));
    apply_all(&mut order, &[accepted(5)]);
    assert!(!order.decisions[0].is_open());
}

#[test]
fn a_cancellation_request_opens_one_decision_however_often_it_arrives() {
    let mut order = new_order();
    let request = change(
        4,
        ChangeKind::CancellationRequested {
            request_id: "req-1".into(),
            units: vec![units("A", 1)],
            reason: Some("BUYER_CANCELLED".into()),
            respond_until: Some(at(120)),
        },
    );
    apply_all(&mut order, &[request.clone(), request]);
    assert_eq!(order.decisions.iter().filter(|d| d.is_open()).count(), 1);
}
