//! Sales orders and their status machine.
//!
//! ```text
//!   Pending ──release──▶ Deliverable ──confirm part──▶ PartiallyShipped ──confirm rest──▶ Shipped
//!      │                    │   └──────────────confirm all─────────────────────────────▶ Shipped
//!      └──cancel──▶ Cancelled ◀──cancel──┘
//! ```
//! A Pending order has no payment and no customer, and may have no prices, by construction; a
//! Deliverable one has all three. Every transition is a method that returns `Result` and leaves
//! the order untouched when it refuses.

use super::{
    AccountId, Currency, Customer, Marketplace, MarketplaceOrderId, Money, OrderItemId, OrderKey, Package,
    PackageId, Prices, ShipmentRequest,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum OrderStatus {
    Pending,
    Deliverable,
    PartiallyShipped,
    Shipped,
    Cancelled,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 5] = [
        OrderStatus::Pending,
        OrderStatus::Deliverable,
        OrderStatus::PartiallyShipped,
        OrderStatus::Shipped,
        OrderStatus::Cancelled,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            OrderStatus::Pending => "Pending",
            OrderStatus::Deliverable => "Deliverable",
            OrderStatus::PartiallyShipped => "PartiallyShipped",
            OrderStatus::Shipped => "Shipped",
            OrderStatus::Cancelled => "Cancelled",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str().eq_ignore_ascii_case(value))
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The payment the marketplace released for an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    pub amount: Money,
    /// When the marketplace reported the payment as released.
    pub paid_at: DateTime<Utc>,
}

/// What the marketplace hands over when it releases an order: its prices, the payment and the
/// buyer with the shipping address. An order ships only with all three.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    pub prices: Prices,
    pub payment: Payment,
    pub customer: Customer,
}

/// The order's status with the data that status guarantees. A Pending order has no payment and
/// no customer, and may have no prices yet (Amazon sends none before payment); every later
/// status but Cancelled carries the whole [`Release`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status")]
pub enum OrderState {
    Pending {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prices: Option<Prices>,
    },
    Deliverable(Release),
    PartiallyShipped(Release),
    Shipped(Release),
    Cancelled {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prices: Option<Prices>,
        payment: Option<Payment>,
        customer: Option<Customer>,
    },
}

impl OrderState {
    pub fn status(&self) -> OrderStatus {
        match self {
            OrderState::Pending { .. } => OrderStatus::Pending,
            OrderState::Deliverable(_) => OrderStatus::Deliverable,
            OrderState::PartiallyShipped(_) => OrderStatus::PartiallyShipped,
            OrderState::Shipped(_) => OrderStatus::Shipped,
            OrderState::Cancelled { .. } => OrderStatus::Cancelled,
        }
    }

    fn release(&self) -> Option<&Release> {
        match self {
            OrderState::Deliverable(r) | OrderState::PartiallyShipped(r) | OrderState::Shipped(r) => Some(r),
            OrderState::Pending { .. } | OrderState::Cancelled { .. } => None,
        }
    }
}

/// One line of an order: an item and how many of it were ordered, recorded as shipped by the
/// merchant, and confirmed as shipped to the marketplace. Prices live in [`Prices`], since a
/// Pending order may not have them yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    pub item_id: OrderItemId,
    pub sku: Option<String>,
    pub title: Option<String>,
    /// The marketplace's product id (Amazon: the ASIN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marketplace_product_id: Option<String>,
    pub quantity: u32,
    #[serde(default)]
    pub quantity_recorded: u32,
    #[serde(default)]
    pub quantity_confirmed: u32,
}

impl OrderLine {
    pub fn new(
        item_id: OrderItemId,
        sku: Option<String>,
        title: Option<String>,
        marketplace_product_id: Option<String>,
        quantity: u32,
    ) -> Self {
        Self {
            item_id,
            sku,
            title,
            marketplace_product_id,
            quantity,
            quantity_recorded: 0,
            quantity_confirmed: 0,
        }
    }

    fn unrecorded(&self) -> u32 {
        self.quantity.saturating_sub(self.quantity_recorded)
    }
}

/// An order as a marketplace currently reports it, already validated by the marketplace adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketplaceOrder {
    pub id: MarketplaceOrderId,
    /// The marketplace's sales channel, e.g. Amazon's `A1PA6795UKMFR9`.
    pub sales_channel: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub state: MarketplaceOrderState,
    pub lines: Vec<OrderLine>,
    /// The prices' currency, or before there are prices the sales channel's default currency
    /// when the adapter knows it. Never an amount.
    pub currency: Option<Currency>,
    /// None until the marketplace sends prices (Amazon: once the payment is released).
    pub prices: Option<Prices>,
    /// What the buyer paid, once the marketplace released the payment.
    pub paid_amount: Option<Money>,
    pub customer: Option<Customer>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarketplaceOrderState {
    /// Payment not yet released: must not ship.
    Pending,
    Released,
    PartiallyShipped,
    Shipped,
    Cancelled,
}

impl MarketplaceOrderState {
    pub fn is_released(&self) -> bool {
        matches!(
            self,
            MarketplaceOrderState::Released
                | MarketplaceOrderState::PartiallyShipped
                | MarketplaceOrderState::Shipped
        )
    }
}

impl MarketplaceOrder {
    /// Prices, payment and customer, when the marketplace has released the order and sent all
    /// of them. The payment is what the buyer paid, or the order's total when the marketplace
    /// doesn't itemise payments.
    pub fn release(&self) -> Option<Release> {
        if !self.state.is_released() {
            return None;
        }
        let prices = self.prices.clone()?;
        let customer = self.customer.clone()?;
        let amount = self.paid_amount.unwrap_or(prices.total);
        Some(Release { prices, payment: Payment { amount, paid_at: self.updated_at }, customer })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("order {order} is {from}: cannot {action}")]
    NotAllowed { order: OrderKey, from: OrderStatus, action: &'static str },
    #[error("order {order} has no item {item}")]
    UnknownItem { order: OrderKey, item: OrderItemId },
    #[error("order {order}, item {item}: {requested} to ship but only {remaining} not yet shipped")]
    QuantityExceeded { order: OrderKey, item: OrderItemId, requested: u32, remaining: u32 },
    #[error("order {order}: a package must hold at least one item with a positive quantity")]
    EmptyPackage { order: OrderKey },
    #[error("order {order}: package {package} does not belong to this order")]
    ForeignPackage { order: OrderKey, package: PackageId },
    #[error("order {order}: the release's prices don't fit the order: {reason}")]
    PricesDontFit { order: OrderKey, reason: String },
}

/// Something that happened to an order, kept in its history for the operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum OrderEvent {
    Imported {
        status: OrderStatus,
    },
    Released,
    Cancelled,
    PackageRecorded {
        package: u32,
    },
    PackageConfirmed {
        package: u32,
    },
    /// Buyer name, e-mail, address and phone removed after the retention period.
    BuyerDataErased,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub event: OrderEvent,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesOrder {
    pub key: OrderKey,
    pub sales_channel: String,
    pub created_at: DateTime<Utc>,
    /// The marketplace's last-change time of the data we hold; older data never overwrites newer.
    pub marketplace_updated_at: DateTime<Utc>,
    pub imported_at: DateTime<Utc>,
    /// The prices' currency once known; before that the sales channel's default, if known.
    pub currency: Option<Currency>,
    pub lines: Vec<OrderLine>,
    pub state: OrderState,
    /// Packages recorded so far; the next package is numbered one higher.
    #[serde(default)]
    pub packages_recorded: u32,
    #[serde(default)]
    pub history: Vec<HistoryEntry>,
    /// Optimistic-concurrency version, owned by the order store.
    #[serde(default)]
    pub version: u64,
}

impl SalesOrder {
    /// A new sales order from a marketplace order seen for the first time. A released order that
    /// arrives with prices, payment and customer is Deliverable at once; one that is released
    /// but lacks any of them is stored Pending so the status check fetches them. Customer and
    /// payment data the marketplace sent with a pending order are dropped here.
    pub fn from_marketplace(
        marketplace: Marketplace,
        account_id: AccountId,
        order: &MarketplaceOrder,
        now: DateTime<Utc>,
    ) -> Self {
        let state = match order.state {
            MarketplaceOrderState::Cancelled => {
                OrderState::Cancelled { prices: order.prices.clone(), payment: None, customer: None }
            }
            _ => match order.release() {
                Some(release) => OrderState::Deliverable(release),
                None => OrderState::Pending { prices: order.prices.clone() },
            },
        };
        let status = state.status();
        Self {
            key: OrderKey::new(marketplace, account_id, order.id.clone()),
            sales_channel: order.sales_channel.clone(),
            created_at: order.created_at,
            marketplace_updated_at: order.updated_at,
            imported_at: now,
            currency: order.prices.as_ref().map(Prices::currency).or(order.currency),
            lines: order.lines.clone(),
            state,
            packages_recorded: 0,
            history: vec![HistoryEntry { at: now, event: OrderEvent::Imported { status } }],
            version: 0,
        }
    }

    pub fn status(&self) -> OrderStatus {
        self.state.status()
    }

    pub fn customer(&self) -> Option<&Customer> {
        match &self.state {
            OrderState::Cancelled { customer, .. } => customer.as_ref(),
            state => state.release().map(|r| &r.customer),
        }
    }

    pub fn payment(&self) -> Option<&Payment> {
        match &self.state {
            OrderState::Cancelled { payment, .. } => payment.as_ref(),
            state => state.release().map(|r| &r.payment),
        }
    }

    /// None only for a Pending or Cancelled order the marketplace sent no prices for.
    pub fn prices(&self) -> Option<&Prices> {
        match &self.state {
            OrderState::Pending { prices } | OrderState::Cancelled { prices, .. } => prices.as_ref(),
            state => state.release().map(|r| &r.prices),
        }
    }

    fn refuse(&self, action: &'static str) -> TransitionError {
        TransitionError::NotAllowed { order: self.key.clone(), from: self.status(), action }
    }

    fn note(&mut self, at: DateTime<Utc>, event: OrderEvent) {
        self.history.push(HistoryEntry { at, event });
    }

    /// Pending → Deliverable, once the marketplace released the payment with prices and buyer.
    pub fn release(&mut self, release: Release, at: DateTime<Utc>) -> Result<(), TransitionError> {
        if !matches!(self.state, OrderState::Pending { .. }) {
            return Err(self.refuse("release payment"));
        }
        // Prices that name other lines than the order's would ship or bill the wrong goods.
        Prices::new(&self.lines, release.prices.total, release.prices.unit_prices.clone())
            .map_err(|e| TransitionError::PricesDontFit { order: self.key.clone(), reason: e.to_string() })?;
        self.currency = Some(release.prices.currency());
        self.state = OrderState::Deliverable(release);
        self.note(at, OrderEvent::Released);
        Ok(())
    }

    /// Pending or Deliverable → Cancelled. Once goods have been confirmed as shipped, the
    /// marketplace handles returns instead.
    pub fn cancel(&mut self, at: DateTime<Utc>) -> Result<(), TransitionError> {
        let cancelled = match &self.state {
            OrderState::Pending { prices } => {
                OrderState::Cancelled { prices: prices.clone(), payment: None, customer: None }
            }
            OrderState::Deliverable(r) => OrderState::Cancelled {
                prices: Some(r.prices.clone()),
                payment: Some(r.payment.clone()),
                customer: Some(r.customer.clone()),
            },
            _ => return Err(self.refuse("cancel")),
        };
        self.state = cancelled;
        self.note(at, OrderEvent::Cancelled);
        Ok(())
    }

    /// Records a package the merchant shipped; returns it numbered. Only Deliverable or
    /// PartiallyShipped orders ship, and never more than was ordered.
    pub fn record_package(
        &mut self,
        request: &ShipmentRequest,
        now: DateTime<Utc>,
    ) -> Result<Package, TransitionError> {
        if !matches!(self.status(), OrderStatus::Deliverable | OrderStatus::PartiallyShipped) {
            return Err(self.refuse("ship"));
        }
        if request.items.is_empty() || request.items.iter().any(|l| l.quantity == 0) {
            return Err(TransitionError::EmptyPackage { order: self.key.clone() });
        }
        let mut lines = self.lines.clone();
        for requested in &request.items {
            let line = lines.iter_mut().find(|l| l.item_id == requested.item_id).ok_or_else(|| {
                TransitionError::UnknownItem { order: self.key.clone(), item: requested.item_id.clone() }
            })?;
            if requested.quantity > line.unrecorded() {
                return Err(TransitionError::QuantityExceeded {
                    order: self.key.clone(),
                    item: requested.item_id.clone(),
                    requested: requested.quantity,
                    remaining: line.unrecorded(),
                });
            }
            line.quantity_recorded += requested.quantity;
        }
        let id = PackageId::new(self.packages_recorded + 1).expect("package numbers start at 1");
        self.lines = lines;
        self.packages_recorded += 1;
        self.note(now, OrderEvent::PackageRecorded { package: id.number() });
        Ok(Package::recorded(self.key.clone(), id, request, now))
    }

    /// The marketplace accepted a package: Deliverable/PartiallyShipped → PartiallyShipped, or
    /// Shipped once every ordered unit is confirmed.
    pub fn confirm_package(&mut self, package: &Package, at: DateTime<Utc>) -> Result<(), TransitionError> {
        if package.order != self.key {
            return Err(TransitionError::ForeignPackage { order: self.key.clone(), package: package.id });
        }
        let release = match &self.state {
            OrderState::Deliverable(r) | OrderState::PartiallyShipped(r) => r.clone(),
            _ => return Err(self.refuse("confirm a shipment")),
        };
        let mut lines = self.lines.clone();
        for shipped in &package.lines {
            let line = lines.iter_mut().find(|l| l.item_id == shipped.item_id).ok_or_else(|| {
                TransitionError::UnknownItem { order: self.key.clone(), item: shipped.item_id.clone() }
            })?;
            line.quantity_confirmed = (line.quantity_confirmed + shipped.quantity).min(line.quantity);
        }
        self.lines = lines;
        let complete = self.lines.iter().all(|l| l.quantity_confirmed >= l.quantity);
        self.state =
            if complete { OrderState::Shipped(release) } else { OrderState::PartiallyShipped(release) };
        self.note(at, OrderEvent::PackageConfirmed { package: package.id.number() });
        Ok(())
    }

    /// When the order reached Shipped or Cancelled: its buyer data is kept for the retention
    /// period from then on. None while it still moves.
    pub fn settled_at(&self) -> Option<DateTime<Utc>> {
        if !matches!(self.status(), OrderStatus::Shipped | OrderStatus::Cancelled) {
            return None;
        }
        let settling = self.history.iter().rev().find(|h| {
            matches!(
                h.event,
                OrderEvent::Cancelled | OrderEvent::PackageConfirmed { .. } | OrderEvent::Imported { .. }
            )
        });
        Some(settling.map_or(self.imported_at, |h| h.at))
    }

    /// Whether the order still holds a buyer's name, address, e-mail or phone.
    pub fn holds_buyer_data(&self) -> bool {
        self.customer().is_some_and(|c| !c.is_erased())
    }

    /// Erases the buyer's name, address, e-mail and phone of a Shipped or Cancelled order,
    /// keeping its business facts (lines, prices, payment, destination country), and notes it
    /// in the history. False when there was nothing to erase.
    pub fn erase_buyer_data(&mut self, at: DateTime<Utc>) -> Result<bool, TransitionError> {
        if self.settled_at().is_none() {
            return Err(self.refuse("erase buyer data"));
        }
        if !self.holds_buyer_data() {
            return Ok(false);
        }
        match &mut self.state {
            OrderState::Shipped(release) => release.customer = release.customer.erased(),
            OrderState::Cancelled { customer: Some(customer), .. } => *customer = customer.erased(),
            _ => return Ok(false),
        }
        self.note(at, OrderEvent::BuyerDataErased);
        Ok(true)
    }

    /// Notes that the marketplace reported a change at `updated_at`. Returns false when the
    /// report is not newer than what is stored, so stale data is never written over newer.
    pub fn observe_marketplace_update(&mut self, updated_at: DateTime<Utc>) -> bool {
        if updated_at <= self.marketplace_updated_at {
            return false;
        }
        self.marketplace_updated_at = updated_at;
        true
    }

    pub fn total_items(&self) -> u32 {
        self.lines.iter().map(|l| l.quantity).sum()
    }
}

#[cfg(test)]
#[path = "order_tests.rs"]
mod tests;
