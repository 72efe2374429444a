//! `confirmShipment` (Orders API v0): validation, idempotent repeats, and the effect on
//! the order (item quantities, packages, status).

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::api::{ApiError, ApiResult};
use crate::codec::parse_time;
use crate::config::supports_cod_collection;
use crate::model::{Confirmation, Package, State, Status};

/// The only `codCollectionMethod` in the model's enum.
const DIRECT_PAYMENT: &str = "DirectPayment";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Body {
    marketplace_id: Option<String>,
    package_detail: Option<PackageDetail>,
    cod_collection_method: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PackageDetail {
    package_reference_id: Option<String>,
    carrier_code: Option<String>,
    carrier_name: Option<String>,
    shipping_method: Option<String>,
    tracking_number: Option<String>,
    ship_date: Option<String>,
    // Accepted and not used by the sandbox; typed so that a wrong type is refused.
    #[serde(rename = "shipFromSupplySourceId")]
    _ship_from_supply_source_id: Option<String>,
    order_items: Option<Vec<ItemBody>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ItemBody {
    order_item_id: Option<String>,
    quantity: Option<i64>,
    #[serde(rename = "transparencyCodes")]
    _transparency_codes: Option<Vec<String>>,
}

fn required(value: Option<String>, name: &str) -> Result<String, ApiError> {
    value.filter(|v| !v.trim().is_empty()).ok_or_else(|| ApiError::invalid(format!("{name} is required.")))
}

pub(crate) fn confirm_shipment(
    st: &mut State,
    seller_id: &str,
    order_id: &str,
    body: &[u8],
    now: DateTime<Utc>,
) -> ApiResult {
    let order = st
        .seller_order(seller_id, order_id)
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("Order {order_id} not found.")))?;
    let not_a_request = |e: serde_json::Error| {
        ApiError::invalid("The request body is not a valid ConfirmShipmentRequest.")
            .with_details(e.to_string())
    };
    let raw: Value = serde_json::from_slice(body).map_err(not_a_request)?;
    let body: Body = Body::deserialize(&raw).map_err(not_a_request)?;
    let marketplace_id = required(body.marketplace_id, "marketplaceId")?;
    if marketplace_id != order.marketplace_id {
        return Err(ApiError::invalid(format!(
            "marketplaceId {marketplace_id} does not match the order's marketplace."
        )));
    }
    if let Some(method) = body.cod_collection_method {
        if method != DIRECT_PAYMENT {
            return Err(ApiError::invalid(format!(
                "codCollectionMethod must be {DIRECT_PAYMENT}, not {method}."
            )));
        }
        if !supports_cod_collection(&marketplace_id) {
            return Err(ApiError::invalid("codCollectionMethod is only supported in the JP marketplace."));
        }
    }
    let detail = body.package_detail.ok_or_else(|| ApiError::invalid("packageDetail is required."))?;
    let package_reference_id = required(detail.package_reference_id, "packageReferenceId")?;
    let positive_numeric = package_reference_id.bytes().all(|b| b.is_ascii_digit())
        && package_reference_id.bytes().any(|b| b != b'0');
    if !positive_numeric {
        return Err(ApiError::invalid("packageReferenceId must be a positive numeric value."));
    }
    let carrier_code = required(detail.carrier_code, "carrierCode")?;
    let carrier_name = detail.carrier_name.filter(|n| !n.trim().is_empty());
    if carrier_code == "Other" && carrier_name.is_none() {
        return Err(ApiError::invalid("carrierName is required when carrierCode is Other."));
    }
    let tracking_number = required(detail.tracking_number, "trackingNumber")?;
    let ship_date = required(detail.ship_date, "shipDate")?;
    let ship_time =
        parse_time(&ship_date).ok_or_else(|| ApiError::invalid("shipDate must be an ISO 8601 date-time."))?;
    let raw_items = detail.order_items.unwrap_or_default();
    if raw_items.is_empty() {
        return Err(ApiError::invalid("orderItems must not be empty."));
    }
    let mut items: Vec<(String, u32)> = Vec::with_capacity(raw_items.len());
    for item in raw_items {
        let id = required(item.order_item_id, "orderItemId")?;
        if !order.items.iter().any(|i| i.id == id) {
            return Err(ApiError::invalid(format!("orderItemId {id} is not part of order {order_id}.")));
        }
        let quantity =
            item.quantity.filter(|q| *q > 0).and_then(|q| u32::try_from(q).ok()).ok_or_else(|| {
                ApiError::invalid(format!("quantity of orderItemId {id} must be a positive integer."))
            })?;
        items.push((id, quantity));
    }
    let confirmation = Confirmation {
        order_id: order_id.to_string(),
        marketplace_id,
        package_reference_id,
        carrier_code,
        carrier_name,
        shipping_method: detail.shipping_method.filter(|m| !m.trim().is_empty()),
        tracking_number,
        ship_date,
        items,
        received_at: now,
    };

    // Idempotency before state checks: a retried confirmation must succeed even though
    // the first attempt already shipped the items.
    if let Some(earlier) = st
        .confirmations
        .iter()
        .find(|c| c.order_id == order_id && c.package_reference_id == confirmation.package_reference_id)
    {
        if same_content(earlier, &confirmation) {
            st.duplicate_confirmations += 1;
            st.confirmation_bodies.push(raw);
            tracing::info!(order_id, package = %confirmation.package_reference_id, "duplicate shipment confirmation ignored");
            return Ok((StatusCode::NO_CONTENT, None));
        }
        return Err(ApiError::invalid(format!(
            "packageReferenceId {} was already confirmed for this order with different content.",
            confirmation.package_reference_id
        )));
    }

    let reason = match order.status {
        Status::Pending | Status::PendingAvailability => {
            Some("the order is pending (payment not yet released)")
        }
        Status::Cancelled => Some("the order has been cancelled"),
        Status::Unfulfillable => Some("the order is unfulfillable"),
        Status::Unshipped | Status::PartiallyShipped | Status::Shipped => None,
    };
    // The Orders API serves FBA orders "read only": Amazon ships them, not the seller.
    let reason = reason.or((!order.is_fbm()).then_some("the order is fulfilled by Amazon"));
    if let Some(reason) = reason {
        return Err(ApiError::invalid(format!("Order {order_id} cannot be shipped: {reason}.")));
    }
    for item in &order.items {
        let wanted: u32 = confirmation.items.iter().filter(|(id, _)| *id == item.id).map(|(_, q)| q).sum();
        let open = item.quantity - item.shipped;
        if wanted > open {
            return Err(ApiError::invalid(format!(
                "quantity {wanted} of orderItemId {} exceeds the {open} unit(s) not yet shipped.",
                item.id
            )));
        }
    }

    let order = st.order_mut(order_id).expect("order looked up above");
    for (id, quantity) in &confirmation.items {
        if let Some(item) = order.items.iter_mut().find(|i| i.id == *id) {
            item.shipped += quantity;
        }
    }
    order.packages.push(Package {
        reference_id: confirmation.package_reference_id.clone(),
        created: now,
        carrier: match (&confirmation.carrier_name, confirmation.carrier_code.as_str()) {
            (Some(name), "Other") => name.clone(),
            _ => confirmation.carrier_code.clone(),
        },
        shipping_service: confirmation.shipping_method.clone(),
        tracking_number: confirmation.tracking_number.clone(),
        ship_time,
        items: confirmation.items.clone(),
    });
    let before = order.status;
    order.status = if order.items.iter().all(|i| i.shipped == i.quantity) {
        Status::Shipped
    } else {
        Status::PartiallyShipped
    };
    order.updated = now;
    let status_changed = order.status != before;
    tracing::info!(
        order_id,
        package = %confirmation.package_reference_id,
        status = order.status.as_str(),
        "shipment confirmed"
    );
    st.confirmations.push(confirmation);
    st.confirmation_bodies.push(raw);
    // ORDER_CHANGE is about status changes: a second partial shipment changes none.
    if status_changed {
        st.order_changed(order_id);
    }
    Ok((StatusCode::NO_CONTENT, None))
}

/// Same request, ignoring arrival time and the order of items.
fn same_content(a: &Confirmation, b: &Confirmation) -> bool {
    let sorted = |c: &Confirmation| {
        let mut items = c.items.clone();
        items.sort();
        items
    };
    a.marketplace_id == b.marketplace_id
        && a.carrier_code == b.carrier_code
        && a.carrier_name == b.carrier_name
        && a.shipping_method == b.shipping_method
        && a.tracking_number == b.tracking_number
        && a.ship_date == b.ship_date
        && sorted(a) == sorted(b)
}
