//! SCX seller accounts, orders in channels, and what sellers sent to the channels.
//!
//! The order model is JTL's channel order as the Channel API takes it (and the seller API
//! passes it on in its events): lines with their own ids, item and payment status, amounts as
//! decimal strings in the order's currency.

use std::collections::HashMap;
use std::time::Instant;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::NewItem;

/// What a seller account needs to call the SCX seller API, and which channels it sells on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScxSellerCredentials {
    /// The sandbox's name for the seller account (`SCXACCOUNT1`, ...). Not on the wire: the
    /// API knows an account by its refresh token, and each channel by its `sellerId`.
    pub account_id: String,
    /// The refresh token to exchange at `POST /v1/auth` (form field `refreshToken`).
    pub refresh_token: String,
    /// The channels the account is signed up to, each with the `sellerId` the channel gave it.
    pub channels: Vec<ScxChannelAccount>,
}

impl ScxSellerCredentials {
    /// The `sellerId` the account has on `channel`.
    pub fn seller_id(&self, channel: &str) -> Option<&str> {
        self.channels.iter().find(|c| c.channel == channel).map(|c| c.seller_id.as_str())
    }
}

/// One channel of a seller account: JTL's "unique Channel name" and the `sellerId` the
/// channel generated at sign-up ("A unique Id identify a Seller on a specific SalesChannel").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScxChannelAccount {
    pub channel: String,
    pub seller_id: String,
}

/// An SCX order's identity: `orderId` is unique only per `sellerId` (hence per account and
/// channel), so two channels, or two accounts on one channel, can have the same `orderId`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScxOrderKey {
    pub channel: String,
    pub seller_id: String,
    pub order_id: String,
}

/// The status a channel creates an order with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ScxInitialStatus {
    /// The seller must accept (or refuse) it before `orderAcceptUntil`; no address needed.
    Unacked,
    /// Not yet shippable ("can be used for stock reservation"); no address needed.
    #[default]
    Created,
    /// Shippable at once; always created with an address.
    Accepted,
}

/// An order a channel places; an empty `items` list gets random catalog items.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewScxOrder {
    /// Defaults to the channel's next number (`1000001`, `1000002`, ... for every `sellerId`,
    /// so the same ids come up in every channel, as `orderId` is only unique per `sellerId`).
    #[serde(default)]
    pub order_id: Option<String>,
    #[serde(default)]
    pub status: ScxInitialStatus,
    /// Billing and shipping address (and the buyer's e-mail) in the new-order event already;
    /// otherwise they follow in an address-update event. Always true for `Accepted`.
    #[serde(default)]
    pub with_address: bool,
    /// Every line's `itemPaymentStatus` is `PAID` from the start (otherwise `PENDING`).
    #[serde(default)]
    pub paid: bool,
    #[serde(default)]
    pub items: Vec<NewItem>,
    /// Adds a `SHIPPING` line with this gross price (minor units).
    #[serde(default)]
    pub shipping_cents: Option<i64>,
    /// One line per unit, each of quantity 1, as channels of marketplaces that sell per unit
    /// (OTTO's position items) list them; cancelling a unit is then cancelling a line.
    #[serde(default)]
    pub unit_lines: bool,
    /// `orderAcceptUntil` of an `UNACKED` order; default purchase time + the configured
    /// [`crate::ScxConfig::accept_window`].
    #[serde(default)]
    pub accept_until: Option<DateTime<Utc>>,
}

impl NewScxOrder {
    /// `CREATED`, without address, payment pending.
    pub fn created(items: Vec<NewItem>) -> Self {
        Self { items, ..Self::default() }
    }

    /// `UNACKED`, without address, payment pending.
    pub fn unacked(items: Vec<NewItem>) -> Self {
        Self { status: ScxInitialStatus::Unacked, items, ..Self::default() }
    }

    /// `ACCEPTED` with address, payment pending.
    pub fn accepted(items: Vec<NewItem>) -> Self {
        Self { status: ScxInitialStatus::Accepted, with_address: true, items, ..Self::default() }
    }

    pub fn with_address(mut self) -> Self {
        self.with_address = true;
        self
    }

    pub fn paid(mut self) -> Self {
        self.paid = true;
        self
    }

    pub fn unit_lines(mut self) -> Self {
        self.unit_lines = true;
        self
    }

    pub fn shipping(mut self, cents: i64) -> Self {
        self.shipping_cents = Some(cents);
        self
    }

    pub fn order_id(mut self, id: impl Into<String>) -> Self {
        self.order_id = Some(id.into());
        self
    }

    pub fn accept_until(mut self, until: DateTime<Utc>) -> Self {
        self.accept_until = Some(until);
        self
    }
}

/// Who cancelled: `CANCELED_BY_BUYER` ("by the buyer or the marketplace") or
/// `CANCELED_BY_SELLER`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ScxCancelledBy {
    Buyer,
    Seller,
}

/// JTL's `CancelReason`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ScxCancelReason {
    #[default]
    BuyerCancelled,
    UndeliverableToShippingAddress,
    UndeliverableByCarrier,
    OutOfStock,
    DelayedInventory,
    PricingError,
    Other,
}

impl ScxCancelReason {
    pub(crate) const ALL: [ScxCancelReason; 7] = [
        ScxCancelReason::BuyerCancelled,
        ScxCancelReason::UndeliverableToShippingAddress,
        ScxCancelReason::UndeliverableByCarrier,
        ScxCancelReason::OutOfStock,
        ScxCancelReason::DelayedInventory,
        ScxCancelReason::PricingError,
        ScxCancelReason::Other,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ScxCancelReason::BuyerCancelled => "BUYER_CANCELLED",
            ScxCancelReason::UndeliverableToShippingAddress => "UNDELIVERABLE_TO_SHIPPING_ADDRESS",
            ScxCancelReason::UndeliverableByCarrier => "UNDELIVERABLE_BY_CARRIER",
            ScxCancelReason::OutOfStock => "OUT_OF_STOCK",
            ScxCancelReason::DelayedInventory => "DELAYED_INVENTORY",
            ScxCancelReason::PricingError => "PRICING_ERROR",
            ScxCancelReason::Other => "OTHER",
        }
    }
}

/// JTL's `ReturnReason`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ScxReturnReason {
    #[default]
    NoReason,
    Defect,
    WrongItem,
    WrongSize,
    TooLate,
    BadQuality,
}

impl ScxReturnReason {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ScxReturnReason::NoReason => "NO_REASON",
            ScxReturnReason::Defect => "DEFECT",
            ScxReturnReason::WrongItem => "WRONG_ITEM",
            ScxReturnReason::WrongSize => "WRONG_SIZE",
            ScxReturnReason::TooLate => "TOO_LATE",
            ScxReturnReason::BadQuality => "BAD_QUALITY",
        }
    }
}

/// One order of one `PUT /v1/seller/order/shipping` call answered 201. Every call is
/// recorded, a repeat too: the seller API has no idempotency key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScxShippingNotice {
    pub account_id: String,
    pub order: ScxOrderKey,
    pub shipping_complete: bool,
    pub packages: Vec<ScxShippedPackage>,
    /// Some package's tracking number was already reported for this order by an earlier
    /// notice (see [`crate::Sandbox::scx_duplicate_shipping_notices`]).
    pub duplicate: bool,
    pub received_at: DateTime<Utc>,
    /// The `orderList` entry as received.
    pub body: Value,
}

/// One `shippingItems` entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScxShippedPackage {
    pub carrier: String,
    pub tracking_number: String,
    pub tracking_url: Option<String>,
    pub return_carrier: Option<String>,
    pub return_tracking_number: Option<String>,
    pub shipped_at: String,
    /// `(orderItemId, quantity)`, in request order.
    pub lines: Vec<(String, u32)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OrderStatus {
    Unacked,
    Created,
    Accepted,
    CanceledBySeller,
    CanceledByBuyer,
}

impl OrderStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Unacked => "UNACKED",
            OrderStatus::Created => "CREATED",
            OrderStatus::Accepted => "ACCEPTED",
            OrderStatus::CanceledBySeller => "CANCELED_BY_SELLER",
            OrderStatus::CanceledByBuyer => "CANCELED_BY_BUYER",
        }
    }

    pub(crate) fn is_cancelled(self) -> bool {
        matches!(self, OrderStatus::CanceledBySeller | OrderStatus::CanceledByBuyer)
    }

    pub(crate) fn cancelled_by(by: ScxCancelledBy) -> Self {
        match by {
            ScxCancelledBy::Buyer => OrderStatus::CanceledByBuyer,
            ScxCancelledBy::Seller => OrderStatus::CanceledBySeller,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ItemStatus {
    Unshipped,
    Shipped,
    CanceledBySeller,
    CanceledByBuyer,
}

impl ItemStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ItemStatus::Unshipped => "UNSHIPPED",
            ItemStatus::Shipped => "SHIPPED",
            ItemStatus::CanceledBySeller => "CANCELED_BY_SELLER",
            ItemStatus::CanceledByBuyer => "CANCELED_BY_BUYER",
        }
    }

    pub(crate) fn cancelled_by(by: ScxCancelledBy) -> Self {
        match by {
            ScxCancelledBy::Buyer => ItemStatus::CanceledByBuyer,
            ScxCancelledBy::Seller => ItemStatus::CanceledBySeller,
        }
    }
}

/// An order line's `type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LineKind {
    Item,
    Shipping,
}

impl LineKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            LineKind::Item => "ITEM",
            LineKind::Shipping => "SHIPPING",
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Line {
    pub id: String,
    pub kind: LineKind,
    pub sku: Option<String>,
    pub title: String,
    pub channel_offer_id: Option<String>,
    pub quantity: u32,
    /// Gross unit price in minor units.
    pub unit_cents: i64,
    pub status: ItemStatus,
    pub paid: bool,
    pub shipped: u32,
    pub cancelled: u32,
    pub returned: u32,
}

impl Line {
    /// Units neither shipped nor cancelled.
    pub(crate) fn open(&self) -> u32 {
        self.quantity.saturating_sub(self.shipped + self.cancelled)
    }
}

/// A buyer's address and e-mail; never logged.
#[derive(Clone, Debug)]
pub(crate) struct ScxBuyer {
    pub first_name: String,
    pub last_name: String,
    pub company: Option<String>,
    pub street: String,
    pub house_number: String,
    pub addition: Option<String>,
    pub postcode: String,
    pub city: String,
    pub country: String,
    pub phone: Option<String>,
    pub email: String,
}

#[derive(Clone, Debug)]
pub(crate) struct ScxOrder {
    pub key: ScxOrderKey,
    pub account_id: String,
    pub status: OrderStatus,
    pub purchased: DateTime<Utc>,
    pub last_changed: DateTime<Utc>,
    pub accept_until: Option<DateTime<Utc>>,
    /// The seller's answer to `PUT /v1/seller/order/accept` (`UNACKED` orders only).
    pub seller_accepted: Option<bool>,
    pub lines: Vec<Line>,
    pub buyer: ScxBuyer,
    /// The channel has sent the address (in the new-order event or an address update).
    pub has_address: bool,
    pub payment_method: &'static str,
    /// Quantities rendered `"2.0"` rather than `"2"` (JTL's own examples use both).
    pub decimal_quantities: bool,
    /// Units shipped under each tracking number: `tracking number -> (orderItemId, units)`.
    pub tracking: HashMap<String, Vec<(String, u32)>>,
    /// Served broken in every payload showing the whole order (drawn when it is placed).
    pub malformed: Option<crate::fault::Malformation>,
}

impl ScxOrder {
    pub(crate) fn line(&self, id: &str) -> Option<&Line> {
        self.lines.iter().find(|l| l.id == id)
    }

    pub(crate) fn line_mut(&mut self, id: &str) -> Option<&mut Line> {
        self.lines.iter_mut().find(|l| l.id == id)
    }

    pub(crate) fn quantity(&self, n: u32) -> String {
        if self.decimal_quantities {
            format!("{n}.0")
        } else {
            n.to_string()
        }
    }
}

/// A buyer's (or the marketplace's) request to cancel units, waiting for the seller's answer.
#[derive(Clone, Debug)]
pub(crate) struct CancellationRequest {
    pub id: String,
    pub key: ScxOrderKey,
    pub items: Vec<(String, u32)>,
    /// `Some(true)` accepted, `Some(false)` denied.
    pub answer: Option<bool>,
}

/// A session token `POST /v1/auth` issued.
pub(crate) struct ScxToken {
    pub account_id: String,
    pub expires: Instant,
}
