//! JTL's `Order` (the payload of `Channel:Order.New`) as a [`MarketplaceOrder`], and the
//! pieces other events share: order ids, statuses and addresses.

use super::wire::{Fields, Invalid};
use crate::domain::{
    Address, Currency, Customer, LinePrice, MarketplaceOrder, MarketplaceOrderId, MarketplaceOrderState,
    Money, OrderItemId, OrderLine, Prices,
};

/// The order an event is about: `"{channel}:{orderId}"`, since `orderId` is unique only per
/// seller and channel and one account sells on several channels.
pub struct OrderRef {
    pub channel: String,
    pub id: MarketplaceOrderId,
}

pub fn order_ref(event: Fields<'_>) -> Result<OrderRef, Invalid> {
    let channel = event.str("channel")?.to_string();
    let order_id = event.str("orderId")?;
    let id = MarketplaceOrderId::parse(format!("{channel}:{order_id}"))
        .map_err(|e| Invalid::new(event.field("orderId"), e.reason))?;
    Ok(OrderRef { channel, id })
}

pub fn item_id(item: Fields<'_>) -> Result<OrderItemId, Invalid> {
    OrderItemId::parse(item.str("orderItemId")?)
        .map_err(|e| Invalid::new(item.field("orderItemId"), e.reason))
}

/// JTL's `orderStatus`. `UNACKED` (to be accepted by the seller) and `CREATED` (for stock
/// reservation, maybe without address) must not ship.
pub fn order_state(event: Fields<'_>, name: &str) -> Result<Option<MarketplaceOrderState>, Invalid> {
    let Some(status) = event.opt_str(name)? else {
        return Ok(None);
    };
    Ok(Some(match status {
        "UNACKED" | "CREATED" => MarketplaceOrderState::Pending,
        "ACCEPTED" => MarketplaceOrderState::Released,
        "PARTIALLY_SHIPPED" => MarketplaceOrderState::PartiallyShipped,
        "SHIPPED" => MarketplaceOrderState::Shipped,
        "CANCELED_BY_SELLER" | "CANCELED_BY_BUYER" => MarketplaceOrderState::Cancelled,
        _ => return Err(Invalid::new(event.field(name), "is not a known order status")),
    }))
}

/// What JTL's `itemStatus` says of a line's units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemStatus {
    Unshipped,
    Shipped,
    Cancelled,
    Returned,
}

pub fn item_status(item: Fields<'_>) -> Result<Option<ItemStatus>, Invalid> {
    Ok(match item.opt_str("itemStatus")? {
        None => None,
        Some("UNSHIPPED") => Some(ItemStatus::Unshipped),
        Some("SHIPPED") => Some(ItemStatus::Shipped),
        Some("CANCELED_BY_SELLER" | "CANCELED_BY_BUYER") => Some(ItemStatus::Cancelled),
        Some("RETURNED" | "REFUNDED") => Some(ItemStatus::Returned),
        Some(_) => return Err(Invalid::new(item.field("itemStatus"), "is not a known item status")),
    })
}

/// The buyer and shipping address of an event carrying `shippingAddress` (and `buyer`);
/// None without a shipping address (`CREATED` orders may have none yet).
pub fn customer(event: Fields<'_>) -> Result<Option<Customer>, Invalid> {
    let Some(raw) = event.get("shippingAddress") else {
        return Ok(None);
    };
    let path = event.field("shippingAddress");
    let address = Fields::new(raw, &path);
    let name = [address.opt_str("firstName")?, address.opt_str("lastName")?]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let company = address.opt_str("companyName")?.map(str::to_string);
    if name.is_empty() && company.is_none() {
        return Err(Invalid::new(path, "names neither a person nor a company"));
    }
    let street = [address.str("street")?, address.opt_str("houseNumber")?.unwrap_or("")]
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let mut lines = vec![street];
    lines.extend(address.opt_str("addition")?.map(str::to_string));
    let country = address.str("country")?;
    if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(Invalid::new(address.field("country"), "is not an ISO 3166 alpha-2 code"));
    }
    let buyer_path = event.field("buyer");
    let buyer_email = match event.get("buyer") {
        Some(buyer) => Fields::new(buyer, &buyer_path).opt_str("email")?.map(str::to_string),
        None => None,
    };
    Ok(Some(Customer {
        buyer_name: (!name.is_empty()).then(|| name.clone()),
        buyer_email,
        company: company.clone(),
        shipping_address: Address {
            name,
            company,
            lines,
            city: address.str("city")?.to_string(),
            postal_code: address.opt_str("postcode")?.map(str::to_string),
            region: None,
            country_code: country.to_string(),
            phone: address.opt_str("phone")?.map(str::to_string),
        },
    }))
}

/// A new order's payload. Only `ITEM` lines are order lines; `SHIPPING` and `PAYMENT` lines
/// count into the total. Amounts are decimal strings, parsed exactly in the order's currency.
pub fn parse_order(event: Fields<'_>) -> Result<MarketplaceOrder, Invalid> {
    let order = order_ref(event)?;
    let state = order_state(event, "orderStatus")?
        .ok_or_else(|| Invalid::new(event.field("orderStatus"), "is missing"))?;
    let currency = Currency::parse(event.str("currency")?)
        .map_err(|e| Invalid::new(event.field("currency"), e.to_string()))?;
    let updated_at = event.time("lastChangedAt")?;
    let created_at = event.opt_time("purchasedAt")?.unwrap_or(updated_at);
    let accept_until = match event.opt_str("orderStatus")? {
        Some("UNACKED") => event.opt_time("orderAcceptUntil")?,
        _ => None,
    };
    let items = event.array("orderItem")?;
    let mut lines = Vec::new();
    let mut unit_prices = Vec::new();
    let mut total: Option<Money> = None;
    for (n, raw) in items.iter().enumerate() {
        let path = format!("{}[{n}]", event.field("orderItem"));
        let item = Fields::new(raw, &path);
        let id = item_id(item)?;
        let quantity = item.quantity("quantity")?;
        let money = |name: &str| -> Result<Option<Money>, Invalid> {
            item.opt_str(name)?
                .map(|amount| Money::parse(amount.trim(), currency))
                .transpose()
                .map_err(|e| Invalid::new(item.field(name), e.to_string()))
        };
        let gross =
            money("grossPrice")?.ok_or_else(|| Invalid::new(item.field("grossPrice"), "is missing"))?;
        let line_total = match money("total")? {
            Some(total) => total,
            None => gross
                .minor_units
                .checked_mul(i64::from(quantity))
                .map(|minor| Money::new(minor, currency))
                .ok_or_else(|| {
                    Invalid::new(item.field("grossPrice"), "times the quantity is out of range")
                })?,
        };
        total = Some(match total {
            None => line_total,
            Some(sum) => {
                sum.checked_add(line_total).map_err(|e| Invalid::new(item.field("total"), e.to_string()))?
            }
        });
        match item.opt_str("type")? {
            Some("ITEM") => {}
            Some("SHIPPING" | "PAYMENT") => continue,
            Some(_) => return Err(Invalid::new(item.field("type"), "is not ITEM, SHIPPING or PAYMENT")),
            None => return Err(Invalid::new(item.field("type"), "is missing")),
        }
        let mut line = OrderLine::new(
            id.clone(),
            item.opt_str("sku")?.map(str::to_string),
            item.opt_str("title")?.map(str::to_string),
            item.opt_str("channelOfferId")?.map(str::to_string),
            quantity,
        );
        match item_status(item)? {
            None | Some(ItemStatus::Unshipped) => {}
            Some(ItemStatus::Shipped) => line.quantity_shipped = quantity,
            Some(ItemStatus::Cancelled) => line.quantity_cancelled = quantity,
            Some(ItemStatus::Returned) => {
                line.quantity_shipped = quantity;
                line.quantity_returned = quantity;
            }
        }
        line.paid = item.opt_str("itemPaymentStatus")? == Some("PAID");
        if lines.iter().any(|l: &OrderLine| l.item_id == id) {
            return Err(Invalid::new(item.field("orderItemId"), "repeats another line's id"));
        }
        lines.push(line);
        unit_prices.push(LinePrice { item_id: id, unit_price: gross });
    }
    if lines.is_empty() {
        return Err(Invalid::new(event.field("orderItem"), "has no ITEM line"));
    }
    let total = total.ok_or_else(|| Invalid::new(event.field("orderItem"), "is empty"))?;
    let prices = Prices::new(&lines, total, unit_prices)
        .map_err(|e| Invalid::new(event.field("orderItem"), e.to_string()))?;
    Ok(MarketplaceOrder {
        id: order.id,
        sales_channel: order.channel,
        created_at,
        updated_at,
        state,
        lines,
        currency: Some(currency),
        prices: Some(prices),
        paid_amount: None,
        customer: customer(event)?,
        accept_until,
        seller_id: event.opt_str("sellerId")?.map(str::to_string),
    })
}
