//! Orders rendered as the Orders API 2026-01-01 `Order` model (malformed ones broken).

use serde_json::{json, Map, Value};

use crate::codec::{amount, timestamp};
use crate::config::{marketplace, minor_digits};
use crate::model::{Item, Order};

/// Which `includedData` sections to render.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Included {
    pub buyer: bool,
    pub recipient: bool,
    pub proceeds: bool,
    pub fulfillment: bool,
    pub packages: bool,
    pub payment: bool,
}

/// Accepted by the model but carrying nothing in the sandbox.
const SILENT: &[&str] = &["EXPENSE", "PROMOTION", "CANCELLATION", "TAX", "FULFILLMENT_ORDERS"];

impl Included {
    pub(crate) fn all() -> Self {
        Self {
            buyer: true,
            recipient: true,
            proceeds: true,
            fulfillment: true,
            packages: true,
            payment: true,
        }
    }

    /// Err carries the first value not in the model's enum.
    pub(crate) fn parse(values: &[String]) -> Result<Self, String> {
        let mut inc = Self::default();
        for v in values {
            match v.as_str() {
                "BUYER" => inc.buyer = true,
                "RECIPIENT" => inc.recipient = true,
                "PROCEEDS" => inc.proceeds = true,
                "FULFILLMENT" => inc.fulfillment = true,
                "PACKAGES" => inc.packages = true,
                "PAYMENT" => inc.payment = true,
                other if SILENT.contains(&other) => {}
                other => return Err(other.to_string()),
            }
        }
        Ok(inc)
    }
}

fn money(minor: i64, currency: &str) -> Value {
    json!({ "amount": amount(minor, minor_digits(currency)), "currencyCode": currency })
}

fn put(map: &mut Map<String, Value>, key: &str, value: impl Into<Value>) {
    map.insert(key.to_string(), value.into());
}

pub(crate) fn order(o: &Order, inc: Included, currency: &str) -> Value {
    let mut m = Map::new();
    put(&mut m, "orderId", o.id.clone());
    put(&mut m, "createdTime", timestamp(o.created));
    put(&mut m, "lastUpdatedTime", timestamp(o.updated));
    put(
        &mut m,
        "salesChannel",
        json!({
            "channelName": "AMAZON",
            "marketplaceId": o.marketplace_id,
            "marketplaceName": marketplace(&o.marketplace_id).name,
        }),
    );
    if inc.buyer {
        put(&mut m, "buyer", buyer(o));
    }
    if inc.recipient && o.released {
        put(&mut m, "recipient", recipient(o));
    }
    if inc.proceeds {
        put(&mut m, "proceeds", json!({ "grandTotal": money(o.total_cents(), currency) }));
    }
    if inc.payment && o.released {
        put(
            &mut m,
            "payment",
            json!({ "paymentExecutions": [{
                "paymentMethod": "Other",
                "paymentAmount": money(o.total_cents(), currency),
            }]}),
        );
    }
    if inc.fulfillment {
        put(
            &mut m,
            "fulfillment",
            json!({
                "fulfillmentStatus": o.status.as_str(),
                "fulfilledBy": "MERCHANT",
                "fulfillmentServiceLevel": "STANDARD",
            }),
        );
    }
    let items: Vec<Value> = o.items.iter().map(|i| item(i, inc, currency)).collect();
    put(&mut m, "orderItems", items);
    if inc.packages && !o.packages.is_empty() {
        let packages: Vec<Value> = o
            .packages
            .iter()
            .map(|p| {
                let mut pm = Map::new();
                put(&mut pm, "packageReferenceId", p.reference_id.clone());
                put(&mut pm, "createdTime", timestamp(p.created));
                put(&mut pm, "packageStatus", json!({ "status": "SHIPPED" }));
                put(&mut pm, "carrier", p.carrier.clone());
                put(&mut pm, "shipTime", timestamp(p.ship_time));
                if let Some(s) = &p.shipping_service {
                    put(&mut pm, "shippingService", s.clone());
                }
                put(&mut pm, "trackingNumber", p.tracking_number.clone());
                let items: Vec<Value> =
                    p.items.iter().map(|(id, q)| json!({ "orderItemId": id, "quantity": q })).collect();
                put(&mut pm, "packageItems", items);
                Value::Object(pm)
            })
            .collect();
        put(&mut m, "packages", packages);
    }
    let mut v = Value::Object(m);
    if let Some(malformation) = o.malformed {
        malformation.apply(&mut v);
    }
    v
}

fn buyer(o: &Order) -> Value {
    let b = &o.buyer;
    let mut m = Map::new();
    // Before payment release real marketplaces sometimes already send the (anonymized)
    // email; the full identity only comes afterwards.
    if o.released {
        put(&mut m, "buyerName", b.name.clone());
    }
    put(&mut m, "buyerEmail", b.email.clone());
    if o.released {
        if let Some(c) = &b.company {
            put(&mut m, "buyerCompanyName", c.clone());
        }
    }
    Value::Object(m)
}

fn recipient(o: &Order) -> Value {
    let b = &o.buyer;
    let mut a = Map::new();
    put(&mut a, "name", b.name.clone());
    put(&mut a, "addressLine1", b.address_line1.clone());
    if let Some(l2) = &b.address_line2 {
        put(&mut a, "addressLine2", l2.clone());
    }
    put(&mut a, "city", b.city.clone());
    if let Some(s) = &b.state_or_region {
        put(&mut a, "stateOrRegion", s.clone());
    }
    put(&mut a, "postalCode", b.postal_code.clone());
    put(&mut a, "countryCode", b.country_code.clone());
    put(&mut a, "phone", b.phone.clone());
    put(&mut a, "addressType", "RESIDENTIAL");
    json!({ "deliveryAddress": a })
}

fn item(i: &Item, inc: Included, currency: &str) -> Value {
    let mut m = Map::new();
    put(&mut m, "orderItemId", i.id.clone());
    put(&mut m, "quantityOrdered", i.quantity);
    put(
        &mut m,
        "product",
        json!({
            "asin": i.asin,
            "title": i.title,
            "sellerSku": i.sku,
            "price": { "unitPrice": money(i.unit_cents, currency) },
        }),
    );
    if inc.proceeds {
        put(
            &mut m,
            "proceeds",
            json!({ "proceedsTotal": money(i.unit_cents * i64::from(i.quantity), currency) }),
        );
    }
    if inc.fulfillment {
        put(
            &mut m,
            "fulfillment",
            json!({
                "quantityFulfilled": i.shipped,
                "quantityUnfulfilled": i.quantity - i.shipped,
            }),
        );
    }
    Value::Object(m)
}
