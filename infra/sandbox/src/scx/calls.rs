//! Seller -> channel order calls: shipping notices, accepting or refusing `UNACKED` orders,
//! payment notices and answers to cancellation requests.
//!
//! From JTL's documentation: the bodies (`orderList` of 1–1000 entries naming `channel`,
//! `sellerId` and `orderId`; the cancellation answers name one `orderCancellationRequestId`),
//! `201 Created` for shipping and accept, `404` with `GEN404` "Not found" for an unknown
//! cancellation request, the field patterns (`channel` `^\w{5,15}$`, `sellerId` `^\w{1,50}$`,
//! `orderId` 1–150 characters), and that an order line is shipped "once the order is
//! `ACCEPTED`". The shipping notice is not documented as idempotent, and there is no
//! idempotency key: every call answered 201 is one more notice.
//!
//! Assumed: a call is all or nothing (any refused entry refuses the call, with one
//! `errorList` entry per problem; `404` if every problem is an unknown order, `400`
//! otherwise); payment and cancellation answers are answered `201` like the other order
//! calls; only `ITEM` lines can be shipped; lines shipped completely are confirmed by a
//! `SHIPPED` status update; units shipped are counted per tracking number,
//! so a repeated notice under the same tracking number ships nothing more (it is accepted,
//! recorded and counted as a duplicate), while the same units under a new tracking number
//! need open units and are refused beyond them.

use std::collections::HashMap;

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::api::{ErrorEntry, ScxError, ScxResult};
use super::events::parse_wire_time;
use super::lifecycle::{valid_channel, valid_seller_id};
use super::model::{
    ItemStatus, LineKind, OrderStatus, ScxCancelReason, ScxOrder, ScxOrderKey, ScxShippedPackage,
    ScxShippingNotice,
};
use crate::model::State;

/// `orderList`'s documented maximum.
const MAX_ORDERS: usize = 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Invalid,
    NotFound,
    UnknownSeller,
}

/// Problems found in a request, turned into one error answer.
#[derive(Default)]
struct Problems(Vec<(Kind, String)>);

impl Problems {
    fn invalid(&mut self, message: impl Into<String>) {
        self.0.push((Kind::Invalid, message.into()));
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn into_error(self) -> ScxError {
        let status = if self.0.iter().all(|(k, _)| *k == Kind::NotFound) {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::BAD_REQUEST
        };
        let errors = self
            .0
            .into_iter()
            .map(|(kind, message)| ErrorEntry {
                code: match kind {
                    Kind::Invalid => "VAL100",
                    Kind::NotFound => "GEN404",
                    Kind::UnknownSeller => "GEN700",
                },
                message,
            })
            .collect();
        ScxError { status, errors }
    }

    fn result(self) -> Result<(), ScxError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self.into_error())
        }
    }
}

fn parse(body: &[u8]) -> Result<Value, ScxError> {
    serde_json::from_slice(body).map_err(|_| ScxError::invalid("Request body is not valid JSON"))
}

fn order_list(v: &Value) -> Result<&Vec<Value>, ScxError> {
    let list = v
        .get("orderList")
        .and_then(Value::as_array)
        .ok_or_else(|| ScxError::invalid("Required field orderList not found"))?;
    if list.is_empty() || list.len() > MAX_ORDERS {
        return Err(ScxError::invalid(format!(
            "orderList: must contain 1 to {MAX_ORDERS} orders, not {}",
            list.len()
        )));
    }
    Ok(list)
}

fn string<'a>(v: &'a Value, path: &str, name: &str, p: &mut Problems) -> Option<&'a str> {
    match v.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Some(s),
        Some(_) => {
            p.invalid(format!("{path}.{name}: must be a non-empty string"));
            None
        }
        None => {
            p.invalid(format!("{path}.{name}: Required field {name} not found"));
            None
        }
    }
}

fn optional_string<'a>(v: &'a Value, path: &str, name: &str, p: &mut Problems) -> Option<&'a str> {
    match v.get(name) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => {
            p.invalid(format!("{path}.{name}: must be a string"));
            None
        }
    }
}

fn boolean(v: &Value, path: &str, name: &str, required: bool, p: &mut Problems) -> Option<bool> {
    match v.get(name) {
        Some(Value::Bool(b)) => Some(*b),
        None if !required => None,
        None => {
            p.invalid(format!("{path}.{name}: Required field {name} not found"));
            None
        }
        Some(_) => {
            p.invalid(format!("{path}.{name}: must be true or false"));
            None
        }
    }
}

fn date_time(v: &Value, path: &str, name: &str, p: &mut Problems) -> Option<String> {
    let s = string(v, path, name, p)?;
    if parse_wire_time(s).is_none() {
        p.invalid(format!("{path}.{name}: {s:?} is not a valid date-time"));
        return None;
    }
    Some(s.to_string())
}

/// `channel` and `sellerId`, checked against JTL's patterns.
fn seller_channel(v: &Value, path: &str, p: &mut Problems) -> Option<(String, String)> {
    let channel = string(v, path, "channel", p);
    let seller = string(v, path, "sellerId", p);
    let (channel, seller) = (channel?, seller?);
    let mut ok = true;
    if !valid_channel(channel) {
        p.invalid(format!("{path}.channel: must be 5 to 15 letters, digits or underscores"));
        ok = false;
    }
    if !valid_seller_id(seller) {
        p.invalid(format!(
            "{path}.sellerId: SellerId must not be empty and have at most 50 alphanumeric characters"
        ));
        ok = false;
    }
    ok.then(|| (channel.to_string(), seller.to_string()))
}

/// The order an `orderList` entry names.
fn order_key(v: &Value, path: &str, p: &mut Problems) -> Option<ScxOrderKey> {
    let sc = seller_channel(v, path, p);
    let order_id = string(v, path, "orderId", p);
    let (channel, seller_id) = sc?;
    let order_id = order_id?;
    if order_id.chars().count() > 150 {
        p.invalid(format!("{path}.orderId: must have at most 150 characters"));
        return None;
    }
    Some(ScxOrderKey { channel, seller_id, order_id: order_id.to_string() })
}

/// Whether the caller's account sells on the channel under that `sellerId`.
fn sells_as(st: &State, account: &str, channel: &str, seller_id: &str, path: &str, p: &mut Problems) -> bool {
    let ok =
        st.scx.sellers.iter().any(|s| s.account_id == account && s.seller_id(channel) == Some(seller_id));
    if !ok {
        p.0.push((
            Kind::UnknownSeller,
            format!("{path}: Seller {seller_id} does not exist on channel {channel}."),
        ));
    }
    ok
}

/// The index of the order an entry names, if it is the caller's.
fn resolve(st: &State, account: &str, key: &ScxOrderKey, path: &str, p: &mut Problems) -> Option<usize> {
    if !sells_as(st, account, &key.channel, &key.seller_id, path, p) {
        return None;
    }
    let i = st.scx.index.get(key).copied();
    if i.is_none() {
        p.0.push((Kind::NotFound, format!("{path}.orderId: Order {} not found", key.order_id)));
    }
    i
}

fn record(st: &mut State, op: &'static str, body: Value) {
    st.scx.accepted_bodies.entry(op).or_default().push(body);
}

/// One `shippingItems` entry, read.
struct Package {
    shipped: ScxShippedPackage,
    /// `(orderItemId, units)`, one entry per line.
    units: Vec<(String, u32)>,
}

fn package(v: &Value, path: &str, p: &mut Problems) -> Option<Package> {
    let before = p.0.len();
    let carrier = string(v, path, "carrier", p);
    let tracking_number = string(v, path, "trackingNumber", p);
    let tracking_url = optional_string(v, path, "trackingUrl", p);
    let shipped_at = date_time(v, path, "shippedAt", p);
    let (mut return_carrier, mut return_tracking_number) = (None, None);
    match v.get("returnTracking") {
        None | Some(Value::Null) => {}
        Some(r @ Value::Object(_)) => {
            let rp = format!("{path}.returnTracking");
            return_carrier = string(r, &rp, "carrier", p).map(str::to_string);
            return_tracking_number = string(r, &rp, "trackingNumber", p).map(str::to_string);
            optional_string(r, &rp, "trackingUrl", p);
        }
        Some(_) => p.invalid(format!("{path}.returnTracking: must be an object")),
    }
    match v.get("shippedFrom") {
        None | Some(Value::Null) | Some(Value::Object(_)) => {}
        Some(_) => p.invalid(format!("{path}.shippedFrom: must be an object")),
    }
    let mut units: Vec<(String, u32)> = Vec::new();
    let mut lines = Vec::new();
    match v.get("orderItemIdList").and_then(Value::as_array) {
        Some(list) if !list.is_empty() => {
            for (k, item) in list.iter().enumerate() {
                let ip = format!("{path}.orderItemIdList[{k}]");
                let id = string(item, &ip, "orderItemId", p);
                let quantity = match item.get("quantity").and_then(Value::as_u64) {
                    Some(q) if q >= 1 && q <= u64::from(u32::MAX) => Some(q as u32),
                    _ => {
                        p.invalid(format!("{ip}.quantity: must be a whole number of at least 1"));
                        None
                    }
                };
                if let (Some(id), Some(q)) = (id, quantity) {
                    lines.push((id.to_string(), q));
                    match units.iter_mut().find(|(u, _)| u == id) {
                        Some((_, n)) => *n += q,
                        None => units.push((id.to_string(), q)),
                    }
                }
            }
        }
        _ => p.invalid(format!("{path}.orderItemIdList: must list at least one order item")),
    }
    if p.0.len() > before {
        return None;
    }
    Some(Package {
        shipped: ScxShippedPackage {
            carrier: carrier?.to_string(),
            tracking_number: tracking_number?.to_string(),
            tracking_url: tracking_url.map(str::to_string),
            return_carrier,
            return_tracking_number,
            shipped_at: shipped_at?,
            lines,
        },
        units,
    })
}

/// Ships a package's units on a (scratch) order: counted per tracking number, so units that
/// tracking number already carried ship nothing more. Whether the tracking number was known.
fn ship(o: &mut ScxOrder, pkg: &Package, path: &str, p: &mut Problems) -> bool {
    let tracking = pkg.shipped.tracking_number.clone();
    let known = o.tracking.contains_key(&tracking);
    for (id, units) in &pkg.units {
        let Some(line) = o.line(id) else {
            p.invalid(format!("{path}: order item {id} is not part of order {}", o.key.order_id));
            continue;
        };
        if line.kind != LineKind::Item {
            p.invalid(format!("{path}: order item {id} is a {} line, not an item", line.kind.as_str()));
            continue;
        }
        let already =
            o.tracking.get(&tracking).and_then(|l| l.iter().find(|(i, _)| i == id)).map_or(0, |(_, n)| *n);
        let more = units.saturating_sub(already);
        let open = line.open();
        if more > open {
            p.invalid(format!(
                "{path}: {units} units of order item {id} cannot be shipped, {open} are open (ordered {}, shipped {}, cancelled {})",
                line.quantity, line.shipped, line.cancelled
            ));
            continue;
        }
        if more == 0 {
            continue;
        }
        if let Some(line) = o.line_mut(id) {
            line.shipped += more;
            if line.open() == 0 {
                line.status = ItemStatus::Shipped;
            }
        }
        let carried = o.tracking.entry(tracking.clone()).or_default();
        match carried.iter_mut().find(|(i, _)| i == id) {
            Some((_, n)) => *n += more,
            None => carried.push((id.clone(), more)),
        }
    }
    o.tracking.entry(tracking).or_default();
    known
}

/// `PUT /v1/seller/order/shipping`.
pub(crate) fn shipping(st: &mut State, account: &str, body: &[u8], now: DateTime<Utc>) -> ScxResult {
    let v = parse(body)?;
    let list = order_list(&v)?;
    let mut p = Problems::default();
    let mut scratch: HashMap<usize, ScxOrder> = HashMap::new();
    let mut notices = Vec::new();
    let mut duplicates = 0u64;
    for (n, entry) in list.iter().enumerate() {
        let path = format!("orderList[{n}]");
        let before = p.0.len();
        let key = order_key(entry, &path, &mut p);
        let complete = boolean(entry, &path, "shippingComplete", false, &mut p).unwrap_or(false);
        let mut packages = Vec::new();
        match entry.get("shippingItems").and_then(Value::as_array) {
            Some(items) if !items.is_empty() => {
                for (k, item) in items.iter().enumerate() {
                    if let Some(pkg) = package(item, &format!("{path}.shippingItems[{k}]"), &mut p) {
                        packages.push(pkg);
                    }
                }
            }
            _ => p.invalid(format!("{path}.shippingItems: must list at least one shipped package")),
        }
        let Some(key) = key else { continue };
        if p.0.len() > before {
            continue;
        }
        let Some(i) = resolve(st, account, &key, &path, &mut p) else { continue };
        let order = scratch.entry(i).or_insert_with(|| st.scx.orders[i].clone());
        if order.status != OrderStatus::Accepted {
            p.invalid(format!(
                "{path}.orderId: Order {} is {}; only ACCEPTED orders can be shipped",
                key.order_id,
                order.status.as_str()
            ));
            continue;
        }
        let mut duplicate = false;
        for (k, pkg) in packages.iter().enumerate() {
            if ship(order, pkg, &format!("{path}.shippingItems[{k}]"), &mut p) {
                duplicate = true;
                duplicates += 1;
            }
        }
        notices.push(ScxShippingNotice {
            account_id: account.to_string(),
            order: key,
            shipping_complete: complete,
            packages: packages.into_iter().map(|pkg| pkg.shipped).collect(),
            duplicate,
            received_at: now,
            body: entry.clone(),
        });
    }
    p.result()?;
    let mut shipped: Vec<(usize, Vec<String>)> = Vec::new();
    for (i, order) in scratch {
        let before = &st.scx.orders[i];
        let lines: Vec<String> = order
            .lines
            .iter()
            .filter(|l| {
                l.status == ItemStatus::Shipped && before.line(&l.id).is_some_and(|b| b.status != l.status)
            })
            .map(|l| l.id.clone())
            .collect();
        if !lines.is_empty() {
            shipped.push((i, lines));
        }
        st.scx.orders[i] = order;
    }
    // The channel confirms the lines shipped completely, in the order of the call.
    shipped.sort();
    for (i, lines) in shipped {
        st.scx_status_changed(i, lines, now);
    }
    for notice in notices {
        tracing::info!(
            channel = %notice.order.channel,
            order_id = %notice.order.order_id,
            duplicate = notice.duplicate,
            "SCX shipping notice recorded"
        );
        st.scx.notices.push(notice);
    }
    st.scx.duplicate_notices += duplicates;
    record(st, "shipping", v);
    Ok((StatusCode::CREATED, None))
}

fn cancel_reason(v: &Value, path: &str, p: &mut Problems) -> Option<ScxCancelReason> {
    let s = optional_string(v, path, "reason", p)?;
    let reason = ScxCancelReason::ALL.into_iter().find(|r| r.as_str() == s);
    if reason.is_none() {
        p.invalid(format!("{path}.reason: {s:?} is not a cancel reason"));
    }
    reason
}

/// `PUT /v1/seller/order/accept`: accepts (or refuses) `UNACKED` orders before their
/// `orderAcceptUntil`.
pub(crate) fn accept(st: &mut State, account: &str, body: &[u8], now: DateTime<Utc>) -> ScxResult {
    let v = parse(body)?;
    let list = order_list(&v)?;
    let mut p = Problems::default();
    let mut decisions: Vec<(usize, bool)> = Vec::new();
    for (n, entry) in list.iter().enumerate() {
        let path = format!("orderList[{n}]");
        let before = p.0.len();
        let key = order_key(entry, &path, &mut p);
        let accepted = boolean(entry, &path, "orderAccepted", true, &mut p);
        cancel_reason(entry, &path, &mut p);
        let (Some(key), Some(accepted)) = (key, accepted) else { continue };
        if p.0.len() > before {
            continue;
        }
        let Some(i) = resolve(st, account, &key, &path, &mut p) else { continue };
        let o = &st.scx.orders[i];
        if decisions.iter().any(|(d, _)| *d == i) {
            p.invalid(format!("{path}.orderId: Order {} is listed twice", key.order_id));
        } else if o.status != OrderStatus::Unacked || o.seller_accepted.is_some() {
            p.invalid(format!(
                "{path}.orderId: Order {} is {}; only UNACKED orders can be accepted or refused, once",
                key.order_id,
                if o.seller_accepted.is_some() { "already answered" } else { o.status.as_str() }
            ));
        } else if o.accept_until.is_some_and(|until| now > until) {
            p.invalid(format!(
                "{path}.orderId: Order {} could only be accepted until its orderAcceptUntil",
                key.order_id
            ));
        } else {
            decisions.push((i, accepted));
        }
    }
    p.result()?;
    for (i, accepted) in decisions {
        tracing::info!(order_id = %st.scx.orders[i].key.order_id, accepted, "SCX order answered by the seller");
        st.scx_seller_decided(i, accepted, now);
    }
    record(st, "accept", v);
    Ok((StatusCode::CREATED, None))
}

/// `PUT /v1/seller/order/payment`: the seller reports a payment received. Recorded only.
pub(crate) fn payment(st: &mut State, account: &str, body: &[u8], _now: DateTime<Utc>) -> ScxResult {
    let v = parse(body)?;
    let list = order_list(&v)?;
    let mut p = Problems::default();
    for (n, entry) in list.iter().enumerate() {
        let path = format!("orderList[{n}]");
        let before = p.0.len();
        let key = order_key(entry, &path, &mut p);
        boolean(entry, &path, "paymentComplete", true, &mut p);
        date_time(entry, &path, "paidAt", &mut p);
        if let (Some(key), true) = (key, p.0.len() == before) {
            resolve(st, account, &key, &path, &mut p);
        }
    }
    p.result()?;
    record(st, "payment", v);
    Ok((StatusCode::CREATED, None))
}

/// `PUT /v1/seller/order/cancellation-accept` and `…/cancellation-deny`, body
/// `{channel, sellerId, orderCancellationRequestId, reason?}`.
pub(crate) fn cancellation_answer(
    st: &mut State,
    account: &str,
    body: &[u8],
    accept: bool,
    now: DateTime<Utc>,
) -> ScxResult {
    let v = parse(body)?;
    let mut p = Problems::default();
    let path = "body";
    let sc = seller_channel(&v, path, &mut p);
    let id = string(&v, path, "orderCancellationRequestId", &mut p);
    if !accept {
        optional_string(&v, path, "reason", &mut p);
    }
    p.result()?;
    let (Some((channel, seller_id)), Some(id)) = (sc, id) else {
        return Err(ScxError::invalid("Invalid request"));
    };
    let mut p = Problems::default();
    if !sells_as(st, account, &channel, &seller_id, path, &mut p) {
        return Err(p.into_error());
    }
    let request = st
        .scx
        .cancellation_requests
        .iter()
        .position(|r| r.id == id && r.key.channel == channel && r.key.seller_id == seller_id)
        .ok_or_else(|| ScxError::new(StatusCode::NOT_FOUND, "GEN404", "Not found"))?;
    if st.scx.cancellation_requests[request].answer.is_some() {
        return Err(ScxError::invalid(format!(
            "orderCancellationRequestId: request {id} was answered already"
        )));
    }
    if accept {
        if !st.scx_cancellation_accepted(request, now) {
            return Err(ScxError::invalid(format!(
                "orderCancellationRequestId: the units of request {id} are no longer open"
            )));
        }
    } else {
        st.scx.cancellation_requests[request].answer = Some(false);
    }
    tracing::info!(accept, "SCX cancellation request answered");
    record(st, if accept { "cancellation-accept" } else { "cancellation-deny" }, v);
    Ok((StatusCode::CREATED, None))
}
