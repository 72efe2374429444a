//! The mapping of SCX events, as the sandbox and JTL's documentation shape them, to changes.

use super::events::{self, changes};
use super::shipping::shipping_body;
use crate::domain::{
    AccountId, ChangeKind, Currency, LineQuantity, MarketplaceOrderState, Money, OrderItemId,
};
use chrono::{TimeZone, Utc};
use serde_json::{json, Value};

fn envelope(kind: &str, event: Value) -> Value {
    json!({ "id": "5cde84164d811d00144581f8", "createdAt": "2020-08-06T06:40:18+0000", "type": kind, "event": event })
}

fn new_order(status: &str) -> Value {
    json!({
        "sellerId": "4711",
        "channel": "OTTODE",
        "orderId": "1000001",
        "orderStatus": status,
        "orderAcceptUntil": "2020-08-07T06:40:18+00:00",
        "paymentMethod": "PayPal",
        "purchasedAt": "2020-08-06T06:30:00+00:00",
        "lastChangedAt": "2020-08-06T06:40:00+00:00",
        "currency": "EUR",
        "orderItem": [
            { "orderItemId": "L1", "type": "ITEM", "itemStatus": "UNSHIPPED", "itemPaymentStatus": "PAID",
              "grossPrice": "19.99", "total": "39.98", "taxPercent": "19", "sku": "SKU-1", "quantity": "2.0", "title": "Mug" },
            { "orderItemId": "L2", "type": "ITEM", "itemStatus": "CANCELED_BY_BUYER", "itemPaymentStatus": "PENDING",
              "grossPrice": "5.00", "taxPercent": "19", "quantity": "1", "title": "Spoon" },
            { "orderItemId": "S1", "type": "SHIPPING", "grossPrice": "4.95", "total": "4.95", "quantity": "1" }
        ]
    })
}

fn address() -> Value {
    json!({ "firstName": "Erika", "lastName": "Mustermann", "street": "Hauptstr.", "houseNumber": "5",
            "postcode": "10115", "city": "Berlin", "country": "DE" })
}

fn id(s: &str) -> OrderItemId {
    OrderItemId::parse(s).unwrap()
}

fn eur(cents: i64) -> Money {
    Money::new(cents, Currency::parse("EUR").unwrap())
}

fn snapshot(raw: Value) -> crate::domain::MarketplaceOrder {
    let changes = changes(&envelope(events::ORDER_NEW, raw)).unwrap();
    match &changes[..] {
        [change] => match &change.kind {
            ChangeKind::Snapshot(order) => (**order).clone(),
            other => panic!("not a snapshot: {other:?}"),
        },
        other => panic!("{other:?}"),
    }
}

fn rejection(kind: &str, event: Value) -> String {
    changes(&envelope(kind, event)).unwrap_err().to_string()
}

#[test]
fn a_created_order_is_a_pending_snapshot_of_its_item_lines_without_customer() {
    let order = snapshot(new_order("CREATED"));
    assert_eq!(order.id.as_str(), "OTTODE:1000001");
    assert_eq!(order.sales_channel, "OTTODE");
    assert_eq!(order.state, MarketplaceOrderState::Pending);
    assert_eq!(order.updated_at, Utc.with_ymd_and_hms(2020, 8, 6, 6, 40, 0).unwrap());
    assert_eq!(order.accept_until, None, "only UNACKED orders wait for the seller");
    assert!(order.customer.is_none());
    let lines: Vec<_> = order
        .lines
        .iter()
        .map(|l| (l.item_id.as_str(), l.quantity_ordered, l.quantity_cancelled, l.paid))
        .collect();
    assert_eq!(lines, [("L1", 2, 0, true), ("L2", 1, 1, false)]);
    let prices = order.prices.unwrap();
    assert_eq!(prices.unit_price(&id("L1")), Some(eur(1999)));
    assert_eq!(prices.total, eur(3998 + 500 + 495), "every line's total, shipping included");
}

#[test]
fn an_unacked_order_must_be_accepted_by_its_accept_until() {
    let order = snapshot(new_order("UNACKED"));
    assert_eq!(order.state, MarketplaceOrderState::Pending);
    assert_eq!(order.accept_until, Some(Utc.with_ymd_and_hms(2020, 8, 7, 6, 40, 18).unwrap()));
}

#[test]
fn an_accepted_order_with_address_is_released_with_its_customer() {
    let mut raw = new_order("ACCEPTED");
    raw["shippingAddress"] = address();
    raw["buyer"] = json!({ "email": "erika@example.invalid" });
    let order = snapshot(raw);
    assert_eq!(order.state, MarketplaceOrderState::Released);
    let customer = order.customer.unwrap();
    assert_eq!(customer.shipping_address.lines, ["Hauptstr. 5"]);
    assert_eq!(customer.shipping_address.country_code, "DE");
    assert_eq!(customer.buyer_email.as_deref(), Some("erika@example.invalid"));
}

#[test]
fn amounts_are_exact_and_a_fraction_of_a_cent_is_rejected_naming_the_field() {
    let mut raw = new_order("CREATED");
    raw["orderItem"][0]["grossPrice"] = json!("1.005");
    let reason = rejection(events::ORDER_NEW, raw);
    assert!(reason.contains("event.orderItem[0].grossPrice"), "{reason}");
}

#[test]
fn a_fractional_quantity_is_rejected_naming_the_field() {
    let mut raw = new_order("CREATED");
    raw["orderItem"][1]["quantity"] = json!("1.5");
    let reason = rejection(events::ORDER_NEW, raw);
    assert!(reason.contains("event.orderItem[1].quantity"), "{reason}");
}

#[test]
fn a_missing_order_id_or_unknown_status_is_rejected_naming_the_field() {
    let mut raw = new_order("CREATED");
    raw.as_object_mut().unwrap().remove("orderId");
    assert!(rejection(events::ORDER_NEW, raw).contains("event.orderId"));
    assert!(rejection(events::ORDER_NEW, new_order("LOST")).contains("event.orderStatus"));
}

#[test]
fn a_status_update_changes_the_status_and_whole_lines() {
    let raw = json!({ "sellerId": "4711", "channel": "OTTODE", "orderId": "1000001", "orderStatus": "ACCEPTED",
        "orderItems": [
            { "orderItemId": "L1", "itemStatus": "SHIPPED", "paymentStatus": "PAID" },
            { "orderItemId": "L2", "itemStatus": "CANCELED_BY_SELLER", "paymentStatus": "PENDING" },
            { "orderItemId": "L3", "itemStatus": "REFUNDED" }
        ] });
    let changes = changes(&envelope(events::ORDER_STATUS_UPDATE, raw)).unwrap();
    assert!(changes.iter().all(|c| c.order_id.as_str() == "OTTODE:1000001"));
    assert!(changes.iter().all(|c| c.changed_at == Utc.with_ymd_and_hms(2020, 8, 6, 6, 40, 18).unwrap()));
    let kinds: Vec<_> = changes.into_iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        [
            ChangeKind::StatusChanged(MarketplaceOrderState::Released),
            ChangeKind::Shipped { units: vec![LineQuantity::whole_line(id("L1"))] },
            ChangeKind::Cancelled { units: Some(vec![LineQuantity::whole_line(id("L2"))]) },
            ChangeKind::Returned { units: vec![LineQuantity::whole_line(id("L3"))], return_id: None },
            ChangeKind::PaymentChanged { paid: vec![id("L1")] },
        ]
    );
}

#[test]
fn an_address_update_changes_the_buyer() {
    let raw = json!({ "sellerId": "4711", "channel": "OTTODE", "orderId": "1000001",
        "billingAddress": address(), "shippingAddress": address(), "buyer": { "email": "erika@example.invalid" } });
    let changes = changes(&envelope(events::ORDER_ADDRESS_UPDATE, raw)).unwrap();
    assert!(matches!(&changes[0].kind, ChangeKind::BuyerChanged(c) if c.shipping_address.city == "Berlin"));
}

#[test]
fn a_cancellation_request_names_its_units_and_reason() {
    let raw = json!({ "orderCancellationRequestId": "0f8fad5b-d9cb-469f-a165-70867728950e", "sellerId": "4711",
        "channel": "OTTODE", "orderId": "1000001", "orderItem": [{ "orderItemId": "L1", "quantity": "1" }],
        "cancelReason": "BUYER_CANCELLED" });
    let changes = changes(&envelope(events::ORDER_CANCELLATION_REQUEST, raw)).unwrap();
    assert_eq!(
        changes[0].kind,
        ChangeKind::CancellationRequested {
            request_id: "0f8fad5b-d9cb-469f-a165-70867728950e".into(),
            units: vec![LineQuantity::new(id("L1"), 1)],
            reason: Some("BUYER_CANCELLED".into()),
            respond_until: None,
        }
    );
}

#[test]
fn a_return_counts_once_by_the_channels_id_or_by_its_content() {
    let mut raw = json!({ "sellerId": "4711", "channel": "OTTODE", "orderId": "1000001",
        "orderItem": [{ "orderItemId": "L1", "quantity": "1", "returnReason": "DEFECT" }] });
    let by_content = changes(&envelope(events::ORDER_RETURN, raw.clone())).unwrap();
    let ChangeKind::Returned { units, return_id: Some(content_id) } = &by_content[0].kind else {
        panic!("a return: {:?}", by_content[0].kind);
    };
    assert_eq!(units, &vec![LineQuantity::new(id("L1"), 1)]);
    // The same announcement under another event id is the same return.
    let mut again = envelope(events::ORDER_RETURN, raw.clone());
    again["id"] = json!("another-event-id");
    let repeated = changes(&again).unwrap();
    assert!(matches!(&repeated[0].kind, ChangeKind::Returned { return_id: Some(r), .. } if r == content_id));
    raw["channelReturnId"] = json!("R-77");
    let by_channel = changes(&envelope(events::ORDER_RETURN, raw)).unwrap();
    assert!(matches!(&by_channel[0].kind, ChangeKind::Returned { return_id: Some(r), .. } if r == "R-77"));
}

#[test]
fn an_unknown_event_type_is_a_rejected_delivery_that_is_still_acknowledged() {
    let account = AccountId::parse("scx-1").unwrap();
    let raw = envelope("Channel:Offer.ListingFailed", json!({ "channel": "OTTODE", "orderId": "1" }));
    let delivery = events::delivery(&account, &raw, Utc::now());
    assert_eq!(delivery.receipt.as_deref(), Some("5cde84164d811d00144581f8"));
    let rejected = delivery.content.unwrap_err();
    assert!(rejected.reason.contains("type"), "{}", rejected.reason);
    assert_eq!(delivery.raw.unwrap().kind, "Channel:Offer.ListingFailed");
}

#[test]
fn a_rejected_event_keeps_no_buyer_data_in_its_excerpt() {
    let account = AccountId::parse("scx-1").unwrap();
    let mut raw = new_order("ACCEPTED");
    raw["shippingAddress"] = address();
    raw["currency"] = json!("XXX1");
    let delivery = events::delivery(&account, &envelope(events::ORDER_NEW, raw), Utc::now());
    let rejected = delivery.content.unwrap_err();
    assert!(rejected.reason.contains("event.currency"), "{}", rejected.reason);
    assert_eq!(rejected.marketplace_order_id.as_deref(), Some("OTTODE:1000001"));
    assert!(!rejected.raw_excerpt.contains("Mustermann"), "{}", rejected.raw_excerpt);
}

mod shipping {
    use super::*;
    use crate::domain::{Marketplace, OrderKey, Package, PackageId, PackageLine, PackageState, SalesOrder};

    fn order() -> SalesOrder {
        let mut raw = new_order("ACCEPTED");
        raw["shippingAddress"] = address();
        let snapshot = snapshot(raw);
        SalesOrder::from_marketplace(
            Marketplace::Scx,
            AccountId::parse("scx-1").unwrap(),
            &snapshot,
            Utc::now(),
        )
    }

    fn package(order: &SalesOrder, tracking: &[&str], quantity: u32) -> Package {
        Package {
            order: OrderKey::new(
                Marketplace::Scx,
                order.key.account_id.clone(),
                order.key.marketplace_order_id.clone(),
            ),
            id: PackageId::new(1).unwrap(),
            carrier: "DHL".into(),
            tracking_ids: tracking.iter().map(|t| t.to_string()).collect(),
            return_tracking_id: Some("RET-1".into()),
            ship_date: Utc.with_ymd_and_hms(2020, 8, 8, 10, 0, 0).unwrap(),
            shipping_method: None,
            lines: vec![PackageLine::new(id("L1"), quantity)],
            recorded_at: Utc::now(),
            state: PackageState::Unreported { attempts: 0, last_error: None, uncertain_since: None },
        }
    }

    #[test]
    fn a_package_completing_the_order_is_one_notice_with_shipping_complete() {
        let order = order();
        let body = shipping_body("4711", "OTTODE", "1000001", &order, &package(&order, &["T1"], 2));
        let entry = &body["orderList"][0];
        assert_eq!(entry["orderId"], "1000001");
        assert_eq!(entry["shippingComplete"], true);
        let items = entry["shippingItems"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0]["trackingNumber"], "T1");
        assert_eq!(items[0]["shippedAt"], "2020-08-08T10:00:00+00:00");
        assert_eq!(items[0]["returnTracking"]["trackingNumber"], "RET-1");
        assert_eq!(items[0]["orderItemIdList"], json!([{ "orderItemId": "L1", "quantity": 2 }]));
    }

    #[test]
    fn several_tracking_numbers_share_the_units_so_none_ships_twice() {
        let order = order();
        let body =
            shipping_body("4711", "OTTODE", "1000001", &order, &package(&order, &["T1", "T2", "T3"], 2));
        let items = body["orderList"][0]["shippingItems"].as_array().unwrap();
        let sent: Vec<_> = items
            .iter()
            .map(|i| (i["trackingNumber"].clone(), i["orderItemIdList"][0]["quantity"].clone()))
            .collect();
        assert_eq!(
            sent,
            [(json!("T1"), json!(1)), (json!("T2"), json!(1))],
            "a third parcel has no unit left"
        );
        assert_eq!(
            super::super::shipping::unsendable_tracking_ids(&package(&order, &["T1", "T2", "T3"], 2)),
            1
        );
    }

    #[test]
    fn a_partial_package_is_not_complete() {
        let order = order();
        let body = shipping_body("4711", "OTTODE", "1000001", &order, &package(&order, &["T1"], 1));
        assert_eq!(body["orderList"][0]["shippingComplete"], false);
    }
}
