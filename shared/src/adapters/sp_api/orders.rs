//! Reading Orders API 2026-01-01 `Order` objects into marketplace orders. Each order is checked
//! on its own: one malformed order is rejected with a reason naming the field, the rest of the
//! page goes on.

use crate::domain::{
    Address, Currency, Customer, MarketplaceOrder, MarketplaceOrderId, MarketplaceOrderState, Money,
    OrderItemId, OrderLine,
};
use chrono::{DateTime, Utc};
use serde_json::Value;

/// Longest text we accept in any field; anything longer is nonsense for an order.
const MAX_TEXT: usize = 1000;
const MAX_LINES: usize = 1000;
const MAX_QUANTITY: i64 = 100_000;

/// Why an order was rejected, naming the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub order_id: Option<String>,
    pub reason: String,
}

struct Reader<'a> {
    order_id: Option<String>,
    root: &'a Value,
}

impl<'a> Reader<'a> {
    fn fail<T>(&self, field: &str, problem: impl std::fmt::Display) -> Result<T, Invalid> {
        Err(Invalid { order_id: self.order_id.clone(), reason: format!("field {field}: {problem}") })
    }

    fn at(&self, path: &str) -> Option<&'a Value> {
        self.root.pointer(path).filter(|v| !v.is_null())
    }

    fn text(&self, path: &str) -> Result<Option<String>, Invalid> {
        match self.at(path) {
            None => Ok(None),
            Some(Value::String(s)) if s.len() > MAX_TEXT => {
                self.fail(&field(path), format!("longer than {MAX_TEXT} characters"))
            }
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => self.fail(&field(path), "not a string"),
        }
    }

    fn required_text(&self, path: &str) -> Result<String, Invalid> {
        self.text(path)?.map_or_else(|| self.fail(&field(path), "missing"), Ok)
    }

    fn time(&self, path: &str) -> Result<DateTime<Utc>, Invalid> {
        let raw = self.required_text(path)?;
        DateTime::parse_from_rfc3339(&raw)
            .map(|t| t.with_timezone(&Utc))
            .or_else(|_| self.fail(&field(path), "not an ISO 8601 date-time"))
    }

    fn money(&self, path: &str, currency: Option<Currency>) -> Result<Option<Money>, Invalid> {
        if self.at(path).is_none() {
            return Ok(None);
        }
        let code = self.required_text(&format!("{path}/currencyCode"))?;
        let parsed =
            Currency::parse(&code).or_else(|e| self.fail(&field(&format!("{path}/currencyCode")), e))?;
        if let Some(expected) = currency {
            if parsed != expected {
                return self.fail(
                    &field(&format!("{path}/currencyCode")),
                    format!("{parsed} differs from the order's {expected}"),
                );
            }
        }
        let amount_path = format!("{path}/amount");
        let amount = match self.at(&amount_path) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            Some(_) => return self.fail(&field(&amount_path), "not a decimal"),
            None => return self.fail(&field(&amount_path), "missing"),
        };
        Money::parse(&amount, parsed).map(Some).or_else(|e| self.fail(&field(&amount_path), e))
    }
}

/// JSON pointer → the dotted field name an operator recognises (`orderItems[0].quantityOrdered`).
fn field(pointer: &str) -> String {
    let mut out = String::new();
    for part in pointer.trim_start_matches('/').split('/') {
        if part.bytes().all(|b| b.is_ascii_digit()) && !part.is_empty() {
            out.push_str(&format!("[{part}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(part);
        }
    }
    out
}

fn state(raw: &str) -> Option<MarketplaceOrderState> {
    Some(match raw {
        "PENDING" | "PENDING_AVAILABILITY" => MarketplaceOrderState::Pending,
        "UNSHIPPED" => MarketplaceOrderState::Released,
        "PARTIALLY_SHIPPED" => MarketplaceOrderState::PartiallyShipped,
        "SHIPPED" => MarketplaceOrderState::Shipped,
        "CANCELLED" => MarketplaceOrderState::Cancelled,
        _ => return None,
    })
}

/// Reads one `Order`. Customer data of an order that is not released is ignored, whatever the
/// marketplace sent.
pub fn parse_order(order: &Value) -> Result<MarketplaceOrder, Invalid> {
    let order_id =
        order.get("orderId").and_then(Value::as_str).map(|s| s.chars().take(100).collect::<String>());
    let r = Reader { order_id: order_id.clone(), root: order };
    if !order.is_object() {
        return r.fail("order", "not a JSON object");
    }
    let id = MarketplaceOrderId::parse(r.required_text("/orderId")?).or_else(|e| r.fail("orderId", e))?;
    let status_raw = r.required_text("/fulfillment/fulfillmentStatus")?;
    let state = match state(&status_raw) {
        Some(state) => state,
        None => return r.fail("fulfillment.fulfillmentStatus", format!("unsupported status {status_raw:?}")),
    };
    let created_at = r.time("/createdTime")?;
    let updated_at = r.time("/lastUpdatedTime")?;
    let sales_channel = r.required_text("/salesChannel/marketplaceId")?;

    let currency_code = r
        .text("/proceeds/grandTotal/currencyCode")?
        .or(r.text("/orderItems/0/product/price/unitPrice/currencyCode")?)
        .or(r.text("/orderItems/0/proceeds/proceedsTotal/currencyCode")?);
    let currency = match currency_code {
        Some(code) => Currency::parse(&code).or_else(|e| r.fail("currencyCode", e))?,
        None => {
            return r.fail("proceeds.grandTotal.currencyCode", "missing: the order's currency is unknown")
        }
    };
    let total = r.money("/proceeds/grandTotal", Some(currency))?;

    let items = match order.get("orderItems") {
        Some(Value::Array(items)) if !items.is_empty() && items.len() <= MAX_LINES => items,
        Some(Value::Array(items)) if items.is_empty() => return r.fail("orderItems", "empty"),
        Some(Value::Array(_)) => return r.fail("orderItems", format!("more than {MAX_LINES} items")),
        _ => return r.fail("orderItems", "missing"),
    };
    let mut lines = Vec::with_capacity(items.len());
    for index in 0..items.len() {
        let base = format!("/orderItems/{index}");
        let item_id = OrderItemId::parse(r.required_text(&format!("{base}/orderItemId"))?)
            .or_else(|e| r.fail(&field(&format!("{base}/orderItemId")), e))?;
        let quantity_path = format!("{base}/quantityOrdered");
        let quantity = match r.at(&quantity_path).and_then(Value::as_i64) {
            Some(q) if (1..=MAX_QUANTITY).contains(&q) => q as u32,
            Some(q) => {
                return r.fail(&field(&quantity_path), format!("{q} is not between 1 and {MAX_QUANTITY}"))
            }
            None => return r.fail(&field(&quantity_path), "missing or not an integer"),
        };
        let unit_price = r.money(&format!("{base}/product/price/unitPrice"), Some(currency))?;
        if unit_price.is_some_and(|p| p.minor_units < 0) {
            return r.fail(&field(&format!("{base}/product/price/unitPrice/amount")), "negative");
        }
        lines.push(OrderLine::new(
            item_id,
            r.text(&format!("{base}/product/sellerSku"))?,
            r.text(&format!("{base}/product/title"))?,
            quantity,
            unit_price,
        ));
    }

    let released = state.is_released();
    let paid_amount = if released { paid_amount(&r, currency)? } else { None };
    let customer = if released { customer(&r)? } else { None };
    Ok(MarketplaceOrder {
        id,
        sales_channel,
        created_at,
        updated_at,
        state,
        lines,
        currency,
        total,
        paid_amount,
        customer,
    })
}

fn paid_amount(r: &Reader<'_>, currency: Currency) -> Result<Option<Money>, Invalid> {
    let Some(Value::Array(executions)) = r.at("/payment/paymentExecutions") else {
        return Ok(None);
    };
    let mut sum: Option<Money> = None;
    for index in 0..executions.len() {
        if let Some(amount) =
            r.money(&format!("/payment/paymentExecutions/{index}/paymentAmount"), Some(currency))?
        {
            sum = Some(match sum {
                None => amount,
                Some(s) => s.checked_add(amount).or_else(|e| r.fail("payment.paymentExecutions", e))?,
            });
        }
    }
    Ok(sum)
}

fn customer(r: &Reader<'_>) -> Result<Option<Customer>, Invalid> {
    let a = "/recipient/deliveryAddress";
    let (Some(name), Some(line1), Some(city), Some(country)) = (
        r.text(&format!("{a}/name"))?,
        r.text(&format!("{a}/addressLine1"))?,
        r.text(&format!("{a}/city"))?,
        r.text(&format!("{a}/countryCode"))?,
    ) else {
        return Ok(None);
    };
    if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
        return r.fail("recipient.deliveryAddress.countryCode", "not an ISO 3166-1 alpha-2 code");
    }
    let mut lines = vec![line1];
    for extra in ["addressLine2", "addressLine3"] {
        lines.extend(r.text(&format!("{a}/{extra}"))?);
    }
    Ok(Some(Customer {
        buyer_name: r.text("/buyer/buyerName")?,
        buyer_email: r.text("/buyer/buyerEmail")?,
        company: r.text("/buyer/buyerCompanyName")?,
        shipping_address: Address {
            name,
            company: r.text(&format!("{a}/companyName"))?,
            lines,
            city,
            postal_code: r.text(&format!("{a}/postalCode"))?,
            region: r.text(&format!("{a}/stateOrRegion"))?,
            country_code: country,
            phone: r.text(&format!("{a}/phone"))?,
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn released_order() -> Value {
        json!({
            "orderId": "302-1111111-2222222",
            "createdTime": "2026-11-28T10:00:00Z",
            "lastUpdatedTime": "2026-11-28T10:05:00.123Z",
            "salesChannel": {"channelName": "AMAZON", "marketplaceId": "A1PA6795UKMFR9"},
            "fulfillment": {"fulfillmentStatus": "UNSHIPPED"},
            "proceeds": {"grandTotal": {"amount": "39.98", "currencyCode": "EUR"}},
            "payment": {"paymentExecutions": [{"paymentMethod": "Other", "paymentAmount": {"amount": "39.98", "currencyCode": "EUR"}}]},
            "buyer": {"buyerName": "Erika Muster", "buyerEmail": "x@example.invalid"},
            "recipient": {"deliveryAddress": {"name": "Erika Muster", "addressLine1": "Weg 1", "city": "Berlin", "postalCode": "10115", "countryCode": "DE"}},
            "orderItems": [{"orderItemId": "11111111111111", "quantityOrdered": 2,
                "product": {"sellerSku": "SKU-1", "title": "Mug", "price": {"unitPrice": {"amount": "19.99", "currencyCode": "EUR"}}}}]
        })
    }

    #[test]
    fn released_order_carries_payment_and_customer() {
        let order = parse_order(&released_order()).unwrap();
        assert_eq!(order.state, MarketplaceOrderState::Released);
        assert_eq!(order.paid_amount.unwrap().minor_units, 3998);
        assert_eq!(order.customer.unwrap().shipping_address.city, "Berlin");
        assert_eq!(order.lines[0].quantity, 2);
        assert_eq!(order.lines[0].unit_price.unwrap().minor_units, 1999);
    }

    #[test]
    fn pending_order_drops_customer_data_even_if_sent() {
        let mut raw = released_order();
        raw["fulfillment"]["fulfillmentStatus"] = json!("PENDING");
        let order = parse_order(&raw).unwrap();
        assert_eq!(order.state, MarketplaceOrderState::Pending);
        assert!(order.customer.is_none());
        assert!(order.paid_amount.is_none());
    }

    #[test]
    fn malformed_orders_are_rejected_naming_the_field() {
        type Breakage = Box<dyn Fn(&mut Value)>;
        let cases: Vec<(&str, Breakage)> = vec![
            (
                "orderItems[0].quantityOrdered",
                Box::new(|o| o["orderItems"][0]["quantityOrdered"] = json!(-1)),
            ),
            ("currencyCode", Box::new(|o| o["proceeds"]["grandTotal"]["currencyCode"] = json!("XXX"))),
            ("createdTime", Box::new(|o| o["createdTime"] = json!("yesterday"))),
            (
                "orderId",
                Box::new(|o| {
                    o.as_object_mut().unwrap().remove("orderId");
                }),
            ),
            (
                "orderItems[0].product.title",
                Box::new(|o| o["orderItems"][0]["product"]["title"] = json!("x".repeat(10_000))),
            ),
            (
                "fulfillment.fulfillmentStatus",
                Box::new(|o| o["fulfillment"]["fulfillmentStatus"] = json!("LOST")),
            ),
        ];
        for (field, break_it) in cases {
            let mut raw = released_order();
            break_it(&mut raw);
            let error = parse_order(&raw).unwrap_err();
            assert!(error.reason.contains(field), "{field}: {}", error.reason);
        }
    }
}
