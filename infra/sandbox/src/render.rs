//! Orders rendered as the Orders API 2026-01-01 `Order` model (malformed ones broken),
//! with what Amazon documents it withholds left out:
//!
//! - Before payment is authorized (`PENDING_AVAILABILITY`, `PENDING`) there is no buyer,
//!   no recipient, no payment and no money at all: getOrderItems (v0) "does not return
//!   information about pricing, taxes, shipping charges, gift status or promotions" for a
//!   pending order, and `proceeds` and `product.price` are optional in 2026-01-01.
//! - The delivery address only for `UNSHIPPED`, `PARTIALLY_SHIPPED` and `SHIPPED` orders
//!   (v0 `ShippingAddress`), without the phone for FBA orders and for shipped FBM orders
//!   past their latest delivery date.
//! - `buyerEmail`, `packages`, `shipByWindow` and `deliverByWindow` only for FBM orders; no
//!   latest delivery date while pending or once cancelled (v0 `LatestDeliveryDate`).

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Map, Value};

use crate::codec::{amount, timestamp};
use crate::config::{marketplace, minor_digits};
use crate::model::{Item, Order, Package, Status};

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

/// The seller's shipping promise, counted from the order's creation: ship within two
/// days, deliver between day three and day seven.
const SHIP_BY_DAYS: i64 = 2;
const DELIVER_FROM_DAYS: i64 = 3;
const DELIVER_BY_DAYS: i64 = 7;

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

/// The end of the order's delivery promise, after which Amazon stops showing the phone of a
/// shipped FBM order.
fn latest_delivery(o: &Order) -> DateTime<Utc> {
    o.created + Duration::days(DELIVER_BY_DAYS)
}

fn money(minor: i64, currency: &str) -> Value {
    json!({ "amount": amount(minor, minor_digits(currency)), "currencyCode": currency })
}

fn put(map: &mut Map<String, Value>, key: &str, value: impl Into<Value>) {
    map.insert(key.to_string(), value.into());
}

/// The order as Amazon shows it at `now` with the `inc` sections requested.
pub(crate) fn order(o: &Order, inc: Included, currency: &str, now: DateTime<Utc>) -> Value {
    // Everything that depends on an authorized payment; a pre-release cancellation never
    // had one either.
    let paid = o.released;
    let mut m = Map::new();
    put(&mut m, "orderId", o.id.clone());
    put(&mut m, "createdTime", timestamp(o.created));
    put(&mut m, "lastUpdatedTime", timestamp(o.updated));
    if o.preorder {
        put(&mut m, "programs", json!(["PREORDER"]));
    }
    put(
        &mut m,
        "salesChannel",
        json!({
            "channelName": "AMAZON",
            "marketplaceId": o.marketplace_id,
            "marketplaceName": marketplace(&o.marketplace_id).name,
        }),
    );
    if inc.buyer && paid {
        put(&mut m, "buyer", buyer(o));
    }
    let ships = matches!(o.status, Status::Unshipped | Status::PartiallyShipped | Status::Shipped);
    if inc.recipient && paid && ships {
        put(&mut m, "recipient", recipient(o, now));
    }
    if inc.proceeds && paid {
        put(&mut m, "proceeds", json!({ "grandTotal": money(o.total_cents(), currency) }));
    }
    if inc.payment && paid {
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
        put(&mut m, "fulfillment", fulfillment(o));
    }
    let items: Vec<Value> = o.items.iter().map(|i| item(i, inc, paid, currency)).collect();
    put(&mut m, "orderItems", items);
    if inc.packages && o.is_fbm() && !o.packages.is_empty() {
        put(&mut m, "packages", o.packages.iter().map(package).collect::<Vec<_>>());
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
    put(&mut m, "buyerName", b.name.clone());
    // "Only available for merchant-fulfilled (FBM) orders."
    if o.is_fbm() {
        put(&mut m, "buyerEmail", b.email.clone());
    }
    if let Some(c) = &b.company {
        put(&mut m, "buyerCompanyName", c.clone());
    }
    Value::Object(m)
}

fn recipient(o: &Order, now: DateTime<Utc>) -> Value {
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
    // Suppressed for "all FBA orders" and for "shipped FBM orders when current date is past
    // the latest delivery date".
    let past_delivery = o.status == Status::Shipped && now > latest_delivery(o);
    if o.is_fbm() && !past_delivery {
        put(&mut a, "phone", b.phone.clone());
    }
    put(&mut a, "addressType", "RESIDENTIAL");
    json!({ "deliveryAddress": a })
}

/// The seller's shipping and delivery promise of an order.
pub(crate) struct Promise {
    pub ship_from: DateTime<Utc>,
    pub ship_by: DateTime<Utc>,
    pub deliver_from: DateTime<Utc>,
    /// v0 `LatestDeliveryDate`: only for orders "that do not have a PendingAvailability,
    /// Pending, or Canceled status".
    pub deliver_by: Option<DateTime<Utc>>,
}

pub(crate) fn promise(o: &Order) -> Promise {
    Promise {
        ship_from: o.created,
        ship_by: o.created + Duration::days(SHIP_BY_DAYS),
        deliver_from: o.created + Duration::days(DELIVER_FROM_DAYS),
        deliver_by: (!o.status.is_pending() && o.status != Status::Cancelled).then(|| latest_delivery(o)),
    }
}

fn fulfillment(o: &Order) -> Value {
    let mut m = Map::new();
    put(&mut m, "fulfillmentStatus", o.status.as_str());
    put(&mut m, "fulfilledBy", o.channel.as_str());
    put(&mut m, "fulfillmentServiceLevel", "STANDARD");
    // Ship and delivery dates are "only returned for seller-fulfilled orders".
    if o.is_fbm() {
        let p = promise(o);
        put(
            &mut m,
            "shipByWindow",
            json!({ "earliestDateTime": timestamp(p.ship_from), "latestDateTime": timestamp(p.ship_by) }),
        );
        let mut deliver = Map::new();
        put(&mut deliver, "earliestDateTime", timestamp(p.deliver_from));
        if let Some(latest) = p.deliver_by {
            put(&mut deliver, "latestDateTime", timestamp(latest));
        }
        put(&mut m, "deliverByWindow", deliver);
    }
    Value::Object(m)
}

fn item(i: &Item, inc: Included, paid: bool, currency: &str) -> Value {
    let mut m = Map::new();
    put(&mut m, "orderItemId", i.id.clone());
    put(&mut m, "quantityOrdered", i.quantity);
    let mut product = Map::new();
    put(&mut product, "asin", i.asin.clone());
    put(&mut product, "title", i.title.clone());
    put(&mut product, "sellerSku", i.sku.clone());
    if paid {
        put(&mut product, "price", json!({ "unitPrice": money(i.unit_cents, currency) }));
    }
    put(&mut m, "product", product);
    if inc.proceeds && paid {
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

fn package(p: &Package) -> Value {
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
}
