//! What channels do to orders, and the events that tell the seller.
//!
//! The rules are JTL's order process (developer guide, "Order Process" and "Status transition
//! limitations and rules"):
//! - `UNACKED` and `CREATED` orders are not shippable and "may not have valid address
//!   information"; an address update only applies to them;
//! - "Address information must be available before a status transition to `ACCEPTED`";
//! - "Once an order is assigned the status `ACCEPTED`, the order status cannot be changed":
//!   later cancellations change the lines' `itemStatus` only;
//! - order lines cannot be added or changed once the order exists.
//!
//! Assumed: an `UNACKED` order the seller accepts becomes `ACCEPTED` as soon as it has an
//! address (at once, or with the address update); one the seller refuses becomes
//! `CANCELED_BY_SELLER` with all its lines. Lines a shipping notice ships completely become
//! `SHIPPED` in a status update (at once; a real channel reports it once it has processed
//! the notice). Only whole lines can be cancelled directly (the
//! status model has no quantities); units of a line are cancelled through a cancellation
//! request the seller accepts.

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::events::{self, wire_time};
use super::model::{
    CancellationRequest, ItemStatus, Line, LineKind, NewScxOrder, OrderStatus, ScxCancelReason,
    ScxCancelledBy, ScxInitialStatus, ScxOrder, ScxOrderKey, ScxReturnReason,
};
use crate::codec::amount;
use crate::config::minor_digits;
use crate::fake;
use crate::fault::Malformation;
use crate::model::State;

/// `taxPercent` of every line (German standard rate).
const TAX_PERCENT: &str = "19";
const PAYMENT_METHODS: [&str; 4] = ["PayPal", "Rechnung", "Kreditkarte", "Vorkasse"];

fn put(map: &mut Map<String, Value>, key: &str, value: impl Into<Value>) {
    map.insert(key.to_string(), value.into());
}

/// JTL's `Address`.
fn address(o: &ScxOrder) -> Value {
    let b = &o.buyer;
    let mut a = Map::new();
    put(&mut a, "firstName", b.first_name.clone());
    put(&mut a, "lastName", b.last_name.clone());
    if let Some(c) = &b.company {
        put(&mut a, "companyName", c.clone());
    }
    put(&mut a, "street", b.street.clone());
    put(&mut a, "houseNumber", b.house_number.clone());
    if let Some(x) = &b.addition {
        put(&mut a, "addition", x.clone());
    }
    put(&mut a, "postcode", b.postcode.clone());
    put(&mut a, "city", b.city.clone());
    if let Some(p) = &b.phone {
        put(&mut a, "phone", p.clone());
    }
    put(&mut a, "country", b.country.clone());
    Value::Object(a)
}

fn line_json(o: &ScxOrder, l: &Line, currency: &str) -> Value {
    let digits = minor_digits(currency);
    let first = o.lines.first().is_some_and(|f| f.id == l.id);
    let mut m = Map::new();
    if !(first && o.malformed == Some(Malformation::MissingOrderItemId)) {
        put(&mut m, "orderItemId", l.id.clone());
    }
    put(&mut m, "type", l.kind.as_str());
    put(&mut m, "itemStatus", l.status.as_str());
    put(&mut m, "itemPaymentStatus", if l.paid { "PAID" } else { "PENDING" });
    put(&mut m, "grossPrice", amount(l.unit_cents, digits));
    put(&mut m, "total", amount(l.unit_cents * i64::from(l.quantity), digits));
    put(&mut m, "taxPercent", TAX_PERCENT);
    if let Some(sku) = &l.sku {
        put(&mut m, "sku", sku.clone());
    }
    if let Some(offer) = &l.channel_offer_id {
        put(&mut m, "channelOfferId", offer.clone());
    }
    if first && o.malformed == Some(Malformation::NegativeQuantity) {
        put(&mut m, "quantity", "-1");
    } else {
        put(&mut m, "quantity", o.quantity(l.quantity));
    }
    put(&mut m, "title", l.title.clone());
    Value::Object(m)
}

/// The channel's whole order (JTL's channel `Order` plus `channel`), as the new-order event
/// carries it: without address and buyer until the channel has them.
pub(crate) fn order_payload(o: &ScxOrder, currency: &str) -> Value {
    let currency = if o.malformed == Some(Malformation::UnknownCurrency) { "XXX" } else { currency };
    let mut m = Map::new();
    put(&mut m, "sellerId", o.key.seller_id.clone());
    put(&mut m, "channel", o.key.channel.clone());
    put(&mut m, "orderId", o.key.order_id.clone());
    put(&mut m, "orderStatus", o.status.as_str());
    if let (OrderStatus::Unacked, Some(until)) = (o.status, o.accept_until) {
        put(&mut m, "orderAcceptUntil", wire_time(until));
    }
    put(&mut m, "paymentMethod", o.payment_method);
    if o.malformed == Some(Malformation::BadTimestamp) {
        put(&mut m, "purchasedAt", "not-a-date");
    } else {
        put(&mut m, "purchasedAt", wire_time(o.purchased));
    }
    put(&mut m, "lastChangedAt", wire_time(o.last_changed));
    put(&mut m, "currency", currency);
    put(&mut m, "orderItem", o.lines.iter().map(|l| line_json(o, l, currency)).collect::<Vec<_>>());
    if o.has_address {
        put(&mut m, "billingAddress", address(o));
        put(&mut m, "shippingAddress", address(o));
        put(&mut m, "buyer", json!({ "email": o.buyer.email }));
    }
    Value::Object(m)
}

/// JTL's `OrderStatus` plus `channel`: the order's status and the named lines' statuses.
fn status_payload(o: &ScxOrder, lines: &[String]) -> Value {
    let mut m = Map::new();
    put(&mut m, "sellerId", o.key.seller_id.clone());
    put(&mut m, "channel", o.key.channel.clone());
    put(&mut m, "orderId", o.key.order_id.clone());
    put(&mut m, "orderStatus", o.status.as_str());
    let items: Vec<Value> = o
        .lines
        .iter()
        .filter(|l| lines.contains(&l.id))
        .map(|l| {
            json!({
                "orderItemId": l.id,
                "itemStatus": l.status.as_str(),
                "paymentStatus": if l.paid { "PAID" } else { "PENDING" },
            })
        })
        .collect();
    if !items.is_empty() {
        put(&mut m, "orderItems", items);
    }
    Value::Object(m)
}

/// JTL's `OrderAddressUpdate` plus `channel`.
fn address_payload(o: &ScxOrder) -> Value {
    json!({
        "sellerId": o.key.seller_id,
        "channel": o.key.channel,
        "orderId": o.key.order_id,
        "billingAddress": address(o),
        "shippingAddress": address(o),
        "buyer": { "email": o.buyer.email },
    })
}

/// JTL's `^\w{5,15}$` for channel names.
pub(crate) fn valid_channel(name: &str) -> bool {
    (5..=15).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// JTL's `^\w{1,50}$` for seller ids.
pub(crate) fn valid_seller_id(id: &str) -> bool {
    (1..=50).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// What a cancellation request asks for: units per line.
pub(crate) type Units = Vec<(String, u32)>;

impl State {
    fn scx_order_index(&self, key: &ScxOrderKey) -> Option<usize> {
        self.scx.index.get(key).copied()
    }

    /// Emits `type` for the order at `i`, its `lastChangedAt` moved to `now`.
    fn scx_changed(
        &mut self,
        i: usize,
        kind: &'static str,
        payload: impl Fn(&ScxOrder) -> Value,
        now: DateTime<Utc>,
    ) {
        let o = &mut self.scx.orders[i];
        o.last_changed = now;
        let (account, channel, payload) = (o.account_id.clone(), o.key.channel.clone(), payload(o));
        self.scx_emit(&account, &channel, kind, payload, now);
    }

    pub(crate) fn scx_status_changed(&mut self, i: usize, lines: Vec<String>, now: DateTime<Utc>) {
        self.scx_changed(i, events::ORDER_STATUS_UPDATE, |o| status_payload(o, &lines), now);
    }

    /// Places an order in `channel` of `account_id`. Panics on an unknown account or channel,
    /// a zero quantity or an `orderId` the seller already has (test bugs).
    pub(crate) fn scx_create_order(
        &mut self,
        account_id: &str,
        channel: &str,
        new: NewScxOrder,
        now: DateTime<Utc>,
    ) -> ScxOrderKey {
        let seller_id = self
            .scx
            .sellers
            .iter()
            .find(|s| s.account_id == account_id)
            .unwrap_or_else(|| panic!("unknown SCX seller account {account_id}"))
            .seller_id(channel)
            .unwrap_or_else(|| panic!("SCX seller account {account_id} does not sell on {channel}"))
            .to_string();
        assert!(new.items.iter().all(|i| i.quantity > 0), "order item quantities must be positive");
        let scx = &mut self.scx;
        let order_id = new.order_id.clone().unwrap_or_else(|| scx.next_order_number(channel, &seller_id));
        let key = ScxOrderKey { channel: channel.to_string(), seller_id, order_id };
        assert!(!scx.index.contains_key(&key), "order {key:?} exists already");
        let wanted = if new.items.is_empty() { fake::random_items(&mut scx.data_rng) } else { new.items };
        let paid = new.paid;
        let mut lines = Vec::new();
        let line_id = |lines: &Vec<Line>| format!("{}-{}", key.order_id, lines.len() + 1);
        for w in wanted {
            let per_line = if new.unit_lines { vec![1; w.quantity as usize] } else { vec![w.quantity] };
            for quantity in per_line {
                let id = line_id(&lines);
                lines.push(Line {
                    id,
                    kind: LineKind::Item,
                    title: fake::title(&w.sku),
                    channel_offer_id: Some(fake::asin(&w.sku)),
                    sku: Some(w.sku.clone()),
                    quantity,
                    unit_cents: w.unit_price_cents,
                    status: ItemStatus::Unshipped,
                    paid,
                    shipped: 0,
                    cancelled: 0,
                    returned: 0,
                });
            }
        }
        if let Some(cents) = new.shipping_cents {
            lines.push(Line {
                id: format!("SHIPPING-{}", key.order_id),
                kind: LineKind::Shipping,
                sku: None,
                title: "Versandkosten".to_string(),
                channel_offer_id: None,
                quantity: 1,
                unit_cents: cents,
                status: ItemStatus::Unshipped,
                paid,
                shipped: 0,
                cancelled: 0,
                returned: 0,
            });
        }
        let status = match new.status {
            ScxInitialStatus::Unacked => OrderStatus::Unacked,
            ScxInitialStatus::Created => OrderStatus::Created,
            ScxInitialStatus::Accepted => OrderStatus::Accepted,
        };
        let accept_until = (status == OrderStatus::Unacked).then(|| {
            new.accept_until.unwrap_or_else(|| {
                now + chrono::Duration::from_std(self.config.scx.accept_window)
                    .unwrap_or(chrono::Duration::days(2))
            })
        });
        let scx = &mut self.scx;
        let buyer = fake::scx_buyer(&mut scx.data_rng);
        let payment_method = *scx.data_rng.pick(&PAYMENT_METHODS);
        let decimal_quantities = scx.data_rng.percent(50);
        let malformed = self.faults.scx_malformation();
        let order = ScxOrder {
            key: key.clone(),
            account_id: account_id.to_string(),
            status,
            purchased: now,
            last_changed: now,
            accept_until,
            seller_accepted: None,
            lines,
            buyer,
            has_address: new.with_address || status == OrderStatus::Accepted,
            payment_method,
            decimal_quantities,
            tracking: Default::default(),
            malformed,
        };
        tracing::info!(channel, order_id = %key.order_id, status = status.as_str(), "SCX order placed");
        scx.index.insert(key.clone(), scx.orders.len());
        scx.orders.push(order);
        let currency = self.config.currency.clone();
        let i = self.scx.orders.len() - 1;
        self.scx_changed(i, events::ORDER_NEW, |o| order_payload(o, &currency), now);
        key
    }

    /// The channel sends the address (`UNACKED` and `CREATED` orders only). An `UNACKED`
    /// order the seller has accepted becomes `ACCEPTED` right after.
    pub(crate) fn scx_add_address(&mut self, key: &ScxOrderKey, now: DateTime<Utc>) -> bool {
        let Some(i) = self.scx_order_index(key) else {
            return false;
        };
        let o = &mut self.scx.orders[i];
        if !matches!(o.status, OrderStatus::Unacked | OrderStatus::Created) {
            return false;
        }
        o.has_address = true;
        self.scx_changed(i, events::ORDER_ADDRESS_UPDATE, address_payload, now);
        let o = &mut self.scx.orders[i];
        if o.status == OrderStatus::Unacked && o.seller_accepted == Some(true) {
            o.status = OrderStatus::Accepted;
            self.scx_status_changed(i, Vec::new(), now);
        }
        true
    }

    /// The channel makes a `CREATED` order shippable (`ACCEPTED`); it needs an address.
    pub(crate) fn scx_accept(&mut self, key: &ScxOrderKey, now: DateTime<Utc>) -> bool {
        let Some(i) = self.scx_order_index(key) else {
            return false;
        };
        let o = &mut self.scx.orders[i];
        if o.status != OrderStatus::Created || !o.has_address {
            return false;
        }
        o.status = OrderStatus::Accepted;
        self.scx_status_changed(i, Vec::new(), now);
        true
    }

    /// The seller answered `PUT /v1/seller/order/accept` for an `UNACKED` order.
    pub(crate) fn scx_seller_decided(&mut self, i: usize, accepted: bool, now: DateTime<Utc>) {
        let o = &mut self.scx.orders[i];
        o.seller_accepted = Some(accepted);
        if accepted {
            if o.has_address {
                o.status = OrderStatus::Accepted;
                self.scx_status_changed(i, Vec::new(), now);
            }
        } else {
            o.status = OrderStatus::CanceledBySeller;
            let mut changed = Vec::new();
            for l in o.lines.iter_mut().filter(|l| l.open() > 0) {
                l.cancelled += l.open();
                l.status = ItemStatus::CanceledBySeller;
                changed.push(l.id.clone());
            }
            self.scx_status_changed(i, changed, now);
        }
    }

    /// Lines' payment received (`itemPaymentStatus` -> `PAID`); `items` empty: every line.
    pub(crate) fn scx_mark_paid(&mut self, key: &ScxOrderKey, items: &[String], now: DateTime<Utc>) -> bool {
        let Some(i) = self.scx_order_index(key) else {
            return false;
        };
        let o = &mut self.scx.orders[i];
        if o.status.is_cancelled() || items.iter().any(|id| o.line(id).is_none()) {
            return false;
        }
        let mut changed = Vec::new();
        for l in o.lines.iter_mut().filter(|l| items.is_empty() || items.contains(&l.id)) {
            if !l.paid {
                l.paid = true;
                changed.push(l.id.clone());
            }
        }
        if changed.is_empty() {
            return false;
        }
        self.scx_status_changed(i, changed, now);
        true
    }

    /// The channel cancels whole unshipped lines (`items` empty: every open line, i.e. the
    /// whole order). Before `ACCEPTED` an order with no line left becomes cancelled itself.
    pub(crate) fn scx_cancel(
        &mut self,
        key: &ScxOrderKey,
        by: ScxCancelledBy,
        items: &[String],
        now: DateTime<Utc>,
    ) -> bool {
        let Some(i) = self.scx_order_index(key) else {
            return false;
        };
        let o = &mut self.scx.orders[i];
        if o.status.is_cancelled() {
            return false;
        }
        let cancellable = |l: &Line| l.shipped == 0 && l.open() > 0;
        if items.iter().any(|id| !o.line(id).is_some_and(|l| l.kind == LineKind::Item && cancellable(l))) {
            return false;
        }
        let mut changed = Vec::new();
        for l in o.lines.iter_mut() {
            let named = if items.is_empty() { cancellable(l) } else { items.contains(&l.id) };
            if named {
                l.cancelled += l.open();
                l.status = ItemStatus::cancelled_by(by);
                changed.push(l.id.clone());
            }
        }
        if changed.is_empty() {
            return false;
        }
        close_if_all_cancelled(o, by);
        self.scx_status_changed(i, changed, now);
        true
    }

    /// A buyer asks to cancel units (`items` empty: every open unit); the request's id.
    pub(crate) fn scx_request_cancellation(
        &mut self,
        key: &ScxOrderKey,
        items: &[(String, u32)],
        reason: ScxCancelReason,
        now: DateTime<Utc>,
    ) -> Option<String> {
        let i = self.scx_order_index(key)?;
        let o = &self.scx.orders[i];
        if o.status.is_cancelled() {
            return None;
        }
        let units: Units = if items.is_empty() {
            o.lines
                .iter()
                .filter(|l| l.kind == LineKind::Item && l.open() > 0)
                .map(|l| (l.id.clone(), l.open()))
                .collect()
        } else {
            items.to_vec()
        };
        let fits = |(id, n): &(String, u32)| {
            *n > 0 && o.line(id).is_some_and(|l| l.kind == LineKind::Item && l.open() >= *n)
        };
        if units.is_empty() || !units.iter().all(fits) {
            return None;
        }
        let request_id = fake::uuid(&mut self.scx.id_rng);
        let payload = json!({
            "orderCancellationRequestId": request_id,
            "sellerId": o.key.seller_id,
            "channel": o.key.channel,
            "orderId": o.key.order_id,
            "orderItem": units.iter().map(|(id, n)| json!({ "orderItemId": id, "quantity": o.quantity(*n) })).collect::<Vec<_>>(),
            "cancelReason": reason.as_str(),
        });
        self.scx.cancellation_requests.push(CancellationRequest {
            id: request_id.clone(),
            key: key.clone(),
            items: units,
            answer: None,
        });
        self.scx_changed(i, events::ORDER_CANCELLATION_REQUEST, move |_| payload.clone(), now);
        Some(request_id)
    }

    /// The seller accepted a buyer's cancellation request: its units are cancelled. Lines with
    /// no open unit left that never shipped become `CANCELED_BY_BUYER` (a status update).
    /// False if a unit is no longer open.
    pub(crate) fn scx_cancellation_accepted(&mut self, request: usize, now: DateTime<Utc>) -> bool {
        let r = self.scx.cancellation_requests[request].clone();
        let Some(i) = self.scx_order_index(&r.key) else {
            return false;
        };
        let o = &mut self.scx.orders[i];
        if o.status.is_cancelled()
            || !r.items.iter().all(|(id, n)| o.line(id).is_some_and(|l| l.open() >= *n))
        {
            return false;
        }
        let mut changed = Vec::new();
        for (id, n) in &r.items {
            if let Some(l) = o.line_mut(id) {
                l.cancelled += n;
                if l.open() == 0 && l.shipped == 0 {
                    l.status = ItemStatus::CanceledByBuyer;
                    changed.push(l.id.clone());
                }
            }
        }
        self.scx.cancellation_requests[request].answer = Some(true);
        let o = &mut self.scx.orders[i];
        let before = o.status;
        close_if_all_cancelled(o, ScxCancelledBy::Buyer);
        if !changed.is_empty() || o.status != before {
            self.scx_status_changed(i, changed, now);
        }
        true
    }

    /// The channel announces a return of shipped units.
    pub(crate) fn scx_return(
        &mut self,
        key: &ScxOrderKey,
        items: &[(String, u32)],
        reason: ScxReturnReason,
        now: DateTime<Utc>,
    ) -> bool {
        let Some(i) = self.scx_order_index(key) else {
            return false;
        };
        let o = &mut self.scx.orders[i];
        let fits =
            |(id, n): &(String, u32)| *n > 0 && o.line(id).is_some_and(|l| l.shipped - l.returned >= *n);
        if items.is_empty() || !items.iter().all(fits) {
            return false;
        }
        for (id, n) in items {
            if let Some(l) = o.line_mut(id) {
                l.returned += n;
            }
        }
        let payload = json!({
            "sellerId": o.key.seller_id,
            "channel": o.key.channel,
            "orderId": o.key.order_id,
            "orderItem": items.iter().map(|(id, n)| json!({
                "orderItemId": id,
                "quantity": o.quantity(*n),
                "returnReason": reason.as_str(),
            })).collect::<Vec<_>>(),
        });
        self.scx_changed(i, events::ORDER_RETURN, move |_| payload.clone(), now);
        true
    }
}

/// Before `ACCEPTED`, an order whose item lines are all cancelled is cancelled itself (its
/// shipping line with it); an `ACCEPTED` order keeps its status.
fn close_if_all_cancelled(o: &mut ScxOrder, by: ScxCancelledBy) {
    let all_cancelled =
        o.lines.iter().filter(|l| l.kind == LineKind::Item).all(|l| l.cancelled == l.quantity);
    if all_cancelled && o.status != OrderStatus::Accepted {
        o.status = OrderStatus::cancelled_by(by);
        for l in o.lines.iter_mut().filter(|l| l.kind == LineKind::Shipping && l.open() > 0) {
            l.cancelled = l.quantity;
            l.status = ItemStatus::cancelled_by(by);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_jtls_patterns() {
        assert!(valid_channel("OTTODE") && valid_channel("MYBESTDEALCOMDE") && valid_channel("WAWI_001"));
        assert!(!valid_channel("OTTO") && !valid_channel("MYBESTDEALCOMDE1") && !valid_channel("OTTO-DE"));
        assert!(valid_seller_id("4711") && valid_seller_id("EA4590MitName"));
        assert!(!valid_seller_id("") && !valid_seller_id("47-11") && !valid_seller_id(&"1".repeat(51)));
    }
}
