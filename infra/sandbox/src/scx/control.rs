//! `/_sandbox/scx/*`: JSON endpoints that drive the SCX side when the sandbox runs
//! standalone (what the channels do, and what the seller sent).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::json;

use super::lifecycle::valid_channel;
use super::model::{NewScxOrder, ScxCancelReason, ScxCancelledBy, ScxOrderKey, ScxReturnReason};
use crate::Sandbox;

pub(crate) fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/_sandbox/scx/sellers", get(sellers).post(add_seller))
        .route("/_sandbox/scx/orders", get(orders).post(create_order))
        .route("/_sandbox/scx/orders/{channel}/{seller_id}/{order_id}", get(order))
        .route("/_sandbox/scx/orders/{channel}/{seller_id}/{order_id}/address", post(address))
        .route("/_sandbox/scx/orders/{channel}/{seller_id}/{order_id}/accept", post(accept))
        .route("/_sandbox/scx/orders/{channel}/{seller_id}/{order_id}/paid", post(paid))
        .route("/_sandbox/scx/orders/{channel}/{seller_id}/{order_id}/cancel", post(cancel))
        .route(
            "/_sandbox/scx/orders/{channel}/{seller_id}/{order_id}/cancellation-request",
            post(request_cancellation),
        )
        .route("/_sandbox/scx/orders/{channel}/{seller_id}/{order_id}/return", post(return_units))
        .route("/_sandbox/scx/events", get(events))
        .route("/_sandbox/scx/events/expire-visibility", post(expire_visibility))
        .route("/_sandbox/scx/shipping-notices", get(shipping_notices))
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

/// An optional JSON body; empty means `{}`. The error says why it does not parse.
fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, String> {
    let bytes = if bytes.is_empty() { &b"{}"[..] } else { &bytes[..] };
    serde_json::from_slice(bytes).map_err(|e| e.to_string())
}

fn key((channel, seller_id, order_id): (String, String, String)) -> ScxOrderKey {
    ScxOrderKey { channel, seller_id, order_id }
}

/// The order's summary after a change, or why nothing changed.
fn transition(sb: &Sandbox, key: &ScxOrderKey, done: bool, what: &str) -> Response {
    let st = sb.state();
    match st.scx.index.get(key).map(|&i| &st.scx.orders[i]) {
        None => error(StatusCode::NOT_FOUND, format!("order {} not found", key.order_id)),
        Some(o) if done => Json(super::summary(o)).into_response(),
        Some(o) => error(
            StatusCode::CONFLICT,
            format!("order {} cannot be {what} in status {}", key.order_id, o.status.as_str()),
        ),
    }
}

async fn sellers(State(sb): State<Sandbox>) -> Response {
    Json(sb.scx_sellers()).into_response()
}

#[derive(Deserialize)]
struct AddSeller {
    channels: Vec<String>,
}

async fn add_seller(State(sb): State<Sandbox>, bytes: Bytes) -> Response {
    let request: AddSeller = match body(&bytes) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    if request.channels.is_empty()
        || request.channels.len() > 9
        || !request.channels.iter().all(|c| valid_channel(c))
    {
        return error(StatusCode::BAD_REQUEST, "1 to 9 channels of 5 to 15 letters, digits or underscores");
    }
    let channels: Vec<&str> = request.channels.iter().map(String::as_str).collect();
    (StatusCode::CREATED, Json(sb.add_scx_seller(&channels))).into_response()
}

/// Summaries only, no buyer data.
async fn orders(State(sb): State<Sandbox>) -> Response {
    let st = sb.state();
    Json(st.scx.orders.iter().map(super::summary).collect::<Vec<_>>()).into_response()
}

/// The order as the channel has it (buyer data included once sent).
async fn order(State(sb): State<Sandbox>, Path(path): Path<(String, String, String)>) -> Response {
    let key = key(path);
    match sb.scx_order_json(&key) {
        Some(o) => Json(o).into_response(),
        None => error(StatusCode::NOT_FOUND, format!("order {} not found", key.order_id)),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateOrder {
    /// Defaults to the first account selling on the channel.
    #[serde(default)]
    account_id: Option<String>,
    channel: String,
    #[serde(flatten)]
    order: NewScxOrder,
}

async fn create_order(State(sb): State<Sandbox>, bytes: Bytes) -> Response {
    let request: CreateOrder = match body(&bytes) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    if request.order.items.iter().any(|i| i.quantity == 0) {
        return error(StatusCode::BAD_REQUEST, "item quantities must be positive");
    }
    let account = sb.scx_sellers().into_iter().find(|s| {
        request.account_id.as_ref().is_none_or(|a| *a == s.account_id)
            && s.seller_id(&request.channel).is_some()
    });
    let Some(account) = account else {
        return error(StatusCode::NOT_FOUND, "no such SCX seller account on that channel");
    };
    if let Some(id) = &request.order.order_id {
        let key = ScxOrderKey {
            channel: request.channel.clone(),
            seller_id: account.seller_id(&request.channel).unwrap_or_default().to_string(),
            order_id: id.clone(),
        };
        if id.is_empty() || id.chars().count() > 150 || sb.scx_order_status(&key).is_some() {
            return error(StatusCode::CONFLICT, "orderId empty, too long or taken");
        }
    }
    let key = sb.create_scx_order(&account.account_id, &request.channel, request.order);
    (StatusCode::CREATED, Json(key)).into_response()
}

async fn address(State(sb): State<Sandbox>, Path(path): Path<(String, String, String)>) -> Response {
    let key = key(path);
    let done = sb.scx_add_address(&key);
    transition(&sb, &key, done, "given an address")
}

async fn accept(State(sb): State<Sandbox>, Path(path): Path<(String, String, String)>) -> Response {
    let key = key(path);
    let done = sb.scx_accept(&key);
    transition(&sb, &key, done, "accepted (it needs to be CREATED and have an address)")
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Lines {
    #[serde(default)]
    order_item_ids: Vec<String>,
}

async fn paid(
    State(sb): State<Sandbox>,
    Path(path): Path<(String, String, String)>,
    bytes: Bytes,
) -> Response {
    let request: Lines = match body(&bytes) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let key = key(path);
    let ids: Vec<&str> = request.order_item_ids.iter().map(String::as_str).collect();
    let done = sb.scx_mark_paid(&key, &ids);
    transition(&sb, &key, done, "marked paid")
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cancel {
    by: ScxCancelledBy,
    #[serde(default)]
    order_item_ids: Vec<String>,
}

async fn cancel(
    State(sb): State<Sandbox>,
    Path(path): Path<(String, String, String)>,
    bytes: Bytes,
) -> Response {
    let request: Cancel = match body(&bytes) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let key = key(path);
    let ids: Vec<&str> = request.order_item_ids.iter().map(String::as_str).collect();
    let done = sb.scx_cancel(&key, request.by, &ids);
    transition(&sb, &key, done, "cancelled so")
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UnitsOf {
    order_item_id: String,
    quantity: u32,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct CancellationRequestBody {
    #[serde(default)]
    items: Vec<UnitsOf>,
    #[serde(default)]
    reason: ScxCancelReason,
}

async fn request_cancellation(
    State(sb): State<Sandbox>,
    Path(path): Path<(String, String, String)>,
    bytes: Bytes,
) -> Response {
    let request: CancellationRequestBody = match body(&bytes) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let key = key(path);
    let units: Vec<(&str, u32)> =
        request.items.iter().map(|u| (u.order_item_id.as_str(), u.quantity)).collect();
    match sb.scx_request_cancellation(&key, &units, request.reason) {
        Some(id) => (StatusCode::CREATED, Json(json!({ "orderCancellationRequestId": id }))).into_response(),
        None => transition(&sb, &key, false, "asked to cancel those units"),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReturnBody {
    items: Vec<UnitsOf>,
    #[serde(default)]
    reason: ScxReturnReason,
}

async fn return_units(
    State(sb): State<Sandbox>,
    Path(path): Path<(String, String, String)>,
    bytes: Bytes,
) -> Response {
    let request: ReturnBody = match body(&bytes) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let key = key(path);
    let units: Vec<(&str, u32)> =
        request.items.iter().map(|u| (u.order_item_id.as_str(), u.quantity)).collect();
    let done = sb.scx_return(&key, &units, request.reason);
    transition(&sb, &key, done, "returned so")
}

/// Every event queued so far (copies too), how many are unacknowledged, and the
/// acknowledged ids.
async fn events(State(sb): State<Sandbox>) -> Response {
    let st = sb.state();
    Json(json!({
        "emitted": st.scx.emitted,
        "pending": st.scx.queue.len(),
        "acknowledged": st.scx.acknowledged,
    }))
    .into_response()
}

async fn expire_visibility(State(sb): State<Sandbox>) -> Response {
    Json(json!({ "expired": sb.scx_expire_visibility() })).into_response()
}

async fn shipping_notices(State(sb): State<Sandbox>) -> Response {
    Json(json!({
        "notices": sb.scx_shipping_notices(),
        "duplicates": sb.scx_duplicate_shipping_notices(),
    }))
    .into_response()
}
