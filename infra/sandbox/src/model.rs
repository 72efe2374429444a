//! The sandbox's state: sellers, orders, tokens, confirmations, notification destinations
//! and subscriptions, and counters.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::{oldest_visible, SandboxConfig};
use crate::delivery::Delivery;
use crate::fake;
use crate::fault::{Faults, Malformation};
use crate::notifications::{Destination, Subscription};
use crate::ratelimit::Buckets;
use crate::rng::Rng;
use crate::scx::ScxState;

/// What a seller needs to call the sandbox, as a real seller would get from Seller Central.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SellerCredentials {
    pub seller_id: String,
    pub client_id: String,
    pub client_secret: String,
    pub refresh_token: String,
    pub marketplace_id: String,
}

/// An order to place; an empty `items` list gets random catalog items.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewOrder {
    /// `true`: starts `PENDING` (payment not authorized: no buyer, address or prices yet).
    #[serde(default)]
    pub pending: bool,
    #[serde(default)]
    pub items: Vec<NewItem>,
    /// A pre-order: starts `PENDING_AVAILABILITY` (release date in the future, payment not
    /// authorized) whatever `pending` says, and passes into `PENDING` with
    /// [`crate::Sandbox::begin_payment_authorization`].
    #[serde(default, alias = "preOrder")]
    pub preorder: bool,
    /// Fulfilled by Amazon (FBA/AFN): read-only for the seller (no shipment confirmation, no
    /// packages), and Amazon withholds the buyer's e-mail and phone.
    #[serde(default, alias = "fulfilledByAmazon")]
    pub fulfilled_by_amazon: bool,
}

impl NewOrder {
    pub fn pending(items: Vec<NewItem>) -> Self {
        Self { pending: true, items, preorder: false, fulfilled_by_amazon: false }
    }

    pub fn released(items: Vec<NewItem>) -> Self {
        Self { pending: false, items, preorder: false, fulfilled_by_amazon: false }
    }

    /// A pre-order (see the `preorder` field).
    pub fn preorder(items: Vec<NewItem>) -> Self {
        Self { pending: true, items, preorder: true, fulfilled_by_amazon: false }
    }

    /// The same order, fulfilled by Amazon instead of the seller.
    pub fn fulfilled_by_amazon(self) -> Self {
        Self { fulfilled_by_amazon: true, ..self }
    }

    fn initial_status(&self) -> Status {
        if self.preorder {
            Status::PendingAvailability
        } else if self.pending {
            Status::Pending
        } else {
            Status::Unshipped
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewItem {
    pub sku: String,
    pub quantity: u32,
    /// Unit price in minor units of the configured currency.
    #[serde(alias = "unitPriceCents")]
    pub unit_price_cents: i64,
}

impl NewItem {
    pub fn new(sku: impl Into<String>, quantity: u32, unit_price_cents: i64) -> Self {
        Self { sku: sku.into(), quantity, unit_price_cents }
    }
}

/// One accepted `confirmShipment` call (idempotent repeats are not recorded again).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Confirmation {
    pub order_id: String,
    pub marketplace_id: String,
    pub package_reference_id: String,
    pub carrier_code: String,
    pub carrier_name: Option<String>,
    pub shipping_method: Option<String>,
    pub tracking_number: String,
    pub ship_date: String,
    /// `(orderItemId, quantity)`, in request order.
    pub items: Vec<(String, u32)>,
    pub received_at: DateTime<Utc>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Status {
    PendingAvailability,
    Pending,
    Unshipped,
    PartiallyShipped,
    Shipped,
    Cancelled,
    Unfulfillable,
}

impl Status {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Status::PendingAvailability => "PENDING_AVAILABILITY",
            Status::Pending => "PENDING",
            Status::Unshipped => "UNSHIPPED",
            Status::PartiallyShipped => "PARTIALLY_SHIPPED",
            Status::Shipped => "SHIPPED",
            Status::Cancelled => "CANCELLED",
            Status::Unfulfillable => "UNFULFILLABLE",
        }
    }

    /// Payment not yet authorized: Amazon withholds buyer, address and money.
    pub(crate) fn is_pending(self) -> bool {
        matches!(self, Status::PendingAvailability | Status::Pending)
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        [
            Status::PendingAvailability,
            Status::Pending,
            Status::Unshipped,
            Status::PartiallyShipped,
            Status::Shipped,
            Status::Cancelled,
            Status::Unfulfillable,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }
}

/// Who ships the order: the seller (FBM, `MFN`) or Amazon (FBA, `AFN`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Channel {
    Merchant,
    Amazon,
}

impl Channel {
    /// As `fulfilledBy` spells it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Channel::Merchant => "MERCHANT",
            Channel::Amazon => "AMAZON",
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Item {
    pub id: String,
    pub sku: String,
    pub title: String,
    pub asin: String,
    pub quantity: u32,
    pub unit_cents: i64,
    pub shipped: u32,
}

/// Personal data of an order's buyer; never logged.
#[derive(Clone, Debug)]
pub(crate) struct Buyer {
    pub name: String,
    pub email: String,
    pub company: Option<String>,
    pub address_line1: String,
    pub address_line2: Option<String>,
    pub city: String,
    pub postal_code: String,
    pub state_or_region: Option<String>,
    pub country_code: String,
    pub phone: String,
}

#[derive(Clone, Debug)]
pub(crate) struct Package {
    pub reference_id: String,
    pub created: DateTime<Utc>,
    pub carrier: String,
    pub shipping_service: Option<String>,
    pub tracking_number: String,
    pub ship_time: DateTime<Utc>,
    pub items: Vec<(String, u32)>,
}

#[derive(Clone, Debug)]
pub(crate) struct Order {
    pub id: String,
    pub seller_id: String,
    pub marketplace_id: String,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub status: Status,
    /// Payment authorized at some point (also if cancelled since): buyer, prices and
    /// payment are visible from then on.
    pub released: bool,
    pub channel: Channel,
    pub preorder: bool,
    pub items: Vec<Item>,
    pub buyer: Buyer,
    pub packages: Vec<Package>,
    /// The generator has already decided this order's fate (release/cancel).
    pub settled: bool,
    /// Served broken (fault injection); never released or cancelled by the generator.
    pub malformed: Option<Malformation>,
}

impl Order {
    pub(crate) fn total_cents(&self) -> i64 {
        self.items.iter().map(|i| i.unit_cents * i64::from(i.quantity)).sum()
    }

    /// Merchant-fulfilled: the seller ships, and sees what shipping needs.
    pub(crate) fn is_fbm(&self) -> bool {
        self.channel == Channel::Merchant
    }
}

/// What an access token was granted for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Grant {
    /// `refresh_token` grant: acting for the seller, for every seller operation.
    Seller,
    /// `client_credentials` grant with the Notifications API scope: acting as the
    /// application itself, for grantless operations only.
    Grantless,
}

pub(crate) struct IssuedToken {
    /// The seller whose refresh token was exchanged, or whose application's client
    /// credentials were (each simulated seller has an application of its own).
    pub seller_id: String,
    pub expires: Instant,
    pub grant: Grant,
}

pub(crate) struct State {
    pub config: SandboxConfig,
    pub sellers: Vec<SellerCredentials>,
    pub orders: Vec<Order>,
    index: HashMap<String, usize>,
    pub tokens: HashMap<String, IssuedToken>,
    pub confirmations: Vec<Confirmation>,
    /// Raw bodies of the `confirmShipment` requests answered 204, repeats included.
    pub confirmation_bodies: Vec<serde_json::Value>,
    pub duplicate_confirmations: u64,
    request_counts: HashMap<String, u64>,
    /// Order ids, items and buyers.
    pub order_rng: Rng,
    /// Access tokens and request ids.
    pub id_rng: Rng,
    /// Generator decisions.
    pub gen_rng: Rng,
    pub buckets: Buckets,
    pub next_generated_at: Option<DateTime<Utc>>,
    /// Fault injection: configuration, streams and counters.
    pub faults: Faults,
    /// Notification destinations of every application, in creation order.
    pub destinations: Vec<Destination>,
    /// Notification subscriptions of every application and seller, in creation order.
    pub subscriptions: Vec<Subscription>,
    /// Destination, subscription and notification ids.
    pub notification_rng: Rng,
    /// Notifications on their way out, shared with the background delivery.
    pub delivery: Arc<Delivery>,
    /// The SCX seller API's accounts, orders, event queues and what sellers sent.
    pub scx: ScxState,
}

impl State {
    pub(crate) fn new(config: SandboxConfig) -> Self {
        let seed = config.seed;
        let faults = Faults::new(config.faults.clone());
        Self {
            config,
            sellers: Vec::new(),
            orders: Vec::new(),
            index: HashMap::new(),
            tokens: HashMap::new(),
            confirmations: Vec::new(),
            confirmation_bodies: Vec::new(),
            duplicate_confirmations: 0,
            request_counts: HashMap::new(),
            order_rng: Rng::stream(seed, 1),
            id_rng: Rng::stream(seed, 2),
            gen_rng: Rng::stream(seed, 3),
            buckets: Buckets::default(),
            next_generated_at: None,
            faults,
            destinations: Vec::new(),
            subscriptions: Vec::new(),
            notification_rng: Rng::stream(seed, 4),
            delivery: Arc::new(Delivery::new()),
            scx: ScxState::new(seed),
        }
    }

    pub(crate) fn add_seller(&mut self) -> SellerCredentials {
        let n = self.sellers.len() + 1;
        let creds = SellerCredentials {
            seller_id: format!("SANDBOXSELLER{n}"),
            client_id: format!("amzn1.application-oa2-client.sandbox{n}"),
            client_secret: format!("amzn1.oa2-cs.v1.sandbox{n}-{:016x}", self.config.seed),
            refresh_token: format!("Atzr|IwEBIsandbox-refresh-{n}"),
            marketplace_id: self.config.marketplace_id.clone(),
        };
        self.sellers.push(creds.clone());
        creds
    }

    pub(crate) fn seller(&self, seller_id: &str) -> Option<&SellerCredentials> {
        self.sellers.iter().find(|s| s.seller_id == seller_id)
    }

    /// The `ApplicationId` of notifications to the application with `client_id`, shaped like
    /// Amazon's `amzn1.sellerapps.app.<uuid>` and stable per seed and seller.
    pub(crate) fn application_id(&self, client_id: &str) -> String {
        let n = self.sellers.iter().position(|s| s.client_id == client_id);
        let mut rng = Rng::stream(self.config.seed, n.map_or(u64::MAX, |n| 1000 + n as u64));
        format!("amzn1.sellerapps.app.{}", fake::uuid(&mut rng))
    }

    pub(crate) fn count(&mut self, operation: &str) {
        *self.request_counts.entry(operation.to_string()).or_default() += 1;
    }

    pub(crate) fn request_count(&self, operation: &str) -> u64 {
        self.request_counts.get(operation).copied().unwrap_or(0)
    }

    pub(crate) fn order(&self, id: &str) -> Option<&Order> {
        self.index.get(id).map(|&i| &self.orders[i])
    }

    pub(crate) fn order_mut(&mut self, id: &str) -> Option<&mut Order> {
        self.index.get(id).map(|&i| &mut self.orders[i])
    }

    /// The order if it exists and belongs to `seller_id` (others' orders look nonexistent).
    pub(crate) fn seller_order(&self, seller_id: &str, id: &str) -> Option<&Order> {
        self.order(id).filter(|o| o.seller_id == seller_id)
    }

    /// [`State::seller_order`], if the Orders API still shows it at `now` (see
    /// [`crate::config::oldest_visible`]).
    pub(crate) fn visible_order(&self, seller_id: &str, id: &str, now: DateTime<Utc>) -> Option<&Order> {
        self.seller_order(seller_id, id).filter(|o| o.created >= oldest_visible(&o.marketplace_id, now))
    }

    /// Places an order. Panics on an unknown seller or a zero quantity: both are test bugs.
    pub(crate) fn create_order(&mut self, seller_id: &str, new: NewOrder, created: DateTime<Utc>) -> String {
        let marketplace_id = self
            .seller(seller_id)
            .unwrap_or_else(|| panic!("unknown seller {seller_id}"))
            .marketplace_id
            .clone();
        assert!(new.items.iter().all(|i| i.quantity > 0), "order item quantities must be positive");
        let id = loop {
            let id = fake::order_id(&mut self.order_rng);
            if !self.index.contains_key(&id) {
                break id;
            }
        };
        let status = new.initial_status();
        let wanted = if new.items.is_empty() { fake::random_items(&mut self.order_rng) } else { new.items };
        let mut items: Vec<Item> = Vec::with_capacity(wanted.len());
        for w in wanted {
            let item_id = loop {
                let item_id = fake::order_item_id(&mut self.order_rng);
                if items.iter().all(|i| i.id != item_id) {
                    break item_id;
                }
            };
            items.push(Item {
                id: item_id,
                title: fake::title(&w.sku),
                asin: fake::asin(&w.sku),
                sku: w.sku,
                quantity: w.quantity,
                unit_cents: w.unit_price_cents,
                shipped: 0,
            });
        }
        let buyer = fake::buyer(&mut self.order_rng, &marketplace_id);
        let order = Order {
            id: id.clone(),
            seller_id: seller_id.to_string(),
            marketplace_id,
            created,
            updated: created,
            status,
            released: !status.is_pending(),
            channel: if new.fulfilled_by_amazon { Channel::Amazon } else { Channel::Merchant },
            preorder: new.preorder,
            items,
            buyer,
            packages: Vec::new(),
            settled: false,
            malformed: self.faults.malformation(status.is_pending()),
        };
        let malformed = order.malformed.is_some();
        self.index.insert(id.clone(), self.orders.len());
        self.orders.push(order);
        tracing::info!(order_id = %id, seller_id, status = status.as_str(), malformed, "order placed");
        self.order_changed(&id);
        id
    }

    /// A pre-order's payment authorization begins: `PENDING_AVAILABILITY` -> `PENDING`.
    pub(crate) fn begin_authorization(&mut self, id: &str, now: DateTime<Utc>) -> bool {
        let Some(order) = self.order_mut(id) else {
            return false;
        };
        if order.status != Status::PendingAvailability {
            return false;
        }
        order.status = Status::Pending;
        order.updated = now;
        tracing::info!(order_id = %id, "payment authorization begun");
        self.order_changed(id);
        true
    }

    /// Payment authorized: `PENDING` -> `UNSHIPPED`. A pre-order has to pass into `PENDING`
    /// first, as Amazon documents it.
    pub(crate) fn release(&mut self, id: &str, now: DateTime<Utc>) -> bool {
        let Some(order) = self.order_mut(id) else {
            return false;
        };
        if order.status != Status::Pending {
            return false;
        }
        order.status = Status::Unshipped;
        order.released = true;
        order.updated = now;
        tracing::info!(order_id = %id, "payment released");
        self.order_changed(id);
        true
    }

    pub(crate) fn repair(&mut self, id: &str, now: DateTime<Utc>) -> bool {
        let Some(order) = self.order_mut(id) else {
            return false;
        };
        if order.malformed.take().is_none() {
            return false;
        }
        order.updated = now;
        tracing::info!(order_id = %id, "malformed order repaired");
        true
    }

    pub(crate) fn cancel(&mut self, id: &str, now: DateTime<Utc>) -> bool {
        let Some(order) = self.order_mut(id) else {
            return false;
        };
        if matches!(order.status, Status::Shipped | Status::Cancelled) {
            return false;
        }
        order.status = Status::Cancelled;
        order.updated = now;
        tracing::info!(order_id = %id, "order cancelled");
        self.order_changed(id);
        true
    }

    /// Every buyer value that could reach a client, for no-PII-in-logs assertions.
    pub(crate) fn buyer_field_values(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for o in &self.orders {
            let b = &o.buyer;
            let values = [
                Some(&b.name),
                Some(&b.email),
                b.company.as_ref(),
                Some(&b.address_line1),
                b.address_line2.as_ref(),
                Some(&b.phone),
            ];
            for v in values.into_iter().flatten() {
                if !out.contains(v) {
                    out.push(v.clone());
                }
            }
        }
        self.scx.buyer_field_values(&mut out);
        out
    }
}
