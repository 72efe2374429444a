//! What marketplaces report about their orders, as domain values, and the one rule that applies
//! a report to a sales order.
//!
//! Marketplaces report in two shapes: whole orders (Amazon, OTTO: a [`ChangeKind::Snapshot`])
//! and events that each change one aspect (SCX: a status, an address, a cancellation request).
//! Both arrive at least once, possibly repeated, and an older one may come after a newer one.
//! Applying is therefore idempotent and monotonic: quantities only grow, the status only moves
//! forward, an address older than the one held is ignored, and counted changes (returns) carry
//! an id that is applied once.

use super::order::OrderEvent;
use super::{
    Currency, Customer, Decision, DecisionKind, LineQuantity, MarketplaceOrderId, Money, OrderItemId,
    OrderLine, OrderState, OrderStatus, Payment, Prices, Release, SalesOrder, TransitionError,
};
use chrono::{DateTime, Utc};

/// An order as a marketplace currently reports it, already validated by the marketplace adapter.
/// Its lines carry the quantities the marketplace reports cancelled, shipped and returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketplaceOrder {
    pub id: MarketplaceOrderId,
    /// The marketplace's sales channel, e.g. Amazon's `A1PA6795UKMFR9` or SCX's `OTTODE`.
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
    /// The seller must accept or refuse the order by then (SCX `UNACKED` orders).
    pub accept_until: Option<DateTime<Utc>>,
    /// The seller's id the marketplace names the order under, where it differs per channel
    /// (SCX: each channel's `sellerId`); answers about the order must name it.
    pub seller_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarketplaceOrderState {
    /// Payment not yet released (or the order not yet accepted): must not ship.
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

/// One thing a marketplace reported about one of its orders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderChange {
    pub order_id: MarketplaceOrderId,
    /// The marketplace's sales channel the order belongs to.
    pub sales_channel: String,
    /// When the marketplace made the change (its last-change time, or the event's time).
    pub changed_at: DateTime<Utc>,
    pub kind: ChangeKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeKind {
    /// The whole order as the marketplace reports it now.
    Snapshot(Box<MarketplaceOrder>),
    /// The order's status at the marketplace changed.
    StatusChanged(MarketplaceOrderState),
    /// A new buyer or shipping address.
    BuyerChanged(Customer),
    /// These lines are paid now.
    PaymentChanged { paid: Vec<OrderItemId> },
    /// At least these units are cancelled (None: every unit not shipped, the whole order).
    Cancelled { units: Option<Vec<LineQuantity>> },
    /// At least these units are shipped (the marketplace says so, whoever shipped them).
    Shipped { units: Vec<LineQuantity> },
    /// The buyer or the marketplace asks the seller to cancel units; the seller must answer.
    CancellationRequested {
        request_id: String,
        units: Vec<LineQuantity>,
        reason: Option<String>,
        respond_until: Option<DateTime<Utc>>,
    },
    /// Units came back. With an id, these units are counted once more (one return among
    /// several); without, at least these units are returned.
    Returned { units: Vec<LineQuantity>, return_id: Option<String> },
}

impl From<MarketplaceOrder> for OrderChange {
    fn from(order: MarketplaceOrder) -> Self {
        Self {
            order_id: order.id.clone(),
            sales_channel: order.sales_channel.clone(),
            changed_at: order.updated_at,
            kind: ChangeKind::Snapshot(Box::new(order)),
        }
    }
}

impl ChangeKind {
    pub fn name(&self) -> &'static str {
        match self {
            ChangeKind::Snapshot(_) => "snapshot",
            ChangeKind::StatusChanged(_) => "status change",
            ChangeKind::BuyerChanged(_) => "buyer change",
            ChangeKind::PaymentChanged { .. } => "payment change",
            ChangeKind::Cancelled { .. } => "cancellation",
            ChangeKind::Shipped { .. } => "shipment",
            ChangeKind::CancellationRequested { .. } => "cancellation request",
            ChangeKind::Returned { .. } => "return",
        }
    }
}

/// What applying a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The order already reflected the change (repeated, older or redundant).
    Unchanged,
    Changed {
        from: OrderStatus,
        to: OrderStatus,
    },
}

impl Applied {
    pub fn released(&self) -> bool {
        matches!(self, Applied::Changed { from: OrderStatus::Pending, to } if *to != OrderStatus::Pending && *to != OrderStatus::Cancelled)
    }

    pub fn cancelled(&self) -> bool {
        matches!(self, Applied::Changed { from, to: OrderStatus::Cancelled } if *from != OrderStatus::Cancelled)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeError {
    /// An event about an order not stored yet (reordered delivery): it applies once the order
    /// arrives, so the caller leaves it to be delivered again.
    #[error("order {order}: a {kind} for an order not stored yet; applied once the order arrives")]
    OrderNotYetKnown { order: MarketplaceOrderId, kind: &'static str },
    #[error(transparent)]
    Transition(#[from] TransitionError),
}

impl SalesOrder {
    /// The new order a change creates: only a snapshot describes a whole order.
    pub fn from_change(
        marketplace: super::Marketplace,
        account_id: super::AccountId,
        change: &OrderChange,
        now: DateTime<Utc>,
    ) -> Result<SalesOrder, ChangeError> {
        match &change.kind {
            ChangeKind::Snapshot(order) => {
                Ok(SalesOrder::from_marketplace(marketplace, account_id, order, now))
            }
            other => {
                Err(ChangeError::OrderNotYetKnown { order: change.order_id.clone(), kind: other.name() })
            }
        }
    }

    /// Applies what the marketplace reported. Idempotent and monotonic: applying the same
    /// change twice, or an older one after a newer one, changes nothing. Leaves the order
    /// untouched when it refuses.
    pub fn apply(&mut self, change: &OrderChange, now: DateTime<Utc>) -> Result<Applied, TransitionError> {
        let before = self.clone();
        let result = self.apply_kind(change, now);
        if let Err(error) = result {
            *self = before;
            return Err(error);
        }
        if self.lines == before.lines
            && self.state == before.state
            && self.customer_as_of == before.customer_as_of
            && self.applied_change_ids == before.applied_change_ids
            && self.decisions == before.decisions
            && self.currency == before.currency
        {
            *self = before;
            return Ok(Applied::Unchanged);
        }
        self.observe_marketplace_update(change.changed_at);
        self.note_line_changes(&before, now);
        Ok(Applied::Changed { from: before.status(), to: self.status() })
    }

    fn apply_kind(&mut self, change: &OrderChange, now: DateTime<Utc>) -> Result<(), TransitionError> {
        let at = change.changed_at;
        match &change.kind {
            ChangeKind::Snapshot(order) => self.merge_snapshot(order, at, now)?,
            ChangeKind::StatusChanged(state) => self.merge_status(*state, at, None, now)?,
            ChangeKind::BuyerChanged(customer) => {
                self.merge_customer(customer, at);
                self.try_release(None, now)?;
            }
            ChangeKind::PaymentChanged { paid } => {
                for item in paid {
                    self.reported_line(item)?.paid = true;
                }
            }
            ChangeKind::Cancelled { units: None } => self.cancel_open_units(),
            ChangeKind::Cancelled { units: Some(units) } => {
                for unit in units {
                    let line = self.reported_line(&unit.item_id)?;
                    let cancelled = line.quantity_cancelled.max(unit.quantity);
                    line.raise_cancelled(cancelled);
                }
            }
            ChangeKind::Shipped { units } => {
                for unit in units {
                    self.reported_line(&unit.item_id)?.raise_shipped(unit.quantity);
                }
            }
            ChangeKind::Returned { units, return_id } => {
                if let Some(id) = return_id {
                    if self.applied_change_ids.contains(id) {
                        return Ok(());
                    }
                    self.applied_change_ids.push(id.clone());
                }
                for unit in units {
                    let line = self.reported_line(&unit.item_id)?;
                    let returned = if return_id.is_some() {
                        line.quantity_returned + unit.quantity
                    } else {
                        unit.quantity
                    };
                    line.raise_returned(returned);
                }
            }
            ChangeKind::CancellationRequested { request_id, units, reason, respond_until } => {
                for unit in units {
                    self.reported_line(&unit.item_id)?;
                }
                if !self.decisions.iter().any(|d| &d.id == request_id) {
                    self.decisions.push(Decision::open(
                        request_id.clone(),
                        DecisionKind::Cancellation { units: units.clone(), reason: reason.clone() },
                        at,
                        *respond_until,
                    ));
                }
            }
        }
        self.restate();
        Ok(())
    }

    fn reported_line(&mut self, item: &OrderItemId) -> Result<&mut OrderLine, TransitionError> {
        let order = self.key.clone();
        self.lines
            .iter_mut()
            .find(|l| &l.item_id == item)
            .ok_or_else(|| TransitionError::UnknownItem { order, item: item.clone() })
    }

    /// Fills a new order from the marketplace's first report of it.
    pub(super) fn take_snapshot(&mut self, order: &MarketplaceOrder) {
        self.marketplace_seller_id = order.seller_id.clone();
        self.lines = order.lines.iter().map(|l| OrderLine { quantity_recorded: 0, ..l.clone() }).collect();
        self.marketplace_updated_at = order.updated_at;
        // A new order has nothing to refuse the report with: its own lines are the report's.
        let _ = self.merge_snapshot(order, order.updated_at, order.updated_at);
        self.restate();
    }

    fn merge_snapshot(
        &mut self,
        order: &MarketplaceOrder,
        at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), TransitionError> {
        for reported in &order.lines {
            // A marketplace never adds lines to an order; an unknown one is a report error.
            self.reported_line(&reported.item_id)?.merge_report(reported);
        }
        if self.currency.is_none() {
            self.currency = order.prices.as_ref().map(Prices::currency).or(order.currency);
        }
        if let (OrderState::Pending { prices: held @ None, .. }, Some(prices)) =
            (&mut self.state, &order.prices)
        {
            *held = Some(prices.clone());
            self.currency = Some(prices.currency());
        }
        if let Some(customer) = &order.customer {
            self.merge_customer(customer, at);
        }
        if let Some(until) = order.accept_until {
            if order.state == MarketplaceOrderState::Pending
                && !self.decisions.iter().any(|d| d.kind == DecisionKind::AcceptOrder)
            {
                self.decisions.push(Decision::open(
                    Decision::ACCEPT_ORDER_ID.into(),
                    DecisionKind::AcceptOrder,
                    at,
                    Some(until),
                ));
            }
        }
        self.merge_status(order.state, at, order.paid_amount, now)
    }

    fn merge_status(
        &mut self,
        state: MarketplaceOrderState,
        at: DateTime<Utc>,
        paid: Option<Money>,
        now: DateTime<Utc>,
    ) -> Result<(), TransitionError> {
        if state != MarketplaceOrderState::Pending {
            // The marketplace moved on: nobody has to accept the order any more.
            for decision in self.decisions.iter_mut().filter(|d| d.kind == DecisionKind::AcceptOrder) {
                decision.settle_by_marketplace(state != MarketplaceOrderState::Cancelled, at);
            }
        }
        match state {
            MarketplaceOrderState::Pending => Ok(()),
            MarketplaceOrderState::Cancelled => {
                self.cancel_open_units();
                Ok(())
            }
            released => {
                if let OrderState::Pending { released_at: at_ @ None, .. } = &mut self.state {
                    *at_ = Some(at);
                }
                self.try_release(paid, now)?;
                if released == MarketplaceOrderState::Shipped {
                    for line in &mut self.lines {
                        line.raise_shipped(line.quantity_ordered);
                    }
                }
                Ok(())
            }
        }
    }

    fn cancel_open_units(&mut self) {
        for line in &mut self.lines {
            line.raise_cancelled(line.quantity_ordered);
        }
    }

    /// Takes a buyer or address unless an equally new or newer one is held. Not for settled
    /// orders: their buyer data runs out with the retention period and never comes back.
    fn merge_customer(&mut self, customer: &Customer, at: DateTime<Utc>) {
        if self.customer_as_of.is_some_and(|held| held > at)
            || matches!(self.status(), OrderStatus::Shipped | OrderStatus::Cancelled)
        {
            return;
        }
        match &mut self.state {
            OrderState::Pending { withheld_customer, .. } => *withheld_customer = Some(customer.clone()),
            OrderState::Deliverable(r) | OrderState::PartiallyShipped(r) => r.customer = customer.clone(),
            OrderState::Shipped(_) | OrderState::Cancelled { .. } => return,
        }
        self.customer_as_of = Some(at);
    }

    /// Pending → Deliverable once the marketplace released the order and its prices and
    /// address are all here.
    fn try_release(&mut self, paid: Option<Money>, now: DateTime<Utc>) -> Result<(), TransitionError> {
        let OrderState::Pending {
            prices: Some(prices),
            withheld_customer: Some(customer),
            released_at: Some(released_at),
        } = &self.state
        else {
            return Ok(());
        };
        let release = Release {
            prices: prices.clone(),
            payment: Payment { amount: paid.unwrap_or(prices.total), paid_at: *released_at },
            customer: customer.clone(),
        };
        self.release(release, now)
    }

    /// History entries for what the lines show changed since `before`.
    fn note_line_changes(&mut self, before: &SalesOrder, now: DateTime<Utc>) {
        let sum = |o: &SalesOrder, f: fn(&OrderLine) -> u32| -> u32 { o.lines.iter().map(f).sum() };
        let cancelled = sum(self, |l| l.quantity_cancelled) - sum(before, |l| l.quantity_cancelled);
        let shipped = sum(self, |l| l.quantity_shipped) - sum(before, |l| l.quantity_shipped);
        let returned = sum(self, |l| l.quantity_returned) - sum(before, |l| l.quantity_returned);
        if self.status() == OrderStatus::Cancelled && before.status() != OrderStatus::Cancelled {
            self.note(now, OrderEvent::Cancelled);
        } else if cancelled > 0 {
            self.note(now, OrderEvent::UnitsCancelled { units: cancelled });
        }
        if shipped > 0 {
            self.note(now, OrderEvent::ShippedAtMarketplace { units: shipped });
        }
        if returned > 0 {
            self.note(now, OrderEvent::Returned { units: returned });
        }
        if self.customer_as_of != before.customer_as_of && before.customer_as_of.is_some() {
            self.note(now, OrderEvent::BuyerChanged);
        }
    }
}

#[cfg(test)]
#[path = "change_tests.rs"]
mod tests;
