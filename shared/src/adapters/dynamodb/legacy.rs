//! Order items written before prices moved out of the order lines (schema 1: `currency`, `total`
//! and `lines[].unit_price` on the order). They still read: each is converted on read into the
//! current shape, and written back in it by the next change to the order.

use crate::domain::{
    Currency, Customer, HistoryEntry, LinePrice, Money, OrderItemId, OrderKey, OrderLine, OrderState,
    Payment, Prices, Release, SalesOrder,
};
use chrono::{DateTime, Utc};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct SalesOrderV1 {
    key: OrderKey,
    sales_channel: String,
    created_at: DateTime<Utc>,
    marketplace_updated_at: DateTime<Utc>,
    imported_at: DateTime<Utc>,
    currency: Currency,
    total: Option<Money>,
    lines: Vec<LineV1>,
    state: StateV1,
    #[serde(default)]
    packages_recorded: u32,
}

#[derive(Deserialize)]
struct LineV1 {
    item_id: OrderItemId,
    sku: Option<String>,
    title: Option<String>,
    quantity: u32,
    unit_price: Option<Money>,
    #[serde(default)]
    quantity_recorded: u32,
    #[serde(default)]
    quantity_confirmed: u32,
}

#[derive(Deserialize)]
#[serde(tag = "status")]
enum StateV1 {
    Pending,
    Deliverable { payment: Payment, customer: Customer },
    PartiallyShipped { payment: Payment, customer: Customer },
    Shipped { payment: Payment, customer: Customer },
    Cancelled { payment: Option<Payment>, customer: Option<Customer> },
}

impl SalesOrderV1 {
    /// The order in the current shape. A released order whose lines lack a price can't be
    /// expressed any more; the error names the order and the line.
    pub fn upgrade(self) -> Result<SalesOrder, String> {
        let lines: Vec<OrderLine> = self
            .lines
            .iter()
            .map(|l| OrderLine {
                quantity_recorded: l.quantity_recorded,
                quantity_shipped: l.quantity_confirmed,
                ..OrderLine::new(l.item_id.clone(), l.sku.clone(), l.title.clone(), None, l.quantity)
            })
            .collect();
        let unit_prices: Vec<LinePrice> = self
            .lines
            .iter()
            .filter_map(|l| {
                l.unit_price.map(|unit_price| LinePrice { item_id: l.item_id.clone(), unit_price })
            })
            .collect();
        let paid = match &self.state {
            StateV1::Deliverable { payment, .. }
            | StateV1::PartiallyShipped { payment, .. }
            | StateV1::Shipped { payment, .. } => Some(payment.amount),
            StateV1::Cancelled { payment, .. } => payment.as_ref().map(|p| p.amount),
            StateV1::Pending => None,
        };
        let prices = self.total.or(paid).map(|total| Prices::new(&lines, total, unit_prices));
        let key = self.key.clone();
        let released = |payment: Payment, customer: Customer| -> Result<Release, String> {
            match &prices {
                Some(Ok(prices)) => Ok(Release { prices: prices.clone(), payment, customer }),
                Some(Err(e)) => Err(format!("order {key} (schema 1): {e}")),
                None => Err(format!("order {key} (schema 1): released without a total")),
            }
        };
        let optional_prices = prices.clone().and_then(Result::ok);
        let state = match self.state {
            StateV1::Pending => {
                OrderState::Pending { prices: optional_prices, withheld_customer: None, released_at: None }
            }
            StateV1::Deliverable { payment, customer } => {
                OrderState::Deliverable(released(payment, customer)?)
            }
            StateV1::PartiallyShipped { payment, customer } => {
                OrderState::PartiallyShipped(released(payment, customer)?)
            }
            StateV1::Shipped { payment, customer } => OrderState::Shipped(released(payment, customer)?),
            StateV1::Cancelled { payment, customer } => {
                OrderState::Cancelled { prices: optional_prices, payment, customer }
            }
        };
        Ok(SalesOrder {
            key: self.key,
            sales_channel: self.sales_channel,
            created_at: self.created_at,
            marketplace_updated_at: self.marketplace_updated_at,
            imported_at: self.imported_at,
            currency: Some(self.currency),
            lines,
            state,
            marketplace_seller_id: None,
            customer_as_of: None,
            applied_change_ids: Vec::new(),
            decisions: Vec::new(),
            packages_recorded: self.packages_recorded,
            history: Vec::<HistoryEntry>::new(),
            version: 0,
        })
    }
}

/// Orders written before lines counted cancelled units (schemas 1 and 2) were cancelled as a
/// whole: their lines say nothing of it. On read, a Cancelled order's units not shipped count
/// as cancelled, so that its status, now derived from the lines, stays Cancelled; released
/// lines count as paid. Written back in the current shape by the next change.
pub fn upgrade_schema_2(order: &mut SalesOrder) {
    let cancelled = order.status() == crate::domain::OrderStatus::Cancelled;
    let released = order.payment().is_some();
    for line in &mut order.lines {
        if cancelled {
            line.quantity_cancelled = line.quantity_ordered.saturating_sub(line.quantity_shipped);
        }
        line.paid |= released;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::OrderStatus;
    use serde_json::json;

    fn stored_v1(state: serde_json::Value) -> serde_json::Value {
        json!({
            "key": {"marketplace": "amazon", "account_id": "amazon-de", "marketplace_order_id": "302-1"},
            "sales_channel": "A1PA6795UKMFR9",
            "created_at": "2026-11-01T10:00:00Z",
            "marketplace_updated_at": "2026-11-01T10:05:00Z",
            "imported_at": "2026-11-01T10:06:00Z",
            "currency": "EUR",
            "total": {"minor_units": 3998, "currency": "EUR"},
            "lines": [{"item_id": "1", "sku": "SKU-1", "title": "Mug", "quantity": 2,
                       "unit_price": {"minor_units": 1999, "currency": "EUR"},
                       "quantity_recorded": 0, "quantity_confirmed": 0}],
            "state": state,
            "packages_recorded": 0,
            "version": 3
        })
    }

    #[test]
    fn a_deliverable_order_stored_by_the_previous_version_reads_with_its_prices() {
        let state = json!({"status": "Deliverable",
            "payment": {"amount": {"minor_units": 3998, "currency": "EUR"}, "paid_at": "2026-11-01T10:05:00Z"},
            "customer": {"buyer_name": null, "buyer_email": null, "company": null,
                "shipping_address": {"name": "N", "company": null, "lines": ["L"], "city": "C",
                    "postal_code": null, "region": null, "country_code": "DE", "phone": null}}});
        let old: SalesOrderV1 = serde_json::from_value(stored_v1(state)).unwrap();
        let order = old.upgrade().unwrap();
        assert_eq!(order.status(), OrderStatus::Deliverable);
        assert_eq!(order.prices().unwrap().total.minor_units, 3998);
        assert_eq!(order.currency.unwrap().code(), "EUR");
    }

    #[test]
    fn a_pending_order_stored_by_the_previous_version_reads() {
        let old: SalesOrderV1 = serde_json::from_value(stored_v1(json!({"status": "Pending"}))).unwrap();
        assert_eq!(old.upgrade().unwrap().status(), OrderStatus::Pending);
    }
}
