//! Reading Orders API 2026-01-01 `Order` objects into marketplace orders. Each order is checked
//! on its own: one malformed order is rejected with a reason naming the field, the rest of the
//! page goes on.

use crate::domain::{
    Address, Currency, Customer, LinePrice, MarketplaceOrder, MarketplaceOrderId, MarketplaceOrderState,
    Money, OrderItemId, OrderLine, Prices, PricingError,
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

    // Amazon sends no prices for a Pending order, so the currency may be unknown until the
    // release; the marketplace id then tells the currency the order will be priced in.
    let currency_code = r
        .text("/proceeds/grandTotal/currencyCode")?
        .or(r.text("/orderItems/0/product/price/unitPrice/currencyCode")?)
        .or(r.text("/orderItems/0/proceeds/proceedsTotal/currencyCode")?);
    let sent_currency = match currency_code {
        Some(code) => Some(Currency::parse(&code).or_else(|e| r.fail("currencyCode", e))?),
        None => None,
    };
    let currency = sent_currency.or_else(|| default_currency(&sales_channel));

    let items = match order.get("orderItems") {
        Some(Value::Array(items)) if !items.is_empty() && items.len() <= MAX_LINES => items,
        Some(Value::Array(items)) if items.is_empty() => return r.fail("orderItems", "empty"),
        Some(Value::Array(_)) => return r.fail("orderItems", format!("more than {MAX_LINES} items")),
        _ => return r.fail("orderItems", "missing"),
    };
    let mut lines = Vec::with_capacity(items.len());
    let mut unit_prices = Vec::with_capacity(items.len());
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
        let price_path = format!("{base}/product/price/unitPrice");
        if let Some(unit_price) = r.money(&price_path, sent_currency)? {
            if unit_price.minor_units < 0 {
                return r.fail(&field(&format!("{price_path}/amount")), "negative");
            }
            unit_prices.push(LinePrice { item_id: item_id.clone(), unit_price });
        }
        lines.push(OrderLine::new(
            item_id,
            r.text(&format!("{base}/product/sellerSku"))?,
            r.text(&format!("{base}/product/title"))?,
            r.text(&format!("{base}/product/asin"))?,
            quantity,
        ));
    }

    let released = state.is_released();
    let total = r.money("/proceeds/grandTotal", sent_currency)?;
    let paid_amount = match sent_currency {
        Some(currency) if released => paid_amount(&r, currency)?,
        _ => None,
    };
    let prices = prices(&r, &lines, total.or(paid_amount), unit_prices, released)?;
    let customer = if released { customer(&r)? } else { None };
    Ok(MarketplaceOrder {
        id,
        sales_channel,
        created_at,
        updated_at,
        state,
        lines,
        currency,
        prices,
        paid_amount,
        customer,
        accept_until: None,
        seller_id: None,
    })
}

/// The order's prices when Amazon sent them. A Pending order has none (Amazon omits pricing
/// until the payment is authorised) or, rarely, some; partial prices of a Pending order are
/// ignored. A released order must price every line, else it is rejected naming the field.
fn prices(
    r: &Reader<'_>,
    lines: &[OrderLine],
    total: Option<Money>,
    unit_prices: Vec<LinePrice>,
    released: bool,
) -> Result<Option<Prices>, Invalid> {
    if total.is_none() && unit_prices.is_empty() {
        return Ok(None);
    }
    let Some(total) = total else {
        return if released {
            r.fail("proceeds.grandTotal", "missing on a released order that has item prices")
        } else {
            Ok(None)
        };
    };
    match Prices::new(lines, total, unit_prices) {
        Ok(prices) => Ok(Some(prices)),
        Err(_) if !released => Ok(None),
        Err(PricingError::LineWithoutPrice(item)) => {
            let index = lines.iter().position(|l| l.item_id == item).unwrap_or_default();
            r.fail(&format!("orderItems[{index}].product.price.unitPrice"), "missing on a released order")
        }
        Err(error) => r.fail("orderItems", error),
    }
}

/// The currency Amazon prices orders in, by marketplace id (Amazon's published marketplace ids).
pub fn default_currency(marketplace_id: &str) -> Option<Currency> {
    let code = match marketplace_id {
        "A1PA6795UKMFR9" | "A1RKKUPIHCS9HS" | "A13V1IB3VIYZZH" | "APJ6JRA9NG5V4" | "A1805IZSGTT6HS"
        | "AMEN7PMS3EDWL" | "A28R8C7NBKEWEA" => "EUR",
        "A1F83G8C2ARO7P" => "GBP",
        "A2NODRKZP88ZB9" => "SEK",
        "A1C3SOZRARQ6R3" => "PLN",
        "A33AVAJ2PDY3EV" => "TRY",
        "A2VIGQ35RCS4UG" => "AED",
        "A17E79C6D8DWNP" => "SAR",
        "ARBP9OOSHTCHU" => "EGP",
        "A21TJRUUN4KGV" => "INR",
        "AE08WJ6YKNBMC" => "ZAR",
        "ATVPDKIKX0DER" => "USD",
        "A2EUQ1WTGCTBG2" => "CAD",
        "A1AM78C64UM0Y8" => "MXN",
        "A2Q3Y263D00KWC" => "BRL",
        "A1VC38T7YXB528" => "JPY",
        "A39IBJ37TRP1C6" => "AUD",
        "A19VAU5U5O7RUS" => "SGD",
        _ => return None,
    };
    Currency::parse(code).ok()
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
        assert_eq!(order.lines[0].quantity_ordered, 2);
        let prices = order.prices.unwrap();
        assert_eq!(prices.total.minor_units, 3998);
        assert_eq!(prices.unit_price(&order.lines[0].item_id).unwrap().minor_units, 1999);
    }

    /// What Amazon sends for an order whose payment is not yet authorised: no pricing, no
    /// proceeds, no payment, no buyer, no recipient.
    fn pending_order_as_amazon_sends_it() -> Value {
        json!({
            "orderId": "302-1111111-3333333",
            "createdTime": "2026-11-28T10:00:00Z",
            "lastUpdatedTime": "2026-11-28T10:00:00Z",
            "salesChannel": {"channelName": "AMAZON", "marketplaceId": "A1F83G8C2ARO7P"},
            "fulfillment": {"fulfillmentStatus": "PENDING"},
            "orderItems": [{"orderItemId": "11111111111111", "quantityOrdered": 3,
                "product": {"asin": "B000000001", "sellerSku": "SKU-1", "title": "Mug"}}]
        })
    }

    #[test]
    fn pending_order_without_prices_reads_with_items_and_no_money() {
        let order = parse_order(&pending_order_as_amazon_sends_it()).unwrap();
        assert_eq!(order.state, MarketplaceOrderState::Pending);
        assert!(order.prices.is_none());
        assert!(order.paid_amount.is_none());
        assert!(order.customer.is_none());
        let line = &order.lines[0];
        assert_eq!(
            (
                line.marketplace_product_id.as_deref(),
                line.sku.as_deref(),
                line.title.as_deref(),
                line.quantity_ordered
            ),
            (Some("B000000001"), Some("SKU-1"), Some("Mug"), 3)
        );
        // The currency comes from the marketplace id, never as an amount.
        assert_eq!(order.currency.unwrap().code(), "GBP");
    }

    #[test]
    fn pending_order_of_an_unknown_marketplace_has_no_currency_and_still_reads() {
        let mut raw = pending_order_as_amazon_sends_it();
        raw["salesChannel"]["marketplaceId"] = json!("AXXXXXXXXXXXXX");
        let order = parse_order(&raw).unwrap();
        assert!(order.currency.is_none());
        assert!(order.prices.is_none());
    }

    #[test]
    fn released_order_missing_an_item_price_is_rejected_naming_the_item() {
        let mut raw = released_order();
        raw["orderItems"][0]["product"].as_object_mut().unwrap().remove("price");
        let error = parse_order(&raw).unwrap_err();
        assert!(error.reason.contains("orderItems[0].product.price.unitPrice"), "{}", error.reason);
    }

    #[test]
    fn released_order_without_grand_total_is_priced_by_its_payment() {
        let mut raw = released_order();
        raw.as_object_mut().unwrap().remove("proceeds");
        let order = parse_order(&raw).unwrap();
        assert_eq!(order.prices.unwrap().total.minor_units, 3998);
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
