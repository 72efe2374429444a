//! One line of an order and what became of its units. Marketplaces report lines in their own
//! terms (Amazon: order items; SCX: order items with an item status; OTTO and Kaufland: one
//! position per unit); every one of them fits these quantities, and the order's status is
//! derived from them.

use super::OrderItemId;
use serde::{Deserialize, Serialize};

/// An item and how many of it were ordered, cancelled, recorded in packages by the merchant,
/// shipped (confirmed to or reported by the marketplace) and returned. Prices live in
/// [`super::Prices`], since a Pending order may not have them yet.
///
/// Invariant, kept by the order's transitions: cancelled + shipped ≤ ordered, recorded ≤
/// ordered − cancelled, returned ≤ shipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    /// The marketplace's id of the line (Amazon: `orderItemId`; SCX: `orderItemId`).
    pub item_id: OrderItemId,
    /// The marketplace's ids of the line's single units, for marketplaces that ship and cancel
    /// by unit (OTTO position items, Kaufland order units). Empty elsewhere.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unit_ids: Vec<String>,
    pub sku: Option<String>,
    pub title: Option<String>,
    /// The marketplace's product id (Amazon: the ASIN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marketplace_product_id: Option<String>,
    #[serde(alias = "quantity")]
    pub quantity_ordered: u32,
    #[serde(default)]
    pub quantity_cancelled: u32,
    /// Units in packages the merchant recorded, reported or not.
    #[serde(default)]
    pub quantity_recorded: u32,
    #[serde(default, alias = "quantity_confirmed")]
    pub quantity_shipped: u32,
    #[serde(default)]
    pub quantity_returned: u32,
    /// Whether the marketplace reported the line paid (SCX `itemPaymentStatus`); a released
    /// order's lines are paid.
    #[serde(default)]
    pub paid: bool,
}

impl OrderLine {
    pub fn new(
        item_id: OrderItemId,
        sku: Option<String>,
        title: Option<String>,
        marketplace_product_id: Option<String>,
        quantity_ordered: u32,
    ) -> Self {
        Self {
            item_id,
            unit_ids: Vec::new(),
            sku,
            title,
            marketplace_product_id,
            quantity_ordered,
            quantity_cancelled: 0,
            quantity_recorded: 0,
            quantity_shipped: 0,
            quantity_returned: 0,
            paid: false,
        }
    }

    /// Units that are to ship: ordered and not cancelled.
    pub fn quantity_due(&self) -> u32 {
        self.quantity_ordered.saturating_sub(self.quantity_cancelled)
    }

    /// Units neither cancelled nor shipped.
    pub fn quantity_open(&self) -> u32 {
        self.quantity_due().saturating_sub(self.quantity_shipped)
    }

    /// Units neither cancelled nor in a package the merchant recorded.
    pub fn quantity_unrecorded(&self) -> u32 {
        self.quantity_due().saturating_sub(self.quantity_recorded.max(self.quantity_shipped))
    }

    /// Takes over what the marketplace reports of this line. Quantities only grow, so an
    /// older or repeated report never undoes a newer one. True when anything changed.
    pub(super) fn merge_report(&mut self, reported: &OrderLine) -> bool {
        let before = self.clone();
        if self.unit_ids.is_empty() {
            self.unit_ids = reported.unit_ids.clone();
        }
        self.raise_shipped(reported.quantity_shipped);
        self.raise_cancelled(reported.quantity_cancelled);
        self.raise_returned(reported.quantity_returned);
        self.paid |= reported.paid;
        *self != before
    }

    /// At least `cancelled` units are cancelled, as far as units are still open.
    pub(super) fn raise_cancelled(&mut self, cancelled: u32) {
        let possible = self.quantity_ordered.saturating_sub(self.quantity_shipped);
        self.quantity_cancelled = self.quantity_cancelled.max(cancelled.min(possible));
    }

    /// At least `shipped` units are shipped, as far as units are due.
    pub(super) fn raise_shipped(&mut self, shipped: u32) {
        self.quantity_shipped = self.quantity_shipped.max(shipped.min(self.quantity_due()));
    }

    /// At least `returned` units came back, as far as units were shipped.
    pub(super) fn raise_returned(&mut self, returned: u32) {
        self.quantity_returned = self.quantity_returned.max(returned.min(self.quantity_shipped));
    }
}

/// A number of units of one line: what a package holds, a cancellation or a return names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LineQuantity {
    pub item_id: OrderItemId,
    pub quantity: u32,
}

impl LineQuantity {
    pub fn new(item_id: OrderItemId, quantity: u32) -> Self {
        Self { item_id, quantity }
    }

    /// Every unit of the line, for marketplaces that report a line's status rather than
    /// counts (SCX `itemStatus`): applied "at least" quantities are capped at what the line
    /// allows, so this means "all that can be".
    pub fn whole_line(item_id: OrderItemId) -> Self {
        Self { item_id, quantity: u32::MAX }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(ordered: u32) -> OrderLine {
        OrderLine::new(OrderItemId::parse("i-1").unwrap(), None, None, None, ordered)
    }

    #[test]
    fn lines_stored_before_cancellations_existed_still_read() {
        let stored = serde_json::json!({
            "item_id": "i-1", "sku": null, "title": null,
            "quantity": 3, "quantity_recorded": 2, "quantity_confirmed": 1
        });
        let line: OrderLine = serde_json::from_value(stored).unwrap();
        assert_eq!((line.quantity_ordered, line.quantity_shipped, line.quantity_cancelled), (3, 1, 0));
        assert_eq!(line.quantity_unrecorded(), 1);
    }

    #[test]
    fn reported_quantities_only_grow_and_never_exceed_what_is_possible() {
        let mut stored = line(3);
        let mut report = line(3);
        report.quantity_shipped = 2;
        assert!(stored.merge_report(&report));
        report.quantity_shipped = 1;
        report.quantity_cancelled = 3;
        assert!(stored.merge_report(&report));
        assert_eq!((stored.quantity_shipped, stored.quantity_cancelled), (2, 1));
        assert!(!stored.merge_report(&report), "a repeated report changes nothing");
        assert_eq!(stored.quantity_open(), 0);
    }

    #[test]
    fn returns_count_only_shipped_units() {
        let mut stored = line(2);
        stored.raise_returned(1);
        assert_eq!(stored.quantity_returned, 0);
        stored.raise_shipped(2);
        stored.raise_returned(5);
        assert_eq!(stored.quantity_returned, 2);
    }
}
