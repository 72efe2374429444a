//! Sales orders and their status machine.
//!
//! ```text
//!   Pending ──release──▶ Deliverable ──confirm part──▶ PartiallyShipped ──confirm rest──▶ Shipped
//!      │                    │   └──────────────confirm all─────────────────────────────▶ Shipped
//!      └──cancel──▶ Cancelled ◀──cancel──┘
//! ```
//! A Pending order has no payment and no customer by construction; every transition is a method
//! that returns `Result` and leaves the order untouched when it refuses.

use super::{
    AccountId, Currency, Customer, Marketplace, MarketplaceOrderId, Money, OrderItemId, OrderKey, Package,
    PackageId, ShipmentRequest,
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status")]
pub enum OrderState {
    Pending,
    Deliverable { payment: Payment, customer: Customer },
    PartiallyShipped { payment: Payment, customer: Customer },
    Shipped { payment: Payment, customer: Customer },
    Cancelled { payment: Option<Payment>, customer: Option<Customer> },
}

impl OrderState {
    pub fn status(&self) -> OrderStatus {
        match self {
            OrderState::Pending => OrderStatus::Pending,
            OrderState::Deliverable { .. } => OrderStatus::Deliverable,
            OrderState::PartiallyShipped { .. } => OrderStatus::PartiallyShipped,
            OrderState::Shipped { .. } => OrderStatus::Shipped,
            OrderState::Cancelled { .. } => OrderStatus::Cancelled,
        }
    }
}

/// One line of an order: an item and how many of it were ordered, recorded as shipped by the
/// merchant, and confirmed as shipped to the marketplace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    pub item_id: OrderItemId,
    pub sku: Option<String>,
    pub title: Option<String>,
    pub quantity: u32,
    pub unit_price: Option<Money>,
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
        quantity: u32,
        unit_price: Option<Money>,
    ) -> Self {
        Self { item_id, sku, title, quantity, unit_price, quantity_recorded: 0, quantity_confirmed: 0 }
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
    pub currency: Currency,
    pub total: Option<Money>,
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
    /// Payment and customer, when the marketplace has released the order and sent both.
    pub fn release_data(&self) -> Option<(Payment, Customer)> {
        if !self.state.is_released() {
            return None;
        }
        let amount = self.paid_amount.or(self.total)?;
        let customer = self.customer.clone()?;
        Some((Payment { amount, paid_at: self.updated_at }, customer))
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
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesOrder {
    pub key: OrderKey,
    pub sales_channel: String,
    pub created_at: DateTime<Utc>,
    /// The marketplace's last-change time of the data we hold; older data never overwrites newer.
    pub marketplace_updated_at: DateTime<Utc>,
    pub imported_at: DateTime<Utc>,
    pub currency: Currency,
    pub total: Option<Money>,
    pub lines: Vec<OrderLine>,
    pub state: OrderState,
    /// Packages recorded so far; the next package is numbered one higher.
    #[serde(default)]
    pub packages_recorded: u32,
    /// Optimistic-concurrency version, owned by the order store.
    #[serde(default)]
    pub version: u64,
}

impl SalesOrder {
    /// A new sales order from a marketplace order seen for the first time. A released order that
    /// arrives with payment and customer is Deliverable at once; one that is released but lacks
    /// them is stored Pending so the status check fetches them. Any customer or payment data the
    /// marketplace sent with a pending order is dropped here.
    pub fn from_marketplace(
        marketplace: Marketplace,
        account_id: AccountId,
        order: &MarketplaceOrder,
        now: DateTime<Utc>,
    ) -> Self {
        let state = match order.state {
            MarketplaceOrderState::Cancelled => OrderState::Cancelled { payment: None, customer: None },
            _ => match order.release_data() {
                Some((payment, customer)) => OrderState::Deliverable { payment, customer },
                None => OrderState::Pending,
            },
        };
        Self {
            key: OrderKey::new(marketplace, account_id, order.id.clone()),
            sales_channel: order.sales_channel.clone(),
            created_at: order.created_at,
            marketplace_updated_at: order.updated_at,
            imported_at: now,
            currency: order.currency,
            total: order.total,
            lines: order.lines.clone(),
            state,
            packages_recorded: 0,
            version: 0,
        }
    }

    pub fn status(&self) -> OrderStatus {
        self.state.status()
    }

    pub fn customer(&self) -> Option<&Customer> {
        match &self.state {
            OrderState::Pending => None,
            OrderState::Deliverable { customer, .. }
            | OrderState::PartiallyShipped { customer, .. }
            | OrderState::Shipped { customer, .. } => Some(customer),
            OrderState::Cancelled { customer, .. } => customer.as_ref(),
        }
    }

    pub fn payment(&self) -> Option<&Payment> {
        match &self.state {
            OrderState::Pending => None,
            OrderState::Deliverable { payment, .. }
            | OrderState::PartiallyShipped { payment, .. }
            | OrderState::Shipped { payment, .. } => Some(payment),
            OrderState::Cancelled { payment, .. } => payment.as_ref(),
        }
    }

    fn refuse(&self, action: &'static str) -> TransitionError {
        TransitionError::NotAllowed { order: self.key.clone(), from: self.status(), action }
    }

    /// Pending → Deliverable, once the marketplace released the payment.
    pub fn release(&mut self, payment: Payment, customer: Customer) -> Result<(), TransitionError> {
        match self.state {
            OrderState::Pending => {
                self.state = OrderState::Deliverable { payment, customer };
                Ok(())
            }
            _ => Err(self.refuse("release payment")),
        }
    }

    /// Pending or Deliverable → Cancelled. Once goods have been confirmed as shipped, the
    /// marketplace handles returns instead.
    pub fn cancel(&mut self) -> Result<(), TransitionError> {
        let state = std::mem::replace(&mut self.state, OrderState::Pending);
        self.state = match state {
            OrderState::Pending => OrderState::Cancelled { payment: None, customer: None },
            OrderState::Deliverable { payment, customer } => {
                OrderState::Cancelled { payment: Some(payment), customer: Some(customer) }
            }
            other => {
                self.state = other;
                return Err(self.refuse("cancel"));
            }
        };
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
        Ok(Package::recorded(self.key.clone(), id, request, now))
    }

    /// The marketplace accepted a package: Deliverable/PartiallyShipped → PartiallyShipped, or
    /// Shipped once every ordered unit is confirmed.
    pub fn confirm_package(&mut self, package: &Package) -> Result<(), TransitionError> {
        if package.order != self.key {
            return Err(TransitionError::ForeignPackage { order: self.key.clone(), package: package.id });
        }
        if !matches!(self.status(), OrderStatus::Deliverable | OrderStatus::PartiallyShipped) {
            return Err(self.refuse("confirm a shipment"));
        }
        let mut lines = self.lines.clone();
        for shipped in &package.lines {
            let line = lines.iter_mut().find(|l| l.item_id == shipped.item_id).ok_or_else(|| {
                TransitionError::UnknownItem { order: self.key.clone(), item: shipped.item_id.clone() }
            })?;
            line.quantity_confirmed = (line.quantity_confirmed + shipped.quantity).min(line.quantity);
        }
        self.lines = lines;
        let complete = self.lines.iter().all(|l| l.quantity_confirmed >= l.quantity);
        let state = std::mem::replace(&mut self.state, OrderState::Pending);
        self.state = match state {
            OrderState::Deliverable { payment, customer }
            | OrderState::PartiallyShipped { payment, customer } => {
                if complete {
                    OrderState::Shipped { payment, customer }
                } else {
                    OrderState::PartiallyShipped { payment, customer }
                }
            }
            other => other,
        };
        Ok(())
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
