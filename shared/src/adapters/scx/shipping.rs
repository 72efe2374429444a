//! The body of `PUT /v1/seller/order/shipping` for one package.
//!
//! JTL's `shippingItems` entry has one `trackingNumber`, must list at least one unit, and the
//! channel counts units per tracking number. A package with several tracking numbers (parcels
//! of the same lines) is therefore sent as one entry per tracking number, the units spread so
//! that every parcel carries at least one: each further tracking number takes one unit, the
//! first takes the rest. Sending every unit under every tracking number would ship them
//! several times over; tracking numbers beyond the package's unit count cannot be sent and
//! are left out (the package's first ones are kept). The return label's tracking goes with the
//! first entry.

use crate::domain::{Package, SalesOrder};
use serde_json::{json, Value};

/// `orderList` with this package's one entry.
pub fn shipping_body(
    seller_id: &str,
    channel: &str,
    order_id: &str,
    order: &SalesOrder,
    package: &Package,
) -> Value {
    let parcels = parcels(package);
    let items: Vec<Value> = package
        .tracking_ids
        .iter()
        .zip(parcels)
        .enumerate()
        .map(|(n, (tracking, units))| {
            let mut item = json!({
                "carrier": package.carrier,
                "trackingNumber": tracking,
                "shippedAt": package.ship_date.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
                "orderItemIdList": units
                    .iter()
                    .map(|(id, quantity)| json!({"orderItemId": id, "quantity": quantity}))
                    .collect::<Vec<_>>(),
            });
            if let (0, Some(returns)) = (n, &package.return_tracking_id) {
                item["returnTracking"] = json!({"carrier": package.carrier, "trackingNumber": returns});
            }
            item
        })
        .collect();
    json!({
        "orderList": [{
            "sellerId": seller_id,
            "channel": channel,
            "orderId": order_id,
            "shippingComplete": order.completed_by(package),
            "shippingItems": items,
        }]
    })
}

/// Tracking numbers the shape cannot carry (more than the package has units).
pub fn unsendable_tracking_ids(package: &Package) -> usize {
    package.tracking_ids.len().saturating_sub(parcels(package).len())
}

/// Units per parcel, as `(orderItemId, quantity)`: one unit for each tracking number after the
/// first (taken from the last lines), the rest for the first.
fn parcels(package: &Package) -> Vec<Vec<(String, u32)>> {
    let mut rest: Vec<(String, u32)> = package
        .lines
        .iter()
        .filter(|l| l.quantity > 0)
        .map(|l| (l.item_id.to_string(), l.quantity))
        .collect();
    let total: u32 = rest.iter().map(|(_, q)| *q).sum();
    let wanted = package.tracking_ids.len().min(total as usize);
    let mut further = Vec::new();
    for _ in 1..wanted {
        let Some(last) = rest.iter_mut().rev().find(|(_, q)| *q > 0) else { break };
        last.1 -= 1;
        further.push(vec![(last.0.clone(), 1)]);
    }
    rest.retain(|(_, q)| *q > 0);
    if rest.is_empty() {
        return further;
    }
    let mut all = vec![rest];
    all.extend(further.into_iter().rev());
    all
}
