//! Tests of the sales-order status machine.

use super::*;
use crate::domain::{
    Address, LinePrice, MarketplaceOrderId, MarketplaceOrderState, PackageLine, PackageState,
};
use chrono::{Duration, TimeZone};

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

const ORDER_ID: &str = "302-1234567-1234567";
const ACCOUNT: &str = "amazon-de";
const ITEM_A: &str = "item-a";
const ITEM_B: &str = "item-b";

/// A fixed point in time, `minutes` after the base instant.
fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap() + Duration::minutes(minutes)
}

fn eur() -> Currency {
    Currency::parse("EUR").unwrap()
}

fn euros(cents: i64) -> Money {
    Money::new(cents, eur())
}

fn account() -> AccountId {
    AccountId::parse(ACCOUNT).unwrap()
}

fn item(id: &str) -> OrderItemId {
    OrderItemId::parse(id).unwrap()
}

fn key_of(account_id: &str, order_id: &str) -> OrderKey {
    OrderKey::new(
        Marketplace::Amazon,
        AccountId::parse(account_id).unwrap(),
        MarketplaceOrderId::parse(order_id).unwrap(),
    )
}

fn customer() -> Customer {
    Customer {
        buyer_name: Some("Erika Mustermann".into()),
        buyer_email: Some("erika@example.com".into()),
        company: Some("Mustermann GmbH".into()),
        shipping_address: Address {
            name: "Erika Mustermann".into(),
            company: Some("Mustermann GmbH".into()),
            lines: vec!["Heidestrasse 17".into(), "Hinterhaus".into()],
            city: "Koeln".into(),
            postal_code: Some("51147".into()),
            region: Some("Nordrhein-Westfalen".into()),
            country_code: "DE".into(),
            phone: Some("+49 221 9876543".into()),
        },
    }
}

fn payment() -> Payment {
    Payment { amount: euros(4_997), paid_at: at(5) }
}

/// Two units of A at 19.99 and one of B at 9.99, plus shipping: 49.97 in all.
fn prices() -> Prices {
    let unit_prices = vec![
        LinePrice { item_id: item(ITEM_A), unit_price: euros(1_999) },
        LinePrice { item_id: item(ITEM_B), unit_price: euros(999) },
    ];
    Prices::new(&lines(), euros(4_997), unit_prices).unwrap()
}

fn release() -> Release {
    Release { prices: prices(), payment: payment(), customer: customer() }
}

/// Two lines: two units of item A and one unit of item B, three units in all.
fn lines() -> Vec<OrderLine> {
    vec![
        OrderLine::new(
            item(ITEM_A),
            Some("SKU-A".into()),
            Some("Widget".into()),
            Some("B00000000A".into()),
            2,
        ),
        OrderLine::new(
            item(ITEM_B),
            Some("SKU-B".into()),
            Some("Gadget".into()),
            Some("B00000000B".into()),
            1,
        ),
    ]
}

/// A marketplace order in `state` that carries customer and payment data whatever its state.
fn marketplace_order(state: MarketplaceOrderState) -> MarketplaceOrder {
    MarketplaceOrder {
        id: MarketplaceOrderId::parse(ORDER_ID).unwrap(),
        sales_channel: "A1PA6795UKMFR9".into(),
        created_at: at(0),
        updated_at: at(10),
        state,
        lines: lines(),
        currency: Some(eur()),
        prices: Some(prices()),
        paid_amount: Some(euros(4_990)),
        customer: Some(customer()),
        accept_until: None,
        seller_id: None,
    }
}

fn import(order: &MarketplaceOrder) -> SalesOrder {
    SalesOrder::from_marketplace(Marketplace::Amazon, account(), order, at(20))
}

fn request(items: &[(&str, u32)]) -> ShipmentRequest {
    ShipmentRequest {
        shipping_method: Some("Standard".into()),
        ..ShipmentRequest::single("  DHL ", " 00340434161094042557\n", at(30), package_lines(items))
    }
}

/// A package for `order`'s key, as if it had been recorded, without touching the order.
fn package_for(order: &SalesOrder, number: u32, items: &[(&str, u32)]) -> Package {
    Package::recorded(
        order.key.clone(),
        PackageId::new(number).unwrap(),
        &request(items),
        package_lines(items),
        at(31),
    )
}

fn package_lines(items: &[(&str, u32)]) -> Vec<PackageLine> {
    items.iter().map(|&(id, quantity)| PackageLine::new(item(id), quantity)).collect()
}

/// A Pending order as Amazon sends it: items, but no prices, payment or buyer.
fn amazon_pending_marketplace_order() -> MarketplaceOrder {
    MarketplaceOrder {
        prices: None,
        paid_amount: None,
        customer: None,
        ..marketplace_order(MarketplaceOrderState::Pending)
    }
}

fn pending_order() -> SalesOrder {
    let order = import(&amazon_pending_marketplace_order());
    assert_eq!(order.status(), OrderStatus::Pending);
    order
}

fn deliverable_order() -> SalesOrder {
    let mut order = pending_order();
    order.release(release(), at(5)).unwrap();
    assert_eq!(order.status(), OrderStatus::Deliverable);
    order
}

/// Deliverable, then one unit of item A recorded and confirmed: one unit of A and one of B left.
fn partially_shipped_order() -> SalesOrder {
    let mut order = deliverable_order();
    let package = order.record_package(&request(&[(ITEM_A, 1)]), at(30)).unwrap();
    order.confirm_package(&package, at(32)).unwrap();
    assert_eq!(order.status(), OrderStatus::PartiallyShipped);
    order
}

fn shipped_order() -> SalesOrder {
    let mut order = deliverable_order();
    let package = order.record_package(&request(&[(ITEM_A, 2), (ITEM_B, 1)]), at(30)).unwrap();
    order.confirm_package(&package, at(32)).unwrap();
    assert_eq!(order.status(), OrderStatus::Shipped);
    order
}

fn cancelled_pending_order() -> SalesOrder {
    let mut order = pending_order();
    order.cancel(at(40)).unwrap();
    assert_eq!(order.status(), OrderStatus::Cancelled);
    order
}

fn cancelled_deliverable_order() -> SalesOrder {
    let mut order = deliverable_order();
    order.cancel(at(40)).unwrap();
    assert_eq!(order.status(), OrderStatus::Cancelled);
    order
}

/// One order in every state, with a name for failure messages. Cancelled appears twice: once
/// cancelled while Pending (no payment/customer) and once while Deliverable (with both).
fn orders_in_every_state() -> Vec<(&'static str, SalesOrder)> {
    vec![
        ("pending", pending_order()),
        ("deliverable", deliverable_order()),
        ("partially shipped", partially_shipped_order()),
        ("shipped", shipped_order()),
        ("cancelled while pending", cancelled_pending_order()),
        ("cancelled while deliverable", cancelled_deliverable_order()),
    ]
}

fn quantities(order: &SalesOrder) -> Vec<(u32, u32)> {
    order.lines.iter().map(|l| (l.quantity_recorded, l.quantity_shipped)).collect()
}

/// Asserts that `error` is the refusal of `action` for `before` (the order as it was), that its
/// message names the order and its status, and that `after` is exactly `before`.
fn assert_refused(before: &SalesOrder, after: &SalesOrder, error: TransitionError, action: &'static str) {
    assert_eq!(
        error,
        TransitionError::NotAllowed { order: before.key.clone(), from: before.status(), action }
    );
    let message = error.to_string();
    assert!(message.contains(&before.key.to_string()), "{message}");
    assert!(message.contains(before.status().as_str()), "{message}");
    assert!(message.contains(action), "{message}");
    assert_eq!(after, before, "a refused {action} changed the order");
}

// ---------------------------------------------------------------------------------------------
// The whole table: every state × every action
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
enum Action {
    Release,
    Cancel,
    Ship,
    Confirm,
}

impl Action {
    const ALL: [Action; 4] = [Action::Release, Action::Cancel, Action::Ship, Action::Confirm];

    fn apply(self, order: &mut SalesOrder) -> Result<(), TransitionError> {
        match self {
            Action::Release => order.release(release(), at(5)),
            Action::Cancel => order.cancel(at(40)),
            Action::Ship => order.record_package(&request(&[(ITEM_A, 1)]), at(40)).map(|_| ()),
            Action::Confirm => {
                let package = package_for(order, order.packages_recorded + 1, &[(ITEM_A, 1)]);
                order.confirm_package(&package, at(32))
            }
        }
    }

    fn refusal(self) -> &'static str {
        match self {
            Action::Release => "release payment",
            Action::Cancel => "cancel",
            Action::Ship => "ship",
            Action::Confirm => "confirm a shipment",
        }
    }
}

/// The status an action leads to from `from`, or `None` when the status machine refuses it.
fn expected(from: OrderStatus, action: Action) -> Option<OrderStatus> {
    use OrderStatus::*;
    match (from, action) {
        (Pending, Action::Release) => Some(Deliverable),
        (Pending | Deliverable, Action::Cancel) => Some(Cancelled),
        // The units not shipped are cancelled; what shipped stays shipped.
        (PartiallyShipped, Action::Cancel) => Some(Shipped),
        (Deliverable, Action::Ship) => Some(Deliverable),
        (PartiallyShipped, Action::Ship) => Some(PartiallyShipped),
        // One unit of item A confirmed: A (2 units) is not complete yet, B is not shipped.
        (Deliverable | PartiallyShipped, Action::Confirm) => Some(PartiallyShipped),
        _ => None,
    }
}

#[test]
fn every_state_allows_exactly_the_transitions_of_the_status_machine() {
    let mut checked = 0;
    for (name, order) in orders_in_every_state() {
        for action in Action::ALL {
            let before = order.clone();
            let mut after = order.clone();
            let result = action.apply(&mut after);
            match expected(before.status(), action) {
                Some(status) => {
                    assert!(result.is_ok(), "{name} order refused {action:?}: {result:?}");
                    assert_eq!(after.status(), status, "{name} order after {action:?}");
                    assert_eq!(after.key, before.key);
                }
                None => {
                    let error = result.expect_err(&format!("{name} order allowed {action:?}"));
                    assert_refused(&before, &after, error, action.refusal());
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 6 * 4);
}

#[test]
fn the_fixtures_cover_every_status() {
    let statuses: Vec<OrderStatus> =
        orders_in_every_state().iter().map(|(_, order)| order.status()).collect();
    for status in OrderStatus::ALL {
        assert!(statuses.contains(&status), "no fixture in {status}");
    }
}

// ---------------------------------------------------------------------------------------------
// Pending
// ---------------------------------------------------------------------------------------------

#[test]
fn pending_order_holds_no_payment_and_no_customer() {
    let order = pending_order();
    assert_eq!(order.state, OrderState::Pending { prices: None, withheld_customer: None, released_at: None });
    assert_eq!(order.payment(), None);
    assert_eq!(order.customer(), None);
    assert_eq!(order.prices(), None);
}

#[test]
fn pending_order_becomes_deliverable_when_released() {
    let mut order = pending_order();
    let before = order.clone();
    order.release(release(), at(5)).unwrap();
    assert_eq!(order.status(), OrderStatus::Deliverable);
    assert_eq!(order.state, OrderState::Deliverable(release()));
    assert_eq!(order.payment(), Some(&payment()));
    assert_eq!(order.customer(), Some(&customer()));
    assert_eq!(order.prices(), Some(&prices()));
    // Nothing but the state, the lines' payment and the history entry changes.
    assert_eq!(order.history.last().map(|h| &h.event), Some(&OrderEvent::Released));
    assert!(order.lines.iter().all(|l| l.paid));
    assert_eq!(
        SalesOrder {
            state: OrderState::Pending { prices: None, withheld_customer: None, released_at: None },
            history: before.history.clone(),
            lines: before.lines.clone(),
            ..order
        },
        before
    );
}

#[test]
fn pending_order_cannot_ship() {
    let mut order = pending_order();
    let before = order.clone();
    let error = order.record_package(&request(&[(ITEM_A, 1)]), at(30)).unwrap_err();
    assert_refused(&before, &order, error, "ship");
    assert_eq!(order.packages_recorded, 0);
}

#[test]
fn pending_order_refuses_to_ship_before_looking_at_the_package() {
    let mut order = pending_order();
    let before = order.clone();
    let error = order.record_package(&request(&[]), at(30)).unwrap_err();
    assert_refused(&before, &order, error, "ship");
}

#[test]
fn pending_order_cannot_confirm_a_package() {
    let mut order = pending_order();
    let before = order.clone();
    let package = package_for(&order, 1, &[(ITEM_A, 1)]);
    let error = order.confirm_package(&package, at(32)).unwrap_err();
    assert_refused(&before, &order, error, "confirm a shipment");
}

#[test]
fn pending_order_can_be_cancelled_and_still_holds_no_payment_or_customer() {
    let mut order = pending_order();
    order.cancel(at(40)).unwrap();
    assert_eq!(order.status(), OrderStatus::Cancelled);
    assert_eq!(order.state, OrderState::Cancelled { prices: None, payment: None, customer: None });
    assert_eq!(order.payment(), None);
    assert_eq!(order.customer(), None);
}

// ---------------------------------------------------------------------------------------------
// Deliverable
// ---------------------------------------------------------------------------------------------

#[test]
fn deliverable_order_cannot_be_released_again() {
    let mut order = deliverable_order();
    let before = order.clone();
    let other = Payment { amount: euros(1), paid_at: at(99) };
    let error = order.release(Release { payment: other, ..release() }, at(99)).unwrap_err();
    assert_refused(&before, &order, error, "release payment");
    assert_eq!(order.payment(), Some(&payment()));
}

#[test]
fn deliverable_order_keeps_payment_and_customer_when_cancelled() {
    let mut order = deliverable_order();
    order.cancel(at(40)).unwrap();
    assert_eq!(
        order.state,
        OrderState::Cancelled {
            prices: Some(prices()),
            payment: Some(payment()),
            customer: Some(customer())
        }
    );
    assert_eq!(order.payment(), Some(&payment()));
    assert_eq!(order.customer(), Some(&customer()));
}

#[test]
fn deliverable_order_stays_deliverable_while_packages_are_only_recorded() {
    let mut order = deliverable_order();
    order.record_package(&request(&[(ITEM_A, 2), (ITEM_B, 1)]), at(30)).unwrap();
    assert_eq!(order.status(), OrderStatus::Deliverable);
    assert_eq!(quantities(&order), vec![(2, 0), (1, 0)]);
}

#[test]
fn deliverable_order_becomes_partially_shipped_when_some_units_are_confirmed() {
    let mut order = deliverable_order();
    let package = order.record_package(&request(&[(ITEM_A, 2)]), at(30)).unwrap();
    order.confirm_package(&package, at(32)).unwrap();
    assert_eq!(order.status(), OrderStatus::PartiallyShipped);
    assert_eq!(order.state, OrderState::PartiallyShipped(release()));
    assert_eq!(quantities(&order), vec![(2, 2), (0, 0)]);
}

#[test]
fn deliverable_order_becomes_shipped_when_every_unit_is_confirmed() {
    let mut order = deliverable_order();
    let package = order.record_package(&request(&[(ITEM_A, 2), (ITEM_B, 1)]), at(30)).unwrap();
    order.confirm_package(&package, at(32)).unwrap();
    assert_eq!(order.status(), OrderStatus::Shipped);
    assert_eq!(order.state, OrderState::Shipped(release()));
    assert_eq!(quantities(&order), vec![(2, 2), (1, 1)]);
}

// ---------------------------------------------------------------------------------------------
// PartiallyShipped
// ---------------------------------------------------------------------------------------------

#[test]
fn cancelling_a_partially_shipped_order_cancels_the_rest_and_ships_what_shipped() {
    let mut order = partially_shipped_order();
    let shipped_before: Vec<u32> = order.lines.iter().map(|l| l.quantity_shipped).collect();
    order.cancel(at(40)).unwrap();
    assert_eq!(order.status(), OrderStatus::Shipped);
    assert!(order.lines.iter().all(|l| l.quantity_open() == 0));
    assert_eq!(order.lines.iter().map(|l| l.quantity_shipped).collect::<Vec<_>>(), shipped_before);
    assert_eq!(order.payment(), Some(&payment()));
    assert_eq!(order.customer(), Some(&customer()));
}

#[test]
fn partially_shipped_order_cannot_be_released() {
    let mut order = partially_shipped_order();
    let before = order.clone();
    let error = order.release(release(), at(5)).unwrap_err();
    assert_refused(&before, &order, error, "release payment");
}

#[test]
fn partially_shipped_order_can_ship_what_is_left() {
    let mut order = partially_shipped_order();
    let package = order.record_package(&request(&[(ITEM_A, 1), (ITEM_B, 1)]), at(40)).unwrap();
    assert_eq!(package.id.number(), 2);
    assert_eq!(order.status(), OrderStatus::PartiallyShipped);
    order.confirm_package(&package, at(32)).unwrap();
    assert_eq!(order.status(), OrderStatus::Shipped);
}

#[test]
fn partially_shipped_order_becomes_shipped_only_when_the_last_package_is_confirmed() {
    let mut order = deliverable_order();
    let first = order.record_package(&request(&[(ITEM_A, 1)]), at(30)).unwrap();
    let second = order.record_package(&request(&[(ITEM_B, 1)]), at(31)).unwrap();
    let third = order.record_package(&request(&[(ITEM_A, 1)]), at(32)).unwrap();
    assert_eq!(order.status(), OrderStatus::Deliverable);

    order.confirm_package(&first, at(32)).unwrap();
    assert_eq!(order.status(), OrderStatus::PartiallyShipped);
    order.confirm_package(&second, at(32)).unwrap();
    assert_eq!(order.status(), OrderStatus::PartiallyShipped);
    assert_eq!(quantities(&order), vec![(2, 1), (1, 1)]);
    order.confirm_package(&third, at(32)).unwrap();
    assert_eq!(order.status(), OrderStatus::Shipped);
    assert_eq!(quantities(&order), vec![(2, 2), (1, 1)]);
    assert_eq!(order.payment(), Some(&payment()));
    assert_eq!(order.customer(), Some(&customer()));
}

#[test]
fn packages_may_be_confirmed_in_another_order_than_recorded() {
    let mut order = deliverable_order();
    let first = order.record_package(&request(&[(ITEM_A, 2)]), at(30)).unwrap();
    let second = order.record_package(&request(&[(ITEM_B, 1)]), at(31)).unwrap();
    order.confirm_package(&second, at(32)).unwrap();
    assert_eq!(order.status(), OrderStatus::PartiallyShipped);
    order.confirm_package(&first, at(32)).unwrap();
    assert_eq!(order.status(), OrderStatus::Shipped);
}

// ---------------------------------------------------------------------------------------------
// Shipped and Cancelled
// ---------------------------------------------------------------------------------------------

#[test]
fn shipped_order_refuses_every_transition() {
    let order = shipped_order();
    for action in Action::ALL {
        let mut after = order.clone();
        let error = action.apply(&mut after).unwrap_err();
        assert_refused(&order, &after, error, action.refusal());
    }
}

#[test]
fn shipped_order_cannot_be_cancelled() {
    let mut order = shipped_order();
    let before = order.clone();
    let error = order.cancel(at(40)).unwrap_err();
    assert_refused(&before, &order, error, "cancel");
    assert_eq!(order.state, OrderState::Shipped(release()));
}

#[test]
fn cancelled_order_refuses_every_transition() {
    for order in [cancelled_pending_order(), cancelled_deliverable_order()] {
        for action in Action::ALL {
            let mut after = order.clone();
            let error = action.apply(&mut after).unwrap_err();
            assert_refused(&order, &after, error, action.refusal());
        }
    }
}

#[test]
fn cancelled_order_cannot_be_cancelled_again() {
    let mut order = cancelled_deliverable_order();
    let before = order.clone();
    let error = order.cancel(at(40)).unwrap_err();
    assert_refused(&before, &order, error, "cancel");
    assert_eq!(order.payment(), Some(&payment()));
    assert_eq!(order.customer(), Some(&customer()));
}

#[test]
fn cancelled_order_cannot_be_released() {
    let mut order = cancelled_pending_order();
    let before = order.clone();
    let error = order.release(release(), at(5)).unwrap_err();
    assert_refused(&before, &order, error, "release payment");
    assert_eq!(order.payment(), None);
    assert_eq!(order.customer(), None);
}

#[test]
fn cancelled_order_cannot_ship() {
    let mut order = cancelled_deliverable_order();
    let before = order.clone();
    let error = order.record_package(&request(&[(ITEM_A, 1)]), at(30)).unwrap_err();
    assert_refused(&before, &order, error, "ship");
}

// ---------------------------------------------------------------------------------------------
// Refusal messages
// ---------------------------------------------------------------------------------------------

#[test]
fn refusal_message_names_the_order_the_status_and_the_action() {
    let mut order = pending_order();
    let error = order.record_package(&request(&[(ITEM_A, 1)]), at(30)).unwrap_err();
    assert_eq!(error.to_string(), "order amazon/amazon-de/302-1234567-1234567 is Pending: cannot ship");

    let mut order = shipped_order();
    let error = order.cancel(at(40)).unwrap_err();
    assert_eq!(error.to_string(), "order amazon/amazon-de/302-1234567-1234567 is Shipped: cannot cancel");
}

// ---------------------------------------------------------------------------------------------
// Import from the marketplace
// ---------------------------------------------------------------------------------------------

#[test]
fn pending_marketplace_order_withholds_the_customer_and_drops_the_payment_it_carries() {
    let marketplace = marketplace_order(MarketplaceOrderState::Pending);
    assert!(marketplace.customer.is_some() && marketplace.paid_amount.is_some());
    let order = import(&marketplace);
    assert_eq!(order.status(), OrderStatus::Pending);
    // Prices a marketplace does send with a pending order are kept; the buyer is withheld
    // until the release (SCX sends the address only once), the payment is not kept.
    assert_eq!(
        order.state,
        OrderState::Pending {
            prices: Some(prices()),
            withheld_customer: Some(customer()),
            released_at: None
        }
    );
    assert_eq!(order.customer(), None);
    assert_eq!(order.payment(), None);
    assert_eq!(marketplace.release(), None);
}

#[test]
fn released_marketplace_order_with_customer_and_payment_is_deliverable() {
    let marketplace = marketplace_order(MarketplaceOrderState::Released);
    let order = SalesOrder::from_marketplace(Marketplace::Amazon, account(), &marketplace, at(20));
    assert_eq!(order.status(), OrderStatus::Deliverable);
    // The paid amount wins over the total; the payment is dated by the marketplace's update.
    let expected_payment = Payment { amount: euros(4_990), paid_at: at(10) };
    assert_eq!(order.payment(), Some(&expected_payment));
    assert_eq!(order.customer(), Some(&customer()));
    assert_eq!(order.key, key_of(ACCOUNT, ORDER_ID));
    assert_eq!(order.sales_channel, "A1PA6795UKMFR9");
    assert_eq!(order.created_at, at(0));
    assert_eq!(order.marketplace_updated_at, at(10));
    assert_eq!(order.imported_at, at(20));
    assert_eq!(order.currency, Some(eur()));
    assert_eq!(order.prices(), Some(&prices()));
    let paid_lines: Vec<OrderLine> = lines().into_iter().map(|l| OrderLine { paid: true, ..l }).collect();
    assert_eq!(order.lines, paid_lines);
    assert_eq!(order.packages_recorded, 0);
    assert_eq!(order.version, 0);
    assert_eq!(order.total_items(), 3);
}

#[test]
fn released_marketplace_order_without_paid_amount_is_paid_its_total() {
    let mut marketplace = marketplace_order(MarketplaceOrderState::Released);
    marketplace.paid_amount = None;
    let order = import(&marketplace);
    assert_eq!(order.status(), OrderStatus::Deliverable);
    assert_eq!(order.payment().map(|p| p.amount), Some(euros(4_997)));
}

#[test]
fn released_marketplace_order_without_customer_stays_pending() {
    let mut marketplace = marketplace_order(MarketplaceOrderState::Released);
    marketplace.customer = None;
    let order = import(&marketplace);
    assert_eq!(order.status(), OrderStatus::Pending);
    assert_eq!(order.customer(), None);
    assert_eq!(order.payment(), None);
}

#[test]
fn released_marketplace_order_without_prices_stays_pending() {
    let mut marketplace = marketplace_order(MarketplaceOrderState::Released);
    marketplace.prices = None;
    let order = import(&marketplace);
    assert_eq!(order.status(), OrderStatus::Pending);
    assert_eq!(order.customer(), None);
    assert_eq!(order.payment(), None);
}

#[test]
fn marketplace_orders_already_shipping_count_as_released() {
    // Amazon names no lines of a partly shipped order: nothing is counted shipped yet.
    let order = import(&marketplace_order(MarketplaceOrderState::PartiallyShipped));
    assert_eq!(order.status(), OrderStatus::Deliverable);
    assert_eq!(order.customer(), Some(&customer()));
    // Shipped by the merchant at the marketplace itself: every unit is shipped.
    let order = import(&marketplace_order(MarketplaceOrderState::Shipped));
    assert_eq!(order.status(), OrderStatus::Shipped);
    assert_eq!(order.customer(), Some(&customer()));
}

#[test]
fn cancelled_marketplace_order_is_cancelled_without_customer_or_payment() {
    let order = import(&marketplace_order(MarketplaceOrderState::Cancelled));
    assert_eq!(order.status(), OrderStatus::Cancelled);
    assert_eq!(order.state, OrderState::Cancelled { prices: Some(prices()), payment: None, customer: None });
    assert_eq!(order.customer(), None);
    assert_eq!(order.payment(), None);
}

#[test]
fn imported_pending_order_can_be_released_later() {
    let mut order = import(&marketplace_order(MarketplaceOrderState::Pending));
    let release = marketplace_order(MarketplaceOrderState::Released).release().unwrap();
    order.release(release.clone(), at(15)).unwrap();
    assert_eq!(order.state, OrderState::Deliverable(release));
}

// ---------------------------------------------------------------------------------------------
// Recording packages
// ---------------------------------------------------------------------------------------------

#[test]
fn recorded_packages_are_numbered_one_two_three() {
    let mut order = deliverable_order();
    let numbers: Vec<u32> = [ITEM_A, ITEM_A, ITEM_B]
        .into_iter()
        .map(|id| order.record_package(&request(&[(id, 1)]), at(30)).unwrap().id.number())
        .collect();
    assert_eq!(numbers, vec![1, 2, 3]);
    assert_eq!(order.packages_recorded, 3);
}

#[test]
fn recorded_package_belongs_to_the_order_and_waits_to_be_reported() {
    let mut order = deliverable_order();
    let shipment = request(&[(ITEM_A, 1), (ITEM_B, 1)]);
    let package = order.record_package(&shipment, at(35)).unwrap();
    assert_eq!(package.order, order.key);
    assert_eq!(package.id, PackageId::new(1).unwrap());
    assert_eq!(package.carrier, "DHL");
    assert_eq!(package.tracking_id(), "00340434161094042557");
    assert_eq!(package.ship_date, at(30));
    assert_eq!(package.shipping_method.as_deref(), Some("Standard"));
    assert_eq!(package.lines, shipment.items);
    assert_eq!(package.recorded_at, at(35));
    assert_eq!(
        package.state,
        PackageState::Unreported { attempts: 0, last_error: None, uncertain_since: None }
    );
    assert!(package.is_unreported());
    assert_eq!(quantities(&order), vec![(1, 0), (1, 0)]);
}

#[test]
fn package_with_an_unknown_item_is_refused() {
    let mut order = deliverable_order();
    let before = order.clone();
    let error = order.record_package(&request(&[(ITEM_A, 1), ("item-x", 1)]), at(30)).unwrap_err();
    assert_eq!(error, TransitionError::UnknownItem { order: before.key.clone(), item: item("item-x") });
    assert!(error.to_string().contains("item-x"), "{error}");
    assert!(error.to_string().contains(&before.key.to_string()), "{error}");
    // The valid first line is not recorded either.
    assert_eq!(order, before);
}

#[test]
fn package_with_a_zero_quantity_is_refused() {
    let mut order = deliverable_order();
    let before = order.clone();
    let error = order.record_package(&request(&[(ITEM_A, 1), (ITEM_B, 0)]), at(30)).unwrap_err();
    assert_eq!(error, TransitionError::EmptyPackage { order: before.key.clone() });
    assert_eq!(order, before);
}

#[test]
fn package_without_items_is_refused() {
    let mut order = deliverable_order();
    let before = order.clone();
    let error = order.record_package(&request(&[]), at(30)).unwrap_err();
    assert_eq!(error, TransitionError::EmptyPackage { order: before.key.clone() });
    assert!(error.to_string().contains(&before.key.to_string()), "{error}");
    assert_eq!(order, before);
}

#[test]
fn package_with_more_than_was_ordered_is_refused() {
    let mut order = deliverable_order();
    let before = order.clone();
    let error = order.record_package(&request(&[(ITEM_A, 3)]), at(30)).unwrap_err();
    assert_eq!(
        error,
        TransitionError::QuantityExceeded {
            order: before.key.clone(),
            item: item(ITEM_A),
            requested: 3,
            remaining: 2,
        }
    );
    let message = error.to_string();
    assert!(message.contains(&before.key.to_string()) && message.contains(ITEM_A), "{message}");
    assert_eq!(order, before);
}

#[test]
fn second_package_cannot_ship_more_than_the_first_left() {
    let mut order = deliverable_order();
    order.record_package(&request(&[(ITEM_A, 1)]), at(30)).unwrap();
    let before = order.clone();
    let error = order.record_package(&request(&[(ITEM_A, 2)]), at(31)).unwrap_err();
    assert_eq!(
        error,
        TransitionError::QuantityExceeded {
            order: before.key.clone(),
            item: item(ITEM_A),
            requested: 2,
            remaining: 1,
        }
    );
    assert_eq!(order, before);
    // Exactly what is left still fits.
    assert_eq!(order.record_package(&request(&[(ITEM_A, 1)]), at(32)).unwrap().id.number(), 2);
}

#[test]
fn fully_recorded_item_cannot_be_shipped_again() {
    let mut order = deliverable_order();
    order.record_package(&request(&[(ITEM_B, 1)]), at(30)).unwrap();
    let before = order.clone();
    let error = order.record_package(&request(&[(ITEM_B, 1)]), at(31)).unwrap_err();
    assert_eq!(
        error,
        TransitionError::QuantityExceeded {
            order: before.key.clone(),
            item: item(ITEM_B),
            requested: 1,
            remaining: 0,
        }
    );
    assert_eq!(order, before);
}

#[test]
fn the_same_item_twice_in_one_package_counts_both_lines() {
    let mut order = deliverable_order();
    let before = order.clone();
    let error = order.record_package(&request(&[(ITEM_A, 1), (ITEM_A, 2)]), at(30)).unwrap_err();
    assert_eq!(
        error,
        TransitionError::QuantityExceeded {
            order: before.key.clone(),
            item: item(ITEM_A),
            requested: 2,
            remaining: 1,
        }
    );
    assert_eq!(order, before);

    order.record_package(&request(&[(ITEM_A, 1), (ITEM_A, 1)]), at(30)).unwrap();
    assert_eq!(quantities(&order), vec![(2, 0), (0, 0)]);
}

#[test]
fn refused_package_does_not_use_up_a_package_number() {
    let mut order = deliverable_order();
    assert!(order.record_package(&request(&[(ITEM_A, 5)]), at(30)).is_err());
    assert!(order.record_package(&request(&[]), at(30)).is_err());
    assert!(order.record_package(&request(&[("item-x", 1)]), at(30)).is_err());
    assert_eq!(order.packages_recorded, 0);
    let package = order.record_package(&request(&[(ITEM_A, 1)]), at(30)).unwrap();
    assert_eq!(package.id.number(), 1);
}

// ---------------------------------------------------------------------------------------------
// Confirming packages
// ---------------------------------------------------------------------------------------------

#[test]
fn package_of_another_order_is_refused_in_every_state() {
    for (name, mut order) in orders_in_every_state() {
        let before = order.clone();
        let other_order = key_of(ACCOUNT, "302-7654321-7654321");
        let package = Package { order: other_order, ..package_for(&order, 1, &[(ITEM_A, 1)]) };
        let error = order.confirm_package(&package, at(32)).unwrap_err();
        assert_eq!(
            error,
            TransitionError::ForeignPackage { order: before.key.clone(), package: package.id },
            "{name}"
        );
        let message = error.to_string();
        assert!(message.contains(&before.key.to_string()), "{message}");
        assert_eq!(order, before, "{name}");
    }
}

#[test]
fn package_of_the_same_order_number_on_another_account_is_foreign() {
    let mut order = deliverable_order();
    let before = order.clone();
    let package = Package { order: key_of("amazon-fr", ORDER_ID), ..package_for(&order, 1, &[(ITEM_A, 2)]) };
    let error = order.confirm_package(&package, at(32)).unwrap_err();
    assert!(matches!(error, TransitionError::ForeignPackage { .. }), "{error:?}");
    assert_eq!(order, before);
}

#[test]
fn confirming_a_package_with_an_unknown_item_is_refused_and_leaves_the_order_unchanged() {
    let mut order = deliverable_order();
    order.record_package(&request(&[(ITEM_A, 2)]), at(30)).unwrap();
    let before = order.clone();
    // A valid line first, then one the order does not have.
    let package = package_for(&order, 1, &[(ITEM_A, 2), ("item-x", 1)]);
    let error = order.confirm_package(&package, at(32)).unwrap_err();
    assert_eq!(error, TransitionError::UnknownItem { order: before.key.clone(), item: item("item-x") });
    assert_eq!(order, before, "a refused confirmation changed the order");
}

#[test]
fn confirming_a_package_changes_only_confirmed_quantities_and_state() {
    let mut order = deliverable_order();
    let package = order.record_package(&request(&[(ITEM_A, 1)]), at(30)).unwrap();
    let before = order.clone();
    order.confirm_package(&package, at(32)).unwrap();
    assert_eq!(order.packages_recorded, before.packages_recorded);
    assert_eq!(order.marketplace_updated_at, before.marketplace_updated_at);
    assert_eq!(order.version, before.version);
    assert_eq!(quantities(&order), vec![(1, 1), (0, 0)]);
}

// ---------------------------------------------------------------------------------------------
// Marketplace updates
// ---------------------------------------------------------------------------------------------

#[test]
fn marketplace_update_with_the_same_timestamp_is_ignored() {
    let mut order = deliverable_order();
    let before = order.clone();
    assert!(!order.observe_marketplace_update(at(10)));
    assert_eq!(order, before);
}

#[test]
fn marketplace_update_older_than_the_stored_data_is_ignored() {
    let mut order = deliverable_order();
    let before = order.clone();
    assert!(!order.observe_marketplace_update(at(9)));
    assert!(!order.observe_marketplace_update(at(10) - Duration::nanoseconds(1)));
    assert_eq!(order, before);
}

#[test]
fn newer_marketplace_update_is_accepted_and_becomes_the_reference() {
    let mut order = deliverable_order();
    assert!(order.observe_marketplace_update(at(10) + Duration::milliseconds(1)));
    assert_eq!(order.marketplace_updated_at, at(10) + Duration::milliseconds(1));
    assert!(order.observe_marketplace_update(at(60)));
    assert_eq!(order.marketplace_updated_at, at(60));
    // Once the newer data is stored, the earlier report is stale.
    assert!(!order.observe_marketplace_update(at(30)));
    assert_eq!(order.marketplace_updated_at, at(60));
}

#[test]
fn marketplace_update_never_changes_the_status() {
    for (name, mut order) in orders_in_every_state() {
        let before = order.clone();
        assert!(order.observe_marketplace_update(at(100)), "{name}");
        assert_eq!(
            SalesOrder { marketplace_updated_at: before.marketplace_updated_at, ..order },
            before,
            "{name}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Personal data and names
// ---------------------------------------------------------------------------------------------

const PERSONAL: [&str; 8] =
    ["Erika", "Mustermann", "erika@example.com", "Heidestrasse", "Hinterhaus", "Koeln", "51147", "9876543"];

fn assert_redacted(debug: &str) {
    for secret in PERSONAL {
        assert!(!debug.contains(secret), "{secret:?} leaked into {debug}");
    }
}

#[test]
fn customer_debug_output_is_redacted() {
    let debug = format!("{:?}", customer());
    assert_redacted(&debug);
    assert!(debug.contains("redacted"), "{debug}");
    assert_redacted(&format!("{:#?}", customer()));
}

#[test]
fn address_debug_output_shows_only_the_country() {
    let debug = format!("{:?}", customer().shipping_address);
    assert_redacted(&debug);
    assert!(debug.contains("DE"), "{debug}");
}

#[test]
fn order_debug_output_does_not_leak_the_customer() {
    let order = deliverable_order();
    let debug = format!("{order:?}");
    assert_redacted(&debug);
    assert!(debug.contains(ORDER_ID), "{debug}");
    assert_redacted(&format!("{:?}", marketplace_order(MarketplaceOrderState::Released)));
}

#[test]
fn status_names_round_trip() {
    for status in OrderStatus::ALL {
        assert_eq!(OrderStatus::parse(status.as_str()), Some(status));
        assert_eq!(OrderStatus::parse(&status.as_str().to_lowercase()), Some(status));
        assert_eq!(status.to_string(), status.as_str());
    }
    assert_eq!(OrderStatus::parse("Refunded"), None);
}

// ---------------------------------------------------------------------------------------------
// Prices arrive with the release
// ---------------------------------------------------------------------------------------------

#[test]
fn pending_order_without_prices_keeps_its_items_and_the_marketplace_currency() {
    let order = pending_order();
    assert_eq!(order.prices(), None);
    assert_eq!(order.currency, Some(eur()));
    assert_eq!(order.lines, lines());
    assert_eq!(
        order.history.first().map(|h| &h.event),
        Some(&OrderEvent::Imported { status: OrderStatus::Pending })
    );
}

#[test]
fn pending_order_is_promoted_with_the_prices_the_release_brings() {
    let mut order = pending_order();
    order.release(release(), at(5)).unwrap();
    assert_eq!(order.prices().map(|p| p.total), Some(euros(4_997)));
    assert_eq!(order.prices().and_then(|p| p.unit_price(&item(ITEM_A))), Some(euros(1_999)));
}

#[test]
fn release_whose_prices_name_other_lines_is_refused_and_changes_nothing() {
    let mut order = pending_order();
    let before = order.clone();
    let foreign = Prices {
        total: euros(1),
        unit_prices: vec![LinePrice { item_id: item("other"), unit_price: euros(1) }],
    };
    let error = order.release(Release { prices: foreign, ..release() }, at(5)).unwrap_err();
    assert!(matches!(error, TransitionError::PricesDontFit { .. }), "{error}");
    assert_eq!(order, before);
}

#[test]
fn release_in_another_currency_than_the_marketplace_default_sets_the_order_currency() {
    let mut order = pending_order();
    order.currency = Currency::parse("GBP").ok();
    order.release(release(), at(5)).unwrap();
    assert_eq!(order.currency, Some(eur()));
}

// ---------------------------------------------------------------------------------------------
// Buyer data expires
// ---------------------------------------------------------------------------------------------

#[test]
fn a_shipped_order_is_settled_when_its_last_package_was_confirmed() {
    assert_eq!(shipped_order().settled_at(), Some(at(32)));
    assert_eq!(deliverable_order().settled_at(), None);
    let mut cancelled = pending_order();
    cancelled.cancel(at(40)).unwrap();
    assert_eq!(cancelled.settled_at(), Some(at(40)));
}

#[test]
fn erasing_buyer_data_keeps_the_business_facts_and_notes_it_once() {
    let mut order = shipped_order();
    let before = order.clone();
    assert!(order.holds_buyer_data());
    assert!(order.erase_buyer_data(at(100)).unwrap());
    assert!(!order.holds_buyer_data());
    let customer = order.customer().unwrap();
    assert_eq!(customer.shipping_address.country_code, "DE");
    let text = serde_json::to_string(&order).unwrap();
    for value in ["Erika", "Mustermann", "erika@example.com", "Heidestrasse", "Koeln", "51147", "+49 221"] {
        assert!(!text.contains(value), "{value} survived the erasure");
    }
    assert_eq!(order.lines, before.lines);
    assert_eq!(order.prices(), before.prices());
    assert_eq!(order.payment(), before.payment());
    assert_eq!(order.history.last().map(|h| &h.event), Some(&OrderEvent::BuyerDataErased));
    assert!(!order.erase_buyer_data(at(101)).unwrap(), "nothing left to erase");
    assert_eq!(order.history.iter().filter(|h| h.event == OrderEvent::BuyerDataErased).count(), 1);
}

#[test]
fn buyer_data_of_an_order_still_moving_is_not_erased() {
    let mut order = deliverable_order();
    let before = order.clone();
    assert!(order.erase_buyer_data(at(100)).is_err());
    assert_eq!(order, before);
}
