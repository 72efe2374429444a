//! Sales orders and their status machine.
//!
//! ```text
//!   Pending ──release──▶ Deliverable ──confirm part──▶ PartiallyShipped ──confirm rest──▶ Shipped
//!      │                    │                             │ (rest cancelled) ───────────▶ Shipped
//!      └──cancel all──▶ Cancelled ◀──cancel all──┘
//! ```
//! The status is derived from the lines (ordered, cancelled, shipped units) and whether the
//! order is released; returns are recorded as facts and don't change it. A Pending order has
//! no payment and no customer, and may have no prices, by construction; a Deliverable one has
//! all three. Every transition is a method that returns `Result` and leaves the order
//! untouched when it refuses. How a marketplace's report changes an order is in [`super::change`].

use super::{
    AccountId, Currency, Customer, Decision, LineQuantity, Marketplace, MarketplaceOrder, Money, OrderItemId,
    OrderKey, OrderLine, Package, PackageId, PackageLine, Prices, ShipmentRequest,
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
        /// The buyer and address a marketplace sent before it released the order (SCX sends
        /// the address while the order is still CREATED, and never again). Withheld: not shown
        /// as the order's customer and never shipped to until the release.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        withheld_customer: Option<Customer>,
        /// When the marketplace released the order while prices or address were still missing.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        released_at: Option<DateTime<Utc>>,
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

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("order {order} is {from}: cannot {action}")]
    NotAllowed { order: OrderKey, from: OrderStatus, action: &'static str },
    #[error("order {order} has no item {item}")]
    UnknownItem { order: OrderKey, item: OrderItemId },
    #[error("order {order}, item {item}: {requested} requested but only {remaining} left (not yet shipped, packed or cancelled)")]
    QuantityExceeded { order: OrderKey, item: OrderItemId, requested: u32, remaining: u32 },
    #[error("order {order}: a package must hold at least one item with a positive quantity")]
    EmptyPackage { order: OrderKey },
    #[error("order {order}: package {package} does not belong to this order")]
    ForeignPackage { order: OrderKey, package: PackageId },
    #[error("order {order}: the release's prices don't fit the order: {reason}")]
    PricesDontFit { order: OrderKey, reason: String },
    #[error("order {order} has no open decision {decision:?}")]
    NoOpenDecision { order: OrderKey, decision: String },
}

/// Something that happened to an order, kept in its history for the operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum OrderEvent {
    Imported {
        status: OrderStatus,
    },
    Released,
    /// Every unit not shipped was cancelled: the order is Cancelled, or Shipped if some were.
    Cancelled,
    /// Some units were cancelled; the rest still ship.
    UnitsCancelled {
        units: u32,
    },
    /// The marketplace reported units shipped that no package of ours confirmed.
    ShippedAtMarketplace {
        units: u32,
    },
    Returned {
        units: u32,
    },
    /// The marketplace sent a new buyer or shipping address.
    BuyerChanged,
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
    /// The marketplace's latest change time among the changes applied to this order.
    pub marketplace_updated_at: DateTime<Utc>,
    pub imported_at: DateTime<Utc>,
    /// The prices' currency once known; before that the sales channel's default, if known.
    pub currency: Option<Currency>,
    /// The seller's id the marketplace names this order under (SCX: the channel's `sellerId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marketplace_seller_id: Option<String>,
    pub lines: Vec<OrderLine>,
    /// Derived from the lines and the release after every change: see [`SalesOrder::restate`].
    pub state: OrderState,
    /// The marketplace's change time of the customer data held; an older address never
    /// overwrites a newer one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_as_of: Option<DateTime<Utc>>,
    /// Ids of the counted changes (returns) already applied, so a repeated one counts once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub applied_change_ids: Vec<String>,
    /// Decisions the marketplace left to the seller, open and answered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub decisions: Vec<Decision>,
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
    /// A new, empty Pending order, which the marketplace's first change fills in.
    pub(super) fn empty(
        key: OrderKey,
        sales_channel: String,
        created_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            key,
            sales_channel,
            created_at,
            marketplace_updated_at: created_at,
            imported_at: now,
            currency: None,
            marketplace_seller_id: None,
            lines: Vec::new(),
            state: OrderState::Pending { prices: None, withheld_customer: None, released_at: None },
            customer_as_of: None,
            applied_change_ids: Vec::new(),
            decisions: Vec::new(),
            packages_recorded: 0,
            history: Vec::new(),
            version: 0,
        }
    }

    /// A new sales order from a marketplace order seen for the first time. A released order that
    /// arrives with prices, payment and customer is Deliverable at once; one that is released
    /// but lacks any of them is stored Pending until they arrive. Customer data sent with an
    /// order the marketplace has not released is withheld.
    pub fn from_marketplace(
        marketplace: Marketplace,
        account_id: AccountId,
        order: &MarketplaceOrder,
        now: DateTime<Utc>,
    ) -> Self {
        let key = OrderKey::new(marketplace, account_id, order.id.clone());
        let mut fresh = Self::empty(key, order.sales_channel.clone(), order.created_at, now);
        fresh.take_snapshot(order);
        let status = fresh.status();
        fresh.note(now, OrderEvent::Imported { status });
        fresh
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
            OrderState::Pending { prices, .. } | OrderState::Cancelled { prices, .. } => prices.as_ref(),
            state => state.release().map(|r| &r.prices),
        }
    }

    pub(super) fn refuse(&self, action: &'static str) -> TransitionError {
        TransitionError::NotAllowed { order: self.key.clone(), from: self.status(), action }
    }

    pub(super) fn note(&mut self, at: DateTime<Utc>, event: OrderEvent) {
        self.history.push(HistoryEntry { at, event });
    }

    fn line_mut(&mut self, item: &OrderItemId) -> Result<&mut OrderLine, TransitionError> {
        let order = self.key.clone();
        self.lines
            .iter_mut()
            .find(|l| &l.item_id == item)
            .ok_or_else(|| TransitionError::UnknownItem { order, item: item.clone() })
    }

    /// Pending → Deliverable, once the marketplace released the payment with prices and buyer.
    pub fn release(&mut self, release: Release, at: DateTime<Utc>) -> Result<(), TransitionError> {
        if self.status() != OrderStatus::Pending {
            return Err(self.refuse("release payment"));
        }
        // Prices that name other lines than the order's would ship or bill the wrong goods.
        Prices::new(&self.lines, release.prices.total, release.prices.unit_prices.clone())
            .map_err(|e| TransitionError::PricesDontFit { order: self.key.clone(), reason: e.to_string() })?;
        self.currency = Some(release.prices.currency());
        for line in &mut self.lines {
            line.paid = true;
        }
        self.state = OrderState::Deliverable(release);
        self.restate();
        self.note(at, OrderEvent::Released);
        Ok(())
    }

    /// Cancels every unit not yet shipped: a Pending or Deliverable order becomes Cancelled, a
    /// PartiallyShipped one Shipped. Refused when nothing is left to cancel.
    pub fn cancel(&mut self, at: DateTime<Utc>) -> Result<(), TransitionError> {
        if !self.lines.iter().any(|l| l.quantity_open() > 0) || self.status() == OrderStatus::Cancelled {
            return Err(self.refuse("cancel"));
        }
        for line in &mut self.lines {
            line.raise_cancelled(line.quantity_ordered);
        }
        self.restate();
        self.note(at, OrderEvent::Cancelled);
        Ok(())
    }

    /// Cancels `units` more units (a cancellation the seller agreed to); the rest still ship.
    /// Only units neither shipped nor in a recorded package can be cancelled.
    pub fn cancel_units(&mut self, units: &[LineQuantity], at: DateTime<Utc>) -> Result<(), TransitionError> {
        let mut lines = self.lines.clone();
        for wanted in units {
            let line = lines.iter_mut().find(|l| l.item_id == wanted.item_id).ok_or_else(|| {
                TransitionError::UnknownItem { order: self.key.clone(), item: wanted.item_id.clone() }
            })?;
            if wanted.quantity > line.quantity_unrecorded() {
                return Err(TransitionError::QuantityExceeded {
                    order: self.key.clone(),
                    item: wanted.item_id.clone(),
                    requested: wanted.quantity,
                    remaining: line.quantity_unrecorded(),
                });
            }
            line.quantity_cancelled += wanted.quantity;
        }
        self.lines = lines;
        let before = self.status();
        self.restate();
        let units = units.iter().map(|u| u.quantity).sum();
        self.note(at, OrderEvent::UnitsCancelled { units });
        if before != OrderStatus::Cancelled && self.status() == OrderStatus::Cancelled {
            self.note(at, OrderEvent::Cancelled);
        }
        Ok(())
    }

    /// Records a package the merchant shipped; returns it numbered. Only Deliverable or
    /// PartiallyShipped orders ship, and never more than is due and not yet in a package.
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
        let mut package_lines = Vec::with_capacity(request.items.len());
        for requested in &request.items {
            let line = lines.iter_mut().find(|l| l.item_id == requested.item_id).ok_or_else(|| {
                TransitionError::UnknownItem { order: self.key.clone(), item: requested.item_id.clone() }
            })?;
            if requested.quantity > line.quantity_unrecorded() {
                return Err(TransitionError::QuantityExceeded {
                    order: self.key.clone(),
                    item: requested.item_id.clone(),
                    requested: requested.quantity,
                    remaining: line.quantity_unrecorded(),
                });
            }
            // Per-unit marketplaces name the units that ship: the next ones not yet packed.
            let first = line.quantity_recorded.max(line.quantity_shipped) as usize;
            let unit_ids =
                line.unit_ids.iter().skip(first).take(requested.quantity as usize).cloned().collect();
            line.quantity_recorded = line.quantity_recorded.max(line.quantity_shipped) + requested.quantity;
            package_lines.push(PackageLine {
                item_id: requested.item_id.clone(),
                quantity: requested.quantity,
                unit_ids,
            });
        }
        let id = PackageId::new(self.packages_recorded + 1).expect("package numbers start at 1");
        self.lines = lines;
        self.packages_recorded += 1;
        self.note(now, OrderEvent::PackageRecorded { package: id.number() });
        Ok(Package::recorded(self.key.clone(), id, request, package_lines, now))
    }

    /// Whether `package` completes the order: once it ships, no unit is left to ship.
    pub fn completed_by(&self, package: &Package) -> bool {
        self.lines.iter().all(|line| {
            let in_package: u32 =
                package.lines.iter().filter(|p| p.item_id == line.item_id).map(|p| p.quantity).sum();
            line.quantity_open() <= in_package
        })
    }

    /// The marketplace accepted a package: its units are shipped. The order becomes
    /// PartiallyShipped, or Shipped once no unit is open.
    pub fn confirm_package(&mut self, package: &Package, at: DateTime<Utc>) -> Result<(), TransitionError> {
        if package.order != self.key {
            return Err(TransitionError::ForeignPackage { order: self.key.clone(), package: package.id });
        }
        if !matches!(self.status(), OrderStatus::Deliverable | OrderStatus::PartiallyShipped) {
            return Err(self.refuse("confirm a shipment"));
        }
        for shipped in &package.lines {
            self.line_mut(&shipped.item_id)?;
        }
        for shipped in &package.lines {
            let line = self.line_mut(&shipped.item_id)?;
            // The marketplace may have reported these units shipped already (SCX sends an
            // item status for our own notice): the package then adds nothing.
            let recorded_before = line.quantity_shipped;
            line.raise_shipped(recorded_before + shipped.quantity);
        }
        self.restate();
        self.note(at, OrderEvent::PackageConfirmed { package: package.id.number() });
        Ok(())
    }

    /// The state as derived from the lines and the release: Cancelled once no unit is due,
    /// Pending until released, then Deliverable, PartiallyShipped or Shipped by the shipped
    /// units. Called after every change to the lines.
    pub(super) fn restate(&mut self) {
        let due: u32 = self.lines.iter().map(OrderLine::quantity_due).sum();
        let open: u32 = self.lines.iter().map(OrderLine::quantity_open).sum();
        let shipped: u32 = self.lines.iter().map(|l| l.quantity_shipped).sum();
        let state = std::mem::replace(
            &mut self.state,
            OrderState::Pending { prices: None, withheld_customer: None, released_at: None },
        );
        let release = match state {
            OrderState::Deliverable(r) | OrderState::PartiallyShipped(r) | OrderState::Shipped(r) => r,
            OrderState::Cancelled {
                prices: Some(prices),
                payment: Some(payment),
                customer: Some(customer),
            } => Release { prices, payment, customer },
            pending_or_cancelled => {
                self.state = match pending_or_cancelled {
                    OrderState::Pending { prices, .. } if due == 0 && !self.lines.is_empty() => {
                        OrderState::Cancelled { prices, payment: None, customer: None }
                    }
                    other => other,
                };
                return;
            }
        };
        self.state = if due == 0 && !self.lines.is_empty() {
            OrderState::Cancelled {
                prices: Some(release.prices),
                payment: Some(release.payment),
                customer: Some(release.customer),
            }
        } else if open == 0 && !self.lines.is_empty() {
            OrderState::Shipped(release)
        } else if shipped > 0 {
            OrderState::PartiallyShipped(release)
        } else {
            OrderState::Deliverable(release)
        };
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
                OrderEvent::Cancelled
                    | OrderEvent::UnitsCancelled { .. }
                    | OrderEvent::ShippedAtMarketplace { .. }
                    | OrderEvent::PackageConfirmed { .. }
                    | OrderEvent::Imported { .. }
            )
        });
        Some(settling.map_or(self.imported_at, |h| h.at))
    }

    /// Whether the order still holds a buyer's name, address, e-mail or phone.
    pub fn holds_buyer_data(&self) -> bool {
        let withheld =
            matches!(&self.state, OrderState::Pending { withheld_customer: Some(c), .. } if !c.is_erased());
        withheld || self.customer().is_some_and(|c| !c.is_erased())
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
    /// report is not newer than what is stored.
    pub fn observe_marketplace_update(&mut self, updated_at: DateTime<Utc>) -> bool {
        if updated_at <= self.marketplace_updated_at {
            return false;
        }
        self.marketplace_updated_at = updated_at;
        true
    }

    pub fn total_items(&self) -> u32 {
        self.lines.iter().map(|l| l.quantity_ordered).sum()
    }
}

#[cfg(test)]
#[path = "order_tests.rs"]
mod tests;
