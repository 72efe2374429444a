//! `/_sandbox/*`: JSON endpoints to drive the sandbox when it runs standalone.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::codec::{self, timestamp};
use crate::model::NewOrder;
use crate::Sandbox;

pub(crate) fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/_sandbox/sellers", get(sellers))
        .route("/_sandbox/orders", get(orders).post(create_order))
        .route("/_sandbox/orders/{order_id}/authorize", post(authorize))
        .route("/_sandbox/orders/{order_id}/release", post(release))
        .route("/_sandbox/orders/{order_id}/cancel", post(cancel))
        .route("/_sandbox/confirmations", get(confirmations))
        .route("/_sandbox/faults", get(faults))
        .route("/_sandbox/notifications", get(notifications))
        .route("/_sandbox/subscriptions", get(subscriptions))
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

async fn sellers(State(sb): State<Sandbox>) -> Response {
    Json(sb.sellers()).into_response()
}

/// Summaries only, no buyer data.
async fn orders(State(sb): State<Sandbox>) -> Response {
    let st = sb.state();
    let list: Vec<_> = st
        .orders
        .iter()
        .map(|o| {
            json!({
                "orderId": o.id,
                "sellerId": o.seller_id,
                "fulfillmentStatus": o.status.as_str(),
                "createdTime": timestamp(o.created),
                "lastUpdatedTime": timestamp(o.updated),
                "items": o.items.iter().map(|i| json!({
                    "orderItemId": i.id,
                    "sellerSku": i.sku,
                    "quantityOrdered": i.quantity,
                    "quantityShipped": i.shipped,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    Json(list).into_response()
}

#[derive(Deserialize)]
struct CreateOrder {
    /// Defaults to the first seller.
    #[serde(default, alias = "sellerId")]
    seller_id: Option<String>,
    #[serde(flatten)]
    order: NewOrder,
}

async fn create_order(State(sb): State<Sandbox>, body: Bytes) -> Response {
    let body = if body.is_empty() { &b"{}"[..] } else { &body[..] };
    let request: CreateOrder = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.to_string()),
    };
    if request.order.items.iter().any(|i| i.quantity == 0) {
        return error(StatusCode::BAD_REQUEST, "item quantities must be positive");
    }
    let sellers = sb.sellers();
    let seller = match &request.seller_id {
        Some(id) => sellers.iter().find(|s| &s.seller_id == id),
        None => sellers.first(),
    };
    let Some(seller) = seller else {
        return error(StatusCode::NOT_FOUND, "unknown seller");
    };
    let order_id = sb.create_order(&seller.seller_id, request.order);
    (StatusCode::CREATED, Json(json!({ "orderId": order_id }))).into_response()
}

fn transition(sb: &Sandbox, order_id: &str, done: bool, what: &str) -> Response {
    match sb.order_status(order_id) {
        None => error(StatusCode::NOT_FOUND, format!("order {order_id} not found")),
        Some(status) if done => {
            Json(json!({ "orderId": order_id, "fulfillmentStatus": status })).into_response()
        }
        Some(status) => {
            error(StatusCode::CONFLICT, format!("order {order_id} cannot be {what} in status {status}"))
        }
    }
}

/// A pre-order's payment authorization begins (`PENDING_AVAILABILITY` -> `PENDING`).
async fn authorize(State(sb): State<Sandbox>, Path(order_id): Path<String>) -> Response {
    let done = sb.begin_payment_authorization(&order_id);
    transition(&sb, &order_id, done, "moved into payment authorization")
}

async fn release(State(sb): State<Sandbox>, Path(order_id): Path<String>) -> Response {
    let done = sb.release_payment(&order_id);
    transition(&sb, &order_id, done, "released")
}

async fn cancel(State(sb): State<Sandbox>, Path(order_id): Path<String>) -> Response {
    let done = sb.state().cancel(&order_id, codec::now());
    transition(&sb, &order_id, done, "cancelled")
}

async fn confirmations(State(sb): State<Sandbox>) -> Response {
    Json(sb.confirmations()).into_response()
}

/// Injected fault counts and the malformed orders a client should have rejected.
async fn faults(State(sb): State<Sandbox>) -> Response {
    Json(json!({ "counts": sb.fault_counts(), "rejectableOrderIds": sb.rejectable_order_ids() }))
        .into_response()
}

/// Every `ORDER_CHANGE` notification sent so far, in send order, plus delivery failures.
async fn notifications(State(sb): State<Sandbox>) -> Response {
    Json(json!({ "sent": sb.notifications_sent(), "deliveryFailures": sb.notification_delivery_failures() }))
        .into_response()
}

async fn subscriptions(State(sb): State<Sandbox>) -> Response {
    Json(json!({ "destinations": sb.destinations(), "subscriptions": sb.subscriptions() })).into_response()
}
