//! JTL's sales-channel hub SCX, seller side: the API JTL-Wawi uses to receive the orders of
//! OTTO, Kaufland, Conrad and other channels as one event feed, and to report shipments back.
//!
//! Served by the same server as the SP-API part, with the same fault injection
//! ([`crate::FaultConfig`]'s `scx_auth`, `scx_events`, `scx_orders`, `expire_token_percent`,
//! `duplicate_event_percent`, `reordered_redelivery_percent`, `lost_ack_percent`) and control
//! API (`/_sandbox/scx/…`).
//!
//! # Sources
//!
//! No machine-readable model of the seller API could be vendored: JTL's `seller.json` is
//! published on its developer portal without a licence, and JTL's MIT-licensed repositories
//! (`jtl-scx/channel-api-client`, `jtl-scx/channel-core`) hold the *channel* side only (see
//! `specs/jtl-scx/README.md`). The module is written from the documented facts:
//! - JTL's developer portal (seller API reference: `POST /v1/auth`, `GET /v2/seller/event`,
//!   `DELETE /v2/seller/event` and `/v1/seller/event`, `PUT /v1/seller/order/shipping`,
//!   `PUT /v1/seller/order/accept`, cancellation accept; the authorization and rate-limit
//!   guides);
//! - JTL's developer guide (`jtl-scx/dev-guide`, read only: it has no licence): order and
//!   line statuses and the transition rules, error format, rate-limit table and headers,
//!   `Channel:Order.Return`;
//! - the Channel API's models as generated into `jtl-scx/channel-api-client` (MIT): the fields
//!   of `Order`, `OrderItem`, `Address`, `OrderStatus`, `OrderAddressUpdate`,
//!   `OrderCancellationRequest`, `ReturnAnnouncement`, the enums `CancelReason` and
//!   `ReturnReason`, which the seller events pass on.
//!
//! What the sandbox assumes is said where it is done; in short: the event type names other
//! than `Channel:Order.Return` ([`EVENT_TYPES`]), the error codes other than `VAL100`,
//! `GEN404` and `GEN700`, the 201 of payment and cancellation answers and the all-or-nothing
//! handling of lists, what an accepted or refused `UNACKED` order becomes, that the channel
//! confirms completely shipped lines with a status update, and 10 requests per 60 s for every
//! seller route pattern ([`crate::ScxConfig::rate_limit`]).
//!
//! # Model
//!
//! A seller account ([`ScxSellerCredentials`]) has a refresh token and sells on one or more
//! channels, with a `sellerId` per channel. Channels place orders ([`crate::Sandbox::create_scx_order`])
//! and change them (address, acceptance, payment, cancellation, cancellation requests,
//! returns); each change puts one event into the account's queue, which the seller reads with
//! `GET /v2/seller/event` and acknowledges with `DELETE /v2/seller/event`.

pub(crate) mod api;
mod calls;
mod control;
pub(crate) mod events;
mod lifecycle;
pub(crate) mod model;

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};

pub use api::ROUTE_PATTERNS;
pub use events::EVENT_TYPES;
pub use model::{
    NewScxOrder, ScxCancelReason, ScxCancelledBy, ScxChannelAccount, ScxInitialStatus, ScxOrderKey,
    ScxReturnReason, ScxSellerCredentials, ScxShippedPackage, ScxShippingNotice,
};

use crate::codec;
use crate::ratelimit::FixedWindows;
use crate::rng::Rng;
use crate::Sandbox;
use events::QueuedEvent;
use lifecycle::valid_channel;
use model::{CancellationRequest, ScxOrder, ScxToken};

/// The SCX routes, API and control.
pub(crate) fn routes() -> axum::Router<Sandbox> {
    api::routes().merge(control::routes())
}

/// The SCX part of the sandbox's state.
pub(crate) struct ScxState {
    pub sellers: Vec<ScxSellerCredentials>,
    pub tokens: HashMap<String, ScxToken>,
    pub orders: Vec<ScxOrder>,
    pub index: HashMap<ScxOrderKey, usize>,
    /// Next generated `orderId` per `(channel, sellerId)`.
    order_numbers: HashMap<(String, String), u64>,
    /// Unacknowledged events of every account, in delivery order.
    pub queue: Vec<QueuedEvent>,
    next_seq: u64,
    /// Every event envelope ever queued (copies too), in queue order.
    pub emitted: Vec<Value>,
    /// Ids of acknowledged events, in acknowledgement order.
    pub acknowledged: Vec<String>,
    pub cancellation_requests: Vec<CancellationRequest>,
    pub notices: Vec<ScxShippingNotice>,
    pub duplicate_notices: u64,
    /// Bodies of the order calls answered 2xx, per operation (`shipping`, `accept`,
    /// `payment`, `cancellation-accept`, `cancellation-deny`).
    pub accepted_bodies: BTreeMap<&'static str, Vec<Value>>,
    pub windows: FixedWindows,
    /// Tokens, event and request ids.
    pub id_rng: Rng,
    /// Orders and buyers.
    pub data_rng: Rng,
}

impl ScxState {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            sellers: Vec::new(),
            tokens: HashMap::new(),
            orders: Vec::new(),
            index: HashMap::new(),
            order_numbers: HashMap::new(),
            queue: Vec::new(),
            next_seq: 0,
            emitted: Vec::new(),
            acknowledged: Vec::new(),
            cancellation_requests: Vec::new(),
            notices: Vec::new(),
            duplicate_notices: 0,
            accepted_bodies: BTreeMap::new(),
            windows: FixedWindows::default(),
            id_rng: Rng::stream(seed, 20),
            data_rng: Rng::stream(seed, 21),
        }
    }

    pub(crate) fn next_seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    /// `1000001`, `1000002`, ... per channel and `sellerId`, skipping ids already taken.
    pub(crate) fn next_order_number(&mut self, channel: &str, seller_id: &str) -> String {
        loop {
            let n =
                self.order_numbers.entry((channel.to_string(), seller_id.to_string())).or_insert(1_000_000);
            *n += 1;
            let id = n.to_string();
            let key =
                ScxOrderKey { channel: channel.to_string(), seller_id: seller_id.to_string(), order_id: id };
            if !self.index.contains_key(&key) {
                return key.order_id;
            }
        }
    }

    fn add_seller(&mut self, channels: &[&str], seed: u64) -> ScxSellerCredentials {
        assert!(!channels.is_empty(), "an SCX seller sells on at least one channel");
        assert!(channels.len() < 10, "at most 9 channels per SCX seller");
        for c in channels {
            assert!(valid_channel(c), "SCX channel names are 5 to 15 letters, digits or underscores: {c:?}");
        }
        let n = self.sellers.len() + 1;
        let creds = ScxSellerCredentials {
            account_id: format!("SCXACCOUNT{n}"),
            refresh_token: format!("SELLER:sandbox{n}-{:016x}", seed.rotate_left(n as u32)),
            channels: channels
                .iter()
                .enumerate()
                .map(|(k, c)| ScxChannelAccount {
                    channel: c.to_string(),
                    seller_id: format!("{}", 4700 + 10 * n + k),
                })
                .collect(),
        };
        self.sellers.push(creds.clone());
        creds
    }

    fn order(&self, key: &ScxOrderKey) -> Option<&ScxOrder> {
        self.index.get(key).map(|&i| &self.orders[i])
    }

    /// Buyer values of every SCX order, for no-PII-in-logs assertions.
    pub(crate) fn buyer_field_values(&self, out: &mut Vec<String>) {
        for o in &self.orders {
            let b = &o.buyer;
            // Composites and numbered values only: a bare first name would match innocent text.
            let values = [
                Some(&format!("{} {}", b.first_name, b.last_name)),
                Some(&b.last_name),
                Some(&b.email),
                b.company.as_ref(),
                Some(&format!("{} {}", b.street, b.house_number)),
                b.addition.as_ref(),
                b.phone.as_ref(),
            ];
            for v in values.into_iter().flatten() {
                if !out.contains(v) {
                    out.push(v.clone());
                }
            }
        }
    }
}

/// The SCX seller API's side of the sandbox.
impl Sandbox {
    /// Adds the next SCX seller account (`SCXACCOUNT1`, ...) selling on `channels` (JTL's
    /// channel names: 5 to 15 letters, digits or underscores, e.g. `OTTODE`). Panics on an
    /// invalid channel name.
    pub fn add_scx_seller(&self, channels: &[&str]) -> ScxSellerCredentials {
        let mut st = self.state();
        let seed = st.config.seed;
        st.scx.add_seller(channels, seed)
    }

    pub fn scx_sellers(&self) -> Vec<ScxSellerCredentials> {
        self.state().scx.sellers.clone()
    }

    /// A channel places an order for the account now (one `Channel:Order.New` event). Panics
    /// on an unknown account or channel, a zero quantity or an `orderId` the seller has.
    pub fn create_scx_order(&self, account_id: &str, channel: &str, order: NewScxOrder) -> ScxOrderKey {
        self.state().scx_create_order(account_id, channel, order, codec::now())
    }

    /// The channel sends billing and shipping address (a `Channel:Order.AddressUpdate`); an
    /// `UNACKED` order the seller already accepted becomes `ACCEPTED` with it. False if the
    /// order is unknown or neither `UNACKED` nor `CREATED`.
    pub fn scx_add_address(&self, key: &ScxOrderKey) -> bool {
        self.state().scx_add_address(key, codec::now())
    }

    /// The channel makes a `CREATED` order shippable: `ACCEPTED` (a status update). False if
    /// the order is unknown, not `CREATED` or has no address yet.
    pub fn scx_accept(&self, key: &ScxOrderKey) -> bool {
        self.state().scx_accept(key, codec::now())
    }

    /// Payment received for lines (`itemPaymentStatus` -> `PAID`, a status update naming
    /// them); `order_item_ids` empty: every line. False if the order is unknown, cancelled,
    /// has no such line or nothing was left unpaid.
    pub fn scx_mark_paid(&self, key: &ScxOrderKey, order_item_ids: &[&str]) -> bool {
        let ids: Vec<String> = order_item_ids.iter().map(|s| s.to_string()).collect();
        self.state().scx_mark_paid(key, &ids, codec::now())
    }

    /// The channel cancels whole unshipped lines (`order_item_ids` empty: the whole order),
    /// by the buyer (or marketplace) or the seller: their `itemStatus` becomes
    /// `CANCELED_BY_…`, and before `ACCEPTED` an order without lines left is cancelled too (a
    /// status update). Units of a line are cancelled through
    /// [`Sandbox::scx_request_cancellation`]. False if the order is unknown or cancelled, or a
    /// line is unknown, not an item, or already (partly) shipped or cancelled.
    pub fn scx_cancel(&self, key: &ScxOrderKey, by: ScxCancelledBy, order_item_ids: &[&str]) -> bool {
        let ids: Vec<String> = order_item_ids.iter().map(|s| s.to_string()).collect();
        self.state().scx_cancel(key, by, &ids, codec::now())
    }

    /// The buyer asks to cancel units (`(orderItemId, units)`; empty: every open unit), a
    /// `Channel:Order.Cancellation.Request` the seller answers with
    /// `PUT /v1/seller/order/cancellation-accept` or `…-deny`. The request's id; `None` if the
    /// order is unknown or cancelled or a line has fewer open units.
    pub fn scx_request_cancellation(
        &self,
        key: &ScxOrderKey,
        units: &[(&str, u32)],
        reason: ScxCancelReason,
    ) -> Option<String> {
        let units: Vec<(String, u32)> = units.iter().map(|(id, n)| (id.to_string(), *n)).collect();
        self.state().scx_request_cancellation(key, &units, reason, codec::now())
    }

    /// The channel announces a return of shipped units (`Channel:Order.Return`). False if the
    /// order is unknown or a line has fewer shipped, unreturned units.
    pub fn scx_return(&self, key: &ScxOrderKey, units: &[(&str, u32)], reason: ScxReturnReason) -> bool {
        let units: Vec<(String, u32)> = units.iter().map(|(id, n)| (id.to_string(), *n)).collect();
        self.state().scx_return(key, &units, reason, codec::now())
    }

    /// Every SCX order's key, in creation order.
    pub fn scx_orders(&self) -> Vec<ScxOrderKey> {
        self.state().scx.orders.iter().map(|o| o.key.clone()).collect()
    }

    /// The order as the channel has it now, in the shape of a new-order event's payload
    /// (address and buyer only once the channel sent them).
    pub fn scx_order_json(&self, key: &ScxOrderKey) -> Option<Value> {
        let st = self.state();
        st.scx.order(key).map(|o| lifecycle::order_payload(o, &st.config.currency))
    }

    /// The orders served malformed (`FaultConfig::malformed_order_percent`), in creation
    /// order: a client should record them as rejected.
    pub fn scx_rejectable_orders(&self) -> Vec<ScxOrderKey> {
        self.state().scx.orders.iter().filter(|o| o.malformed.is_some()).map(|o| o.key.clone()).collect()
    }

    /// The order without buyer data: status, whether it has an address, and per line its
    /// `orderItemId`, `type`, `itemStatus`, `quantity`, `shipped`, `cancelled` and `returned`
    /// units.
    pub fn scx_order_summary(&self, key: &ScxOrderKey) -> Option<Value> {
        self.state().scx.order(key).map(summary)
    }

    /// `orderStatus`, e.g. `"ACCEPTED"`.
    pub fn scx_order_status(&self, key: &ScxOrderKey) -> Option<String> {
        self.state().scx.order(key).map(|o| o.status.as_str().to_string())
    }

    /// Units of a line shipped so far (shipping notices, counted per tracking number).
    pub fn scx_shipped_units(&self, key: &ScxOrderKey, order_item_id: &str) -> Option<u32> {
        self.state().scx.order(key).and_then(|o| o.line(order_item_id)).map(|l| l.shipped)
    }

    /// Every event ever put into a queue (duplicates too), as `GET /v2/seller/event` lists
    /// them, in queue order.
    pub fn scx_events_emitted(&self) -> Vec<Value> {
        self.state().scx.emitted.clone()
    }

    /// The account's unacknowledged events (delivered and invisible ones too), in delivery
    /// order.
    pub fn scx_pending_events(&self, account_id: &str) -> Vec<Value> {
        let st = self.state();
        st.scx.queue.iter().filter(|e| e.account_id == account_id).map(QueuedEvent::envelope).collect()
    }

    /// Ids of the events acknowledged so far, in acknowledgement order.
    pub fn scx_acknowledged_event_ids(&self) -> Vec<String> {
        self.state().scx.acknowledged.clone()
    }

    /// Ends the visibility timeout of every delivered, unacknowledged event now, as if it had
    /// run out (for tests that should not wait 5 minutes). How many events it ended.
    pub fn scx_expire_visibility(&self) -> usize {
        let mut st = self.state();
        let now = std::time::Instant::now();
        let mut n = 0;
        for e in st.scx.queue.iter_mut().filter(|e| e.invisible_until.is_some()) {
            e.invisible_until = Some(now);
            n += 1;
        }
        n
    }

    /// Every shipping notice answered 201, one per order and call, repeats included.
    pub fn scx_shipping_notices(&self) -> Vec<ScxShippingNotice> {
        self.state().scx.notices.clone()
    }

    /// Packages of shipping notices whose tracking number an earlier notice had already
    /// reported for the same order (a repeat of a notice, e.g. after a lost response).
    pub fn scx_duplicate_shipping_notices(&self) -> u64 {
        self.state().scx.duplicate_notices
    }

    /// The bodies of the seller's order calls answered 2xx, as received, for `operation`:
    /// `"shipping"`, `"accept"`, `"payment"`, `"cancellation-accept"` or `"cancellation-deny"`.
    pub fn scx_request_bodies(&self, operation: &str) -> Vec<Value> {
        self.state().scx.accepted_bodies.get(operation).cloned().unwrap_or_default()
    }
}

/// A summary of an order without buyer data (control API).
pub(crate) fn summary(o: &ScxOrder) -> Value {
    json!({
        "accountId": o.account_id,
        "channel": o.key.channel,
        "sellerId": o.key.seller_id,
        "orderId": o.key.order_id,
        "orderStatus": o.status.as_str(),
        "hasAddress": o.has_address,
        "sellerAccepted": o.seller_accepted,
        "orderAcceptUntil": o.accept_until.map(events::wire_time),
        "lastChangedAt": events::wire_time(o.last_changed),
        "lines": o.lines.iter().map(|l| json!({
            "orderItemId": l.id,
            "type": l.kind.as_str(),
            "itemStatus": l.status.as_str(),
            "paid": l.paid,
            "quantity": l.quantity,
            "shipped": l.shipped,
            "cancelled": l.cancelled,
            "returned": l.returned,
        })).collect::<Vec<_>>(),
    })
}
