//! HTTP routes of the SCX seller API, and the plumbing every call shares: request counting,
//! fault injection, rate-limit windows with their `X-RateLimit-*` headers, the bearer token
//! check and SCX's error body.
//!
//! Errors are JTL's `{"errorList": [{code, message, severity, hint}]}` (developer guide,
//! "Error Handling"). The codes `VAL100` (validation), `GEN404` (not found) and `GEN700`
//! (seller unknown on the channel) appear in JTL's examples; `GEN401`, `GEN429` and `GEN500`
//! follow their pattern and are assumed.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::calls;
use super::events::{self, wire_time, Filter};
use super::model::ScxToken;
use crate::api::{set_header, Conn, Outcome};
use crate::codec::{self, Params};
use crate::fake;
use crate::fault::{Endpoint, Fault};
use crate::model::State as SandboxState;
use crate::ratelimit::WindowState;
use crate::Sandbox;

/// The route patterns that have a rate-limit window each, spelled as in JTL's rate-limit
/// table (`/v[version]/…`); keys of [`crate::ScxConfig::route_rate_limits`].
pub const ROUTE_PATTERNS: [&str; 7] = [
    "/v[version]/auth",
    "/v[version]/seller/event",
    "/v[version]/seller/order/shipping",
    "/v[version]/seller/order/accept",
    "/v[version]/seller/order/payment",
    "/v[version]/seller/order/cancellation-accept",
    "/v[version]/seller/order/cancellation-deny",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ScxOp {
    Auth,
    GetEvents,
    AckEvents,
    Shipping,
    Accept,
    Payment,
    CancellationAccept,
    CancellationDeny,
}

impl ScxOp {
    /// The name [`crate::Sandbox::request_count`] counts it under.
    pub(crate) fn name(self) -> &'static str {
        match self {
            ScxOp::Auth => "scxAuth",
            ScxOp::GetEvents => "scxGetEvents",
            ScxOp::AckEvents => "scxAckEvents",
            ScxOp::Shipping => "scxShipping",
            ScxOp::Accept => "scxAccept",
            ScxOp::Payment => "scxPayment",
            ScxOp::CancellationAccept => "scxCancellationAccept",
            ScxOp::CancellationDeny => "scxCancellationDeny",
        }
    }

    fn endpoint(self) -> Endpoint {
        match self {
            ScxOp::Auth => Endpoint::ScxAuth,
            ScxOp::GetEvents | ScxOp::AckEvents => Endpoint::ScxEvents,
            _ => Endpoint::ScxOrders,
        }
    }

    fn pattern(self) -> &'static str {
        match self {
            ScxOp::Auth => ROUTE_PATTERNS[0],
            ScxOp::GetEvents | ScxOp::AckEvents => ROUTE_PATTERNS[1],
            ScxOp::Shipping => ROUTE_PATTERNS[2],
            ScxOp::Accept => ROUTE_PATTERNS[3],
            ScxOp::Payment => ROUTE_PATTERNS[4],
            ScxOp::CancellationAccept => ROUTE_PATTERNS[5],
            ScxOp::CancellationDeny => ROUTE_PATTERNS[6],
        }
    }
}

/// One `errorList` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ErrorEntry {
    pub code: &'static str,
    pub message: String,
}

/// An SCX error answer.
#[derive(Debug)]
pub(crate) struct ScxError {
    pub status: StatusCode,
    pub errors: Vec<ErrorEntry>,
}

impl ScxError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, errors: vec![ErrorEntry { code, message: message.into() }] }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "VAL100", message)
    }

    fn unauthorized(message: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "GEN401", message)
    }

    fn too_many_requests() -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, "GEN429", "Too Many Requests")
    }

    pub(crate) fn body(&self) -> Value {
        let list: Vec<Value> = self
            .errors
            .iter()
            .map(|e| json!({ "code": e.code, "message": e.message, "severity": "error", "hint": null }))
            .collect();
        json!({ "errorList": list })
    }
}

/// Success: status plus optional JSON body.
pub(crate) type ScxResult = Result<(StatusCode, Option<Value>), ScxError>;

pub(crate) fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/v1/auth", post(auth))
        .route("/v2/seller/event", get(get_events).delete(acknowledge_events))
        // JTL documents the acknowledgement under /v1 too.
        .route("/v1/seller/event", delete(acknowledge_events))
        .route("/v1/seller/order/shipping", put(shipping))
        .route("/v1/seller/order/accept", put(accept))
        .route("/v1/seller/order/payment", put(payment))
        .route("/v1/seller/order/cancellation-accept", put(cancellation_accept))
        .route("/v1/seller/order/cancellation-deny", put(cancellation_deny))
}

/// An SCX error for a path no route serves.
pub(crate) fn unknown_route() -> Response {
    let e = ScxError::new(StatusCode::NOT_FOUND, "GEN404", "Not found");
    (e.status, Json(e.body())).into_response()
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

fn rate_headers(response: &mut Response, rate: WindowState) {
    set_header(response, "x-ratelimit-limit", &rate.limit.to_string());
    set_header(response, "x-ratelimit-remaining", &rate.remaining.to_string());
    set_header(response, "x-ratelimit-interval-length-seconds", &rate.interval_secs.to_string());
}

fn respond(result: ScxResult) -> Response {
    match result {
        Ok((status, Some(body))) => (status, Json(body)).into_response(),
        Ok((status, None)) => status.into_response(),
        Err(e) => (e.status, Json(e.body())).into_response(),
    }
}

/// Runs one seller API call for the caller the bearer token names; the state lock is never
/// held across an await. `f` gets the seller account's id.
async fn call(
    sb: &Sandbox,
    op: ScxOp,
    headers: &HeaderMap,
    conn: Conn,
    f: impl FnOnce(&mut SandboxState, &str, DateTime<Utc>) -> ScxResult,
) -> Response {
    let outcome = process(&mut sb.state(), op, headers, None, f);
    outcome.send(conn).await
}

/// `window_key`: whose window the call counts in when not the bearer token's account (the
/// refresh token for `POST /v1/auth`).
fn process(
    st: &mut SandboxState,
    op: ScxOp,
    headers: &HeaderMap,
    window_key: Option<String>,
    f: impl FnOnce(&mut SandboxState, &str, DateTime<Utc>) -> ScxResult,
) -> Outcome {
    let now = codec::now();
    let clock = Instant::now();
    st.count(op.name());
    let decision = st.faults.decide(op.endpoint());
    let limit = st.config.scx.limit_for(op.pattern());
    let token = bearer(headers);
    let caller = window_key
        .or_else(|| token.and_then(|t| st.scx.tokens.get(t)).map(|t| t.account_id.clone()))
        .unwrap_or_else(|| "anonymous".to_string());
    if let Some(fault) = decision.fault.filter(|f| f.before_processing()) {
        let mut rate = st.scx.windows.peek(&caller, op.pattern(), limit, clock);
        let error = match fault {
            Fault::Throttle => {
                rate.remaining = 0;
                ScxError::too_many_requests()
            }
            Fault::ServerError(status) => {
                ScxError::new(status, "GEN500", "An internal error occurred. Please try again later.")
            }
            _ => return Outcome::Reset,
        };
        tracing::info!(operation = op.name(), status = error.status.as_u16(), "SCX request refused (fault)");
        let mut response = respond(Err(error));
        rate_headers(&mut response, rate);
        return Outcome::Respond(None, response);
    }
    let rate = st.scx.windows.take(&caller, op.pattern(), limit, clock);
    let result = if !rate.allowed {
        tracing::warn!(operation = op.name(), "SCX request throttled");
        Err(ScxError::too_many_requests())
    } else if op == ScxOp::Auth {
        f(st, "", now)
    } else {
        authenticate(st, token, op, decision.expire_token, clock).and_then(|account| f(st, &account, now))
    };
    if let Err(e) = &result {
        let code = e.errors.first().map_or("", |e| e.code);
        tracing::info!(operation = op.name(), status = e.status.as_u16(), code, "SCX request refused");
    }
    let mut response = respond(result);
    rate_headers(&mut response, rate);
    Outcome::Respond(decision.fault, response)
}

/// The seller account of a valid session token. `expire`: fault injection ends the token's
/// life now.
fn authenticate(
    st: &mut SandboxState,
    token: Option<&str>,
    op: ScxOp,
    expire: bool,
    now: Instant,
) -> Result<String, ScxError> {
    let token =
        token.ok_or_else(|| ScxError::unauthorized("Missing bearer token in Authorization header."))?;
    let issued = st.scx.tokens.get_mut(token).ok_or_else(|| ScxError::unauthorized("Invalid token."))?;
    if now >= issued.expires {
        return Err(ScxError::unauthorized("Token expired."));
    }
    if expire {
        issued.expires = now;
        st.faults.count_expired_token(op.endpoint());
        return Err(ScxError::unauthorized("Token expired."));
    }
    Ok(issued.account_id.clone())
}

/// `POST /v1/auth`, form `refreshToken=…` -> `{scope, authToken, tokenExpireAt, expiresIn}`.
async fn auth(State(sb): State<Sandbox>, conn: Conn, headers: HeaderMap, body: Bytes) -> Response {
    let form = Params::parse(Some(&String::from_utf8_lossy(&body)));
    let refresh = form.one("refreshToken").filter(|t| !t.is_empty()).map(str::to_string);
    let outcome = process(&mut sb.state(), ScxOp::Auth, &headers, refresh.clone(), |st, _, now| {
        let refresh = refresh.ok_or_else(|| ScxError::invalid("Required field refreshToken not found"))?;
        let account = st
            .scx
            .sellers
            .iter()
            .find(|s| s.refresh_token == refresh)
            .map(|s| s.account_id.clone())
            .ok_or_else(|| ScxError::unauthorized("Invalid refresh token."))?;
        let lifetime = st.config.scx.token_lifetime;
        let token = fake::scx_auth_token(&mut st.scx.id_rng);
        st.scx
            .tokens
            .insert(token.clone(), ScxToken { account_id: account, expires: Instant::now() + lifetime });
        let expires_at = now + chrono::Duration::from_std(lifetime).unwrap_or(chrono::Duration::hours(1));
        tracing::info!(lifetime_secs = lifetime.as_secs(), "SCX session token issued");
        let body = json!({
            "scope": "SELLER",
            "authToken": token,
            "tokenExpireAt": wire_time(expires_at),
            "expiresIn": lifetime.as_secs(),
        });
        Ok((StatusCode::OK, Some(body)))
    });
    outcome.send(conn).await
}

fn filter(params: &Params) -> Result<Filter, ScxError> {
    let created_after = match params.one("createdAfter").filter(|s| !s.is_empty()) {
        Some(s) => Some(
            events::parse_wire_time(s)
                .ok_or_else(|| ScxError::invalid(format!("createdAfter: {s:?} is not a valid date-time")))?,
        ),
        None => None,
    };
    Ok(Filter {
        created_after,
        types: params.list("eventTypeFilter").filter(|t| !t.is_empty()),
        channel: params.one("channel").filter(|c| !c.is_empty()).map(str::to_string),
    })
}

/// `GET /v2/seller/event`.
async fn get_events(
    State(sb): State<Sandbox>,
    conn: Conn,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.as_deref());
    call(&sb, ScxOp::GetEvents, &headers, conn, |st, account, _| {
        let filter = filter(&params)?;
        let list = st.scx_deliver(account, &filter, Instant::now());
        tracing::info!(events = list.len(), "SCX events delivered");
        Ok((StatusCode::OK, Some(json!({ "eventList": list }))))
    })
    .await
}

/// `DELETE /v2/seller/event` (and `/v1/seller/event`), body `{eventIdList: [...]}` (1–100).
async fn acknowledge_events(
    State(sb): State<Sandbox>,
    conn: Conn,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    call(&sb, ScxOp::AckEvents, &headers, conn, |st, account, _| {
        let ids = event_ids(&body)?;
        if st.faults.scx_lost_ack() {
            return Ok((StatusCode::NO_CONTENT, None));
        }
        let removed = st.scx_acknowledge(account, &ids);
        tracing::info!(requested = ids.len(), removed, "SCX events acknowledged");
        Ok((StatusCode::NO_CONTENT, None))
    })
    .await
}

fn event_ids(body: &[u8]) -> Result<Vec<String>, ScxError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|_| ScxError::invalid("Request body is not valid JSON"))?;
    let list = v
        .get("eventIdList")
        .and_then(Value::as_array)
        .ok_or_else(|| ScxError::invalid("Required field eventIdList not found"))?;
    if list.is_empty() || list.len() > 100 {
        return Err(ScxError::invalid(format!(
            "eventIdList: must contain 1 to 100 event ids, not {}",
            list.len()
        )));
    }
    list.iter()
        .enumerate()
        .map(|(i, id)| {
            id.as_str()
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .ok_or_else(|| ScxError::invalid(format!("eventIdList[{i}]: must be a non-empty string")))
        })
        .collect()
}

async fn shipping(State(sb): State<Sandbox>, conn: Conn, headers: HeaderMap, body: Bytes) -> Response {
    call(&sb, ScxOp::Shipping, &headers, conn, |st, account, now| calls::shipping(st, account, &body, now))
        .await
}

async fn accept(State(sb): State<Sandbox>, conn: Conn, headers: HeaderMap, body: Bytes) -> Response {
    call(&sb, ScxOp::Accept, &headers, conn, |st, account, now| calls::accept(st, account, &body, now)).await
}

async fn payment(State(sb): State<Sandbox>, conn: Conn, headers: HeaderMap, body: Bytes) -> Response {
    call(&sb, ScxOp::Payment, &headers, conn, |st, account, now| calls::payment(st, account, &body, now))
        .await
}

async fn cancellation_accept(
    State(sb): State<Sandbox>,
    conn: Conn,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    call(&sb, ScxOp::CancellationAccept, &headers, conn, |st, account, now| {
        calls::cancellation_answer(st, account, &body, true, now)
    })
    .await
}

async fn cancellation_deny(
    State(sb): State<Sandbox>,
    conn: Conn,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    call(&sb, ScxOp::CancellationDeny, &headers, conn, |st, account, now| {
        calls::cancellation_answer(st, account, &body, false, now)
    })
    .await
}
