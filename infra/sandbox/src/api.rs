//! HTTP routes of the SP-API subset, and the plumbing every operation shares: request
//! counting, fault injection, access-token check (seller or grantless), throttling and the
//! `x-amzn-*` headers.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::codec::{self, Params};
use crate::config::Quota;
use crate::fault::{self, Endpoint, Fault};
use crate::model::{Grant, State as SandboxState};
use crate::render::Included;
use crate::server::ConnectionReset;
use crate::{confirm, control, fake, lwa, notifications, search, Sandbox};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Op {
    SearchOrders,
    GetOrder,
    ConfirmShipment,
    CreateDestination,
    GetDestinations,
    GetDestination,
    DeleteDestination,
    CreateSubscription,
    GetSubscription,
    GetSubscriptions,
    GetSubscriptionById,
    DeleteSubscriptionById,
}

impl Op {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Op::SearchOrders => "searchOrders",
            Op::GetOrder => "getOrder",
            Op::ConfirmShipment => "confirmShipment",
            Op::CreateDestination => "createDestination",
            Op::GetDestinations => "getDestinations",
            Op::GetDestination => "getDestination",
            Op::DeleteDestination => "deleteDestination",
            Op::CreateSubscription => "createSubscription",
            Op::GetSubscription => "getSubscription",
            Op::GetSubscriptions => "getSubscriptions",
            Op::GetSubscriptionById => "getSubscriptionById",
            Op::DeleteSubscriptionById => "deleteSubscriptionById",
        }
    }

    fn endpoint(self) -> Endpoint {
        match self {
            Op::SearchOrders => Endpoint::SearchOrders,
            Op::GetOrder => Endpoint::GetOrder,
            Op::ConfirmShipment => Endpoint::ConfirmShipment,
            _ => Endpoint::Notifications,
        }
    }

    fn quota(self, st: &SandboxState) -> Quota {
        let plan = st.config.rate_limit.unwrap_or_default();
        match self {
            Op::SearchOrders => plan.search_orders,
            Op::GetOrder => plan.get_order,
            Op::ConfirmShipment => plan.confirm_shipment,
            _ => plan.notifications,
        }
    }

    /// The token an operation takes: the grantless operations of the Developer Guide's
    /// table (the Notifications API's destinations, `getSubscriptionById` and
    /// `deleteSubscriptionById`) take a `client_credentials` token; everything else acts
    /// for a seller, `createSubscription` and `getSubscription` included (Amazon confirmed
    /// on GitHub that `createSubscription` is not grantless).
    fn grant(self) -> Grant {
        match self {
            Op::CreateDestination
            | Op::GetDestinations
            | Op::GetDestination
            | Op::DeleteDestination
            | Op::GetSubscriptionById
            | Op::DeleteSubscriptionById => Grant::Grantless,
            _ => Grant::Seller,
        }
    }
}

/// An SP-API error, rendered as `{"errors":[{code, message, details?}]}`.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Option<String>,
}

impl ApiError {
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self { status: StatusCode::BAD_REQUEST, code: "InvalidInput", message: message.into(), details: None }
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self { status: StatusCode::NOT_FOUND, code: "NotFound", message: message.into(), details: None }
    }

    pub(crate) fn unauthorized(details: &str) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            code: "Unauthorized",
            message: "Access to requested resource is denied.".to_string(),
            details: Some(details.to_string()),
        }
    }

    fn quota_exceeded() -> Self {
        Self {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: "QuotaExceeded",
            message: "You exceeded your quota for the requested resource.".to_string(),
            details: None,
        }
    }

    /// `409`: what the request would create already exists, or the state forbids it.
    pub(crate) fn conflict(code: &'static str, message: &str) -> Self {
        Self { status: StatusCode::CONFLICT, code, message: message.to_string(), details: None }
    }

    pub(crate) fn with_details(mut self, details: impl Into<String>) -> Self {
        self.details = Some(details.into());
        self
    }

    fn body(&self) -> Value {
        let mut e = json!({ "code": self.code, "message": self.message });
        if let Some(d) = &self.details {
            e["details"] = Value::String(d.clone());
        }
        json!({ "errors": [e] })
    }
}

/// Success: status plus optional JSON body.
pub(crate) type ApiResult = Result<(StatusCode, Option<Value>), ApiError>;

pub(crate) fn router(sandbox: Sandbox) -> Router {
    Router::new()
        .route("/auth/o2/token", post(lwa::token))
        .route("/orders/2026-01-01/orders", get(search_orders))
        .route("/orders/2026-01-01/orders/{order_id}", get(get_order))
        .route("/orders/v0/orders/{order_id}/shipmentConfirmation", post(confirm_shipment))
        .merge(notifications::routes())
        .merge(control::routes())
        .merge(crate::scx::routes())
        .fallback(unknown_route)
        .with_state(sandbox)
}

/// The connection handle [`crate::Sandbox::serve`] puts into every request.
pub(crate) type Conn = Option<Extension<ConnectionReset>>;

async fn search_orders(
    State(sb): State<Sandbox>,
    conn: Conn,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.as_deref());
    call(&sb, Op::SearchOrders, &headers, conn, |st, seller, now| {
        search::search_orders(st, seller, &params, now)
    })
    .await
}

async fn get_order(
    State(sb): State<Sandbox>,
    conn: Conn,
    Path(order_id): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.as_deref());
    call(&sb, Op::GetOrder, &headers, conn, |st, seller, now| {
        let inc = included(&params)?;
        // Orders past the API's history horizon are not shown, so they are not found.
        let order = st
            .visible_order(seller, &order_id, now)
            .ok_or_else(|| ApiError::not_found(format!("Order {order_id} not found.")))?;
        let body = json!({ "order": crate::render::order(order, inc, &st.config.currency, now) });
        Ok((StatusCode::OK, Some(body)))
    })
    .await
}

async fn confirm_shipment(
    State(sb): State<Sandbox>,
    conn: Conn,
    Path(order_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    call(&sb, Op::ConfirmShipment, &headers, conn, |st, seller, now| {
        confirm::confirm_shipment(st, seller, &order_id, &body, now)
    })
    .await
}

/// `includedData`, validated against the model's enum.
pub(crate) fn included(params: &Params) -> Result<Included, ApiError> {
    Included::parse(&params.list("includedData").unwrap_or_default())
        .map_err(|bad| ApiError::invalid(format!("Invalid includedData value: {bad}.")))
}

/// What a call comes to under the state lock.
pub(crate) enum Outcome {
    /// Send this, after applying the fault (if any) that strikes after processing.
    Respond(Option<Fault>, Response),
    /// Reset the connection before processing.
    Reset,
}

impl Outcome {
    /// Sends the outcome; the state lock must no longer be held.
    pub(crate) async fn send(self, conn: Conn) -> Response {
        match self {
            Outcome::Respond(fault, response) => fault::after_processing(fault, response, conn).await,
            Outcome::Reset => fault::reset(conn).await,
        }
    }
}

/// Runs one SP-API operation; the state lock is never held across an await. `f` gets the
/// caller: the seller's id for a seller operation, the application's client id for a
/// grantless one (also the key of its rate-limit bucket).
pub(crate) async fn call(
    sb: &Sandbox,
    op: Op,
    headers: &HeaderMap,
    conn: Conn,
    f: impl FnOnce(&mut SandboxState, &str, DateTime<Utc>) -> ApiResult,
) -> Response {
    let outcome = process(&mut sb.state(), op, headers, f);
    outcome.send(conn).await
}

fn process(
    st: &mut SandboxState,
    op: Op,
    headers: &HeaderMap,
    f: impl FnOnce(&mut SandboxState, &str, DateTime<Utc>) -> ApiResult,
) -> Outcome {
    let now = codec::now();
    st.count(op.name());
    let request_id = fake::request_id(&mut st.id_rng);
    let quota = op.quota(st);
    let rate = rate_string(quota.rate);
    let decision = st.faults.decide(op.endpoint());
    if let Some(fault) = decision.fault.filter(|f| f.before_processing()) {
        let Some(mut response) = fault::refusal(fault, Some(&rate)) else {
            return Outcome::Reset;
        };
        tracing::info!(operation = op.name(), status = response.status().as_u16(), "request refused (fault)");
        set_header(&mut response, "x-amzn-requestid", &request_id);
        return Outcome::Respond(None, response);
    }
    let result = authenticate(st, headers, op, decision.expire_token).and_then(|caller| {
        let throttled =
            st.config.rate_limit.is_some() && !st.buckets.try_take(&caller, op, quota, Instant::now());
        if throttled {
            tracing::warn!(operation = op.name(), caller = %caller, "throttled");
            return Err(ApiError::quota_exceeded());
        }
        f(st, &caller, now)
    });
    let (status, body) = match result {
        Ok(ok) => ok,
        Err(e) => {
            tracing::info!(
                operation = op.name(),
                status = e.status.as_u16(),
                code = e.code,
                "request refused"
            );
            (e.status, Some(e.body()))
        }
    };
    let mut response = match body {
        Some(v) => (status, Json(v)).into_response(),
        None => status.into_response(),
    };
    set_header(&mut response, "x-amzn-requestid", &request_id);
    set_header(&mut response, "x-amzn-ratelimit-limit", &rate);
    Outcome::Respond(decision.fault, response)
}

/// The caller (see [`call`]). `expire`: fault injection ends a still valid token's life now.
fn authenticate(
    st: &mut SandboxState,
    headers: &HeaderMap,
    op: Op,
    expire: bool,
) -> Result<String, ApiError> {
    let token = headers
        .get("x-amz-access-token")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::unauthorized("The request is missing the x-amz-access-token header."))?;
    let issued = st.tokens.get_mut(token).ok_or_else(|| {
        ApiError::unauthorized("The access token you provided is revoked, malformed or invalid.")
    })?;
    let now = Instant::now();
    if now >= issued.expires {
        return Err(ApiError::unauthorized("The access token you provided has expired."));
    }
    if expire {
        issued.expires = now;
        st.faults.count_expired_token(op.endpoint());
        return Err(ApiError::unauthorized("The access token you provided has expired."));
    }
    let (seller_id, grant) = (issued.seller_id.clone(), issued.grant);
    match (op.grant(), grant) {
        (Grant::Seller, Grant::Seller) => Ok(seller_id),
        (Grant::Grantless, Grant::Grantless) => {
            st.seller(&seller_id).map(|s| s.client_id.clone()).ok_or_else(|| {
                ApiError::unauthorized("The access token you provided is revoked, malformed or invalid.")
            })
        }
        (Grant::Seller, Grant::Grantless) => Err(ApiError::unauthorized(
            "This operation acts for a selling partner: it needs a refresh_token grant's access token.",
        )),
        (Grant::Grantless, Grant::Seller) => Err(ApiError::unauthorized(
            "This is a grantless operation: it needs a client_credentials grant's access token.",
        )),
    }
}

/// `2.0`, `0.5`, `0.0056`: Amazon always shows at least one decimal.
fn rate_string(rate: f64) -> String {
    if rate.fract() == 0.0 {
        format!("{rate:.1}")
    } else {
        format!("{rate}")
    }
}

pub(crate) fn set_header(response: &mut Response, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        response.headers_mut().insert(HeaderName::from_static(name), v);
    }
}

/// SP-API's error for unknown paths; under `/v1/` and `/v2/` (SCX's paths) SCX's.
async fn unknown_route(State(sb): State<Sandbox>, uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/v1/") || uri.path().starts_with("/v2/") {
        return crate::scx::api::unknown_route();
    }
    let request_id = fake::request_id(&mut sb.state().id_rng);
    let e = ApiError::not_found("The requested resource does not exist.");
    let mut response = (e.status, Json(e.body())).into_response();
    set_header(&mut response, "x-amzn-requestid", &request_id);
    response
}

#[cfg(test)]
mod tests {
    use super::rate_string;

    #[test]
    fn rate_limit_header_matches_amazon_formatting() {
        assert_eq!(rate_string(0.0056), "0.0056");
        assert_eq!(rate_string(0.5), "0.5");
        assert_eq!(rate_string(2.0), "2.0");
    }
}
