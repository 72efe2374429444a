//! The Orders v0 `confirmShipment` request body for one package.

use super::position::iso;
use crate::domain::{Package, SalesOrder};
use serde_json::{json, Value};

/// Carrier codes Amazon accepts as `carrierCode`; any other carrier is sent as "Other" with its
/// name in `carrierName`.
const CARRIER_CODES: &[&str] = &[
    "Amazon Shipping",
    "Amzl",
    "Australia Post",
    "Blue Dart",
    "BRT",
    "Canada Post",
    "Chronopost",
    "Colissimo",
    "Correos",
    "DHL",
    "DHL Freight",
    "DHL Home Delivery",
    "DPD",
    "Deutsche Post",
    "FedEx",
    "GLS",
    "Hermes",
    "Hermes Logistik Gruppe",
    "Japan Post",
    "La Poste",
    "Parcelforce",
    "Poste Italiane",
    "PostNL",
    "Royal Mail",
    "SDA",
    "TNT",
    "UPS",
    "UPS Mail Innovations",
    "USPS",
    "Yamato Transport",
    "Yodel",
];

pub fn confirm_shipment_body(order: &SalesOrder, package: &Package) -> Value {
    let known = CARRIER_CODES.iter().find(|c| c.eq_ignore_ascii_case(package.carrier.trim()));
    let mut detail = json!({
        "packageReferenceId": package.id.to_string(),
        "carrierCode": known.copied().unwrap_or("Other"),
        // Amazon takes one tracking number per package: the first one.
        "trackingNumber": package.tracking_id(),
        "shipDate": iso(package.ship_date),
        "orderItems": package.lines.iter().map(|l| json!({
            "orderItemId": l.item_id.as_str(),
            "quantity": l.quantity,
        })).collect::<Vec<_>>(),
    });
    if known.is_none() {
        detail["carrierName"] = json!(package.carrier);
    }
    if let Some(method) = &package.shipping_method {
        detail["shippingMethod"] = json!(method);
    }
    json!({ "marketplaceId": order.sales_channel, "packageDetail": detail })
}
