//! Fault injection: throttling, server errors, dropped connections, slow and broken
//! responses, expiring tokens, malformed orders, pages that repeat an order,
//! notifications delivered twice or late, and (SCX) events delivered twice or out of order
//! and acknowledgements that get lost.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::extract::Extension;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use crate::rng::Rng;
use crate::server::ConnectionReset;

/// Faults of one endpoint, each a percentage (0..=100) of the calls to it.
///
/// Checked in field order with one draw each, and at most one fault per call: the first
/// kind whose draw hits wins, so later kinds see only what earlier ones left over (with
/// 10 % each, throttling hits 10 % of calls, server errors 9 %, resets 8.1 %, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EndpointFaults {
    /// `429` with `Retry-After: 1`, `x-amzn-RateLimit-Limit` and a `QuotaExceeded` error (SCX:
    /// the `X-RateLimit-*` headers with nothing remaining and a `GEN429` error); the call is
    /// not processed.
    pub throttle_percent: u8,
    /// `500` or `503` (a seeded coin flip) with an `InternalFailure` error (SCX: `GEN500`);
    /// the call is not processed.
    pub server_error_percent: u8,
    /// The TCP connection is reset without any response. On `confirmShipment` and on the SCX
    /// event feed and order calls half of the resets (a seeded coin flip) happen *after* the
    /// call was processed (the confirmation or shipping notice recorded, the events delivered
    /// or acknowledged); all other resets happen before the call is processed.
    pub reset_percent: u8,
    /// The call is processed and its response sent `slow_delay` late.
    pub slow_percent: u8,
    pub slow_delay: Duration,
    /// The call is processed and answered `200` with the JSON body cut off half-way (`{}`
    /// stands in for an empty body, e.g. the `204` of `confirmShipment`).
    pub truncated_percent: u8,
    /// The call is processed and answered `200` with a body that is not JSON at all (an
    /// HTML error page or a proxy's plain-text message).
    pub garbage_percent: u8,
}

impl EndpointFaults {
    /// No faults (`slow_delay` 3 s, used only if `slow_percent` is raised).
    pub fn none() -> Self {
        Self::uniform(0)
    }

    /// Every kind at `percent`, `slow_delay` 3 s.
    pub fn uniform(percent: u8) -> Self {
        Self {
            throttle_percent: percent,
            server_error_percent: percent,
            reset_percent: percent,
            slow_percent: percent,
            slow_delay: Duration::from_secs(3),
            truncated_percent: percent,
            garbage_percent: percent,
        }
    }
}

impl Default for EndpointFaults {
    fn default() -> Self {
        Self::none()
    }
}

/// What goes wrong, and how often; the default injects nothing.
///
/// Every decision comes from splitmix streams seeded by `seed`: one per endpoint, one for
/// malformed orders, one for repeated orders across pages and one for notification
/// deliveries. So the faults are a pure function of the seed and the sequence of calls *to
/// each endpoint* (and of orders placed, of follow-up pages served and of notifications
/// sent): how calls to different endpoints interleave changes nothing. The streams are
/// independent of [`crate::SandboxConfig::seed`], so the same orders (ids, items, buyers)
/// are generated with and without faults.
///
/// Faulted calls still count in [`crate::Sandbox::request_count`]. A call faulted before
/// processing (throttle, server error, reset before) has no effect, e.g. no shipment
/// confirmation is recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultConfig {
    /// Seeds the fault streams, independently of the order-generation seed.
    pub seed: u64,
    pub search_orders: EndpointFaults,
    pub get_order: EndpointFaults,
    pub confirm_shipment: EndpointFaults,
    /// The LWA token endpoint.
    pub token: EndpointFaults,
    /// Every Notifications API operation (destinations and subscriptions), one stream for all.
    pub notifications: EndpointFaults,
    /// SCX `POST /v1/auth`.
    pub scx_auth: EndpointFaults,
    /// The SCX seller event feed: `GET` and `DELETE /v2/seller/event` (one stream).
    pub scx_events: EndpointFaults,
    /// Every SCX seller -> channel order call (shipping, accept, payment, cancellation
    /// answers; one stream).
    pub scx_orders: EndpointFaults,
    /// Percent of orders the generator / `create_order` makes malformed; 0 = none.
    /// Decided when the order is placed (a pending one never gets an unknown currency: it
    /// shows no amounts that could carry one); such an order keeps being served broken (also
    /// after [`crate::Sandbox::set_faults`]) and is listed by
    /// [`crate::Sandbox::rejectable_order_ids`].
    pub malformed_order_percent: u8,
    /// Percent of `searchOrders` follow-up pages (requests with a `paginationToken`) that
    /// start with the last order of the previous page again.
    pub duplicate_across_pages_percent: u8,
    /// Percent of SP-API and SCX seller API calls (not token requests) whose still valid
    /// access token is treated as expired: `403 Unauthorized` (SCX: `401`), and the token
    /// stays expired from then on, as when a token runs out mid-run. The client has to fetch a
    /// new one.
    pub expire_token_percent: u8,
    /// Percent of `ORDER_CHANGE` notifications delivered twice, the copy identical down to its
    /// `NotificationId` (Amazon delivers at least once).
    pub duplicate_notification_percent: u8,
    /// Percent of `ORDER_CHANGE` notifications held back `notification_delay` before they are
    /// sent, so that notifications of later changes overtake them (Amazon does not deliver
    /// in order). Decided after the duplicate draw; a delayed notification's copy is delayed
    /// with it.
    pub delayed_notification_percent: u8,
    pub notification_delay: Duration,
    /// Percent of SCX events put into the seller's queue twice: the copy has the same `type`,
    /// `createdAt` and payload, but an `id` of its own ("you may see events with an identical
    /// payload multiple times"), and has to be acknowledged on its own.
    pub duplicate_event_percent: u8,
    /// Percent of SCX events coming back after their visibility timeout that go to the back
    /// of the queue, behind events created after them, so that an older event is delivered
    /// after a newer one.
    pub reordered_redelivery_percent: u8,
    /// Percent of `DELETE /v2/seller/event` calls answered `204` that acknowledge nothing:
    /// the events come back once their visibility timeout ends. (The other ways to lose an
    /// acknowledgement come from `scx_events`: a reset or server error before processing,
    /// which the client sees, and a reset *after* the acknowledgement, which it does not.)
    pub lost_ack_percent: u8,
}

impl FaultConfig {
    /// No faults at all.
    pub fn none() -> Self {
        Self {
            seed: 0,
            search_orders: EndpointFaults::none(),
            get_order: EndpointFaults::none(),
            confirm_shipment: EndpointFaults::none(),
            token: EndpointFaults::none(),
            notifications: EndpointFaults::none(),
            scx_auth: EndpointFaults::none(),
            scx_events: EndpointFaults::none(),
            scx_orders: EndpointFaults::none(),
            malformed_order_percent: 0,
            duplicate_across_pages_percent: 0,
            expire_token_percent: 0,
            duplicate_notification_percent: 0,
            delayed_notification_percent: 0,
            notification_delay: Duration::from_secs(3),
            duplicate_event_percent: 0,
            reordered_redelivery_percent: 0,
            lost_ack_percent: 0,
        }
    }

    /// Every endpoint fault kind on every endpoint (including the token endpoints, the
    /// Notifications API and the SCX seller API) at `percent`, `slow_delay` 3 s; plus 5 %
    /// malformed orders, 20 % duplicated pages, 5 % expired tokens, 20 % duplicated and 10 %
    /// delayed (by 3 s) notifications, 20 % duplicated SCX events, 10 % reordered
    /// redeliveries and 5 % lost acknowledgements. `percent == 0` is [`FaultConfig::none`]
    /// (with `seed`).
    pub fn uniform(seed: u64, percent: u8) -> Self {
        if percent == 0 {
            return Self { seed, ..Self::none() };
        }
        let each = EndpointFaults::uniform(percent.min(100));
        Self {
            seed,
            search_orders: each,
            get_order: each,
            confirm_shipment: each,
            token: each,
            notifications: each,
            scx_auth: each,
            scx_events: each,
            scx_orders: each,
            malformed_order_percent: 5,
            duplicate_across_pages_percent: 20,
            expire_token_percent: 5,
            duplicate_notification_percent: 20,
            delayed_notification_percent: 10,
            notification_delay: Duration::from_secs(3),
            duplicate_event_percent: 20,
            reordered_redelivery_percent: 10,
            lost_ack_percent: 5,
        }
    }

    fn endpoint(&self, endpoint: Endpoint) -> &EndpointFaults {
        match endpoint {
            Endpoint::Token => &self.token,
            Endpoint::SearchOrders => &self.search_orders,
            Endpoint::GetOrder => &self.get_order,
            Endpoint::ConfirmShipment => &self.confirm_shipment,
            Endpoint::Notifications => &self.notifications,
            Endpoint::ScxAuth => &self.scx_auth,
            Endpoint::ScxEvents => &self.scx_events,
            Endpoint::ScxOrders => &self.scx_orders,
        }
    }
}

impl Default for FaultConfig {
    fn default() -> Self {
        Self::none()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Token,
    SearchOrders,
    GetOrder,
    ConfirmShipment,
    /// The whole Notifications API.
    Notifications,
    /// SCX `POST /v1/auth`.
    ScxAuth,
    /// SCX `GET`/`DELETE /v2/seller/event`.
    ScxEvents,
    /// SCX seller -> channel order calls.
    ScxOrders,
}

impl Endpoint {
    /// In stream order: a new endpoint goes last, so the others keep their streams.
    const ALL: [Endpoint; 8] = [
        Endpoint::Token,
        Endpoint::SearchOrders,
        Endpoint::GetOrder,
        Endpoint::ConfirmShipment,
        Endpoint::Notifications,
        Endpoint::ScxAuth,
        Endpoint::ScxEvents,
        Endpoint::ScxOrders,
    ];

    /// Token endpoints: no access token to expire.
    fn issues_tokens(self) -> bool {
        matches!(self, Endpoint::Token | Endpoint::ScxAuth)
    }

    /// Where half of the resets strike after the call was processed.
    fn resets_after_processing(self) -> bool {
        matches!(self, Endpoint::ConfirmShipment | Endpoint::ScxEvents | Endpoint::ScxOrders)
    }

    fn name(self) -> &'static str {
        match self {
            Endpoint::Token => "token",
            Endpoint::SearchOrders => "searchOrders",
            Endpoint::GetOrder => "getOrder",
            Endpoint::ConfirmShipment => "confirmShipment",
            Endpoint::Notifications => "notifications",
            Endpoint::ScxAuth => "scxAuth",
            Endpoint::ScxEvents => "scxEvents",
            Endpoint::ScxOrders => "scxOrders",
        }
    }
}

/// The fault chosen for one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    Throttle,
    ServerError(StatusCode),
    /// `after`: only once the call has been processed.
    Reset {
        after: bool,
    },
    Slow(Duration),
    Truncated,
    /// Index into [`GARBAGE`].
    Garbage(usize),
}

impl Fault {
    /// Decided before processing: the call has no effect.
    pub(crate) fn before_processing(self) -> bool {
        matches!(self, Fault::Throttle | Fault::ServerError(_) | Fault::Reset { after: false })
    }

    fn kind(self) -> &'static str {
        match self {
            Fault::Throttle => "throttle",
            Fault::ServerError(_) => "server_error",
            Fault::Reset { after: false } => "reset",
            Fault::Reset { after: true } => "reset_after_record",
            Fault::Slow(_) => "slow",
            Fault::Truncated => "truncated",
            Fault::Garbage(_) => "garbage",
        }
    }
}

/// Everything decided up front for one call.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Decision {
    pub fault: Option<Fault>,
    /// Treat a valid access token as expired (SP-API calls only).
    pub expire_token: bool,
}

/// How one notification goes out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct DeliveryDecision {
    /// Sent twice.
    pub duplicate: bool,
    /// Held back this long first.
    pub delay: Option<Duration>,
}

/// How an order is served broken. In an SCX order (new-order event payload): the first
/// item line's `orderItemId` is missing, its `quantity` is `"-1"`, `currency` is `XXX`, or
/// `purchasedAt` is `not-a-date`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Malformation {
    /// `orderItems[0].orderItemId` is missing.
    MissingOrderItemId,
    /// `orderItems[0].quantityOrdered` is -1.
    NegativeQuantity,
    /// Every `currencyCode` (grand total, payment, item prices and proceeds) is `XXX`.
    UnknownCurrency,
    /// `lastUpdatedTime` is `not-a-date`.
    BadTimestamp,
    /// `orderItems[0].product.title` is 10 MiB long (built only when served).
    HugeTitle,
}

pub(crate) const HUGE_TITLE_LEN: usize = 10 * 1024 * 1024;

impl Malformation {
    const ALL: [Malformation; 5] = [
        Malformation::MissingOrderItemId,
        Malformation::NegativeQuantity,
        Malformation::UnknownCurrency,
        Malformation::BadTimestamp,
        Malformation::HugeTitle,
    ];

    /// The kinds that also break an order showing no amounts (a pending one).
    const WITHOUT_MONEY: [Malformation; 4] = [
        Malformation::MissingOrderItemId,
        Malformation::NegativeQuantity,
        Malformation::BadTimestamp,
        Malformation::HugeTitle,
    ];

    const IN_SCX_EVENTS: [Malformation; 4] = [
        Malformation::MissingOrderItemId,
        Malformation::NegativeQuantity,
        Malformation::UnknownCurrency,
        Malformation::BadTimestamp,
    ];

    fn name(self) -> &'static str {
        match self {
            Malformation::MissingOrderItemId => "missing_order_item_id",
            Malformation::NegativeQuantity => "negative_quantity",
            Malformation::UnknownCurrency => "unknown_currency",
            Malformation::BadTimestamp => "bad_timestamp",
            Malformation::HugeTitle => "huge_title",
        }
    }

    /// Breaks a rendered `Order`.
    pub(crate) fn apply(self, order: &mut Value) {
        let first_item = order.get_mut("orderItems").and_then(|i| i.get_mut(0));
        match self {
            Malformation::MissingOrderItemId => {
                if let Some(Value::Object(item)) = first_item {
                    item.remove("orderItemId");
                }
            }
            Malformation::NegativeQuantity => {
                if let Some(item) = first_item {
                    item["quantityOrdered"] = json!(-1);
                }
            }
            Malformation::UnknownCurrency => replace_currency(order),
            Malformation::BadTimestamp => order["lastUpdatedTime"] = json!("not-a-date"),
            Malformation::HugeTitle => {
                if let Some(item) = first_item {
                    item["product"]["title"] = Value::String(huge_title());
                }
            }
        }
    }
}

fn replace_currency(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, child) in m.iter_mut() {
                if k == "currencyCode" {
                    *child = json!("XXX");
                } else {
                    replace_currency(child);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(replace_currency),
        _ => {}
    }
}

fn huge_title() -> String {
    const PATTERN: &str = "Sandbox-Artikel mit sehr langem Titel ";
    let mut s = PATTERN.repeat(HUGE_TITLE_LEN / PATTERN.len() + 1);
    s.truncate(HUGE_TITLE_LEN);
    s
}

/// Bodies of the `garbage` fault.
const GARBAGE: [(&str, &str); 3] = [
    (
        "text/html; charset=utf-8",
        "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n<body><h1>502 Bad Gateway</h1>\
         <p>The server encountered a temporary error and could not complete your request.</p></body></html>\n",
    ),
    ("text/plain", "upstream connect error or disconnect/reset before headers. reset reason: overflow"),
    ("text/html", "<html><body>Service Unavailable</body></html>"),
];

/// Fault streams and counters of a sandbox.
pub(crate) struct Faults {
    config: FaultConfig,
    endpoints: [Rng; 8],
    orders: Rng,
    pages: Rng,
    deliveries: Rng,
    /// SCX event feed: duplicates, reordered redeliveries, lost acknowledgements.
    events: Rng,
    counts: BTreeMap<String, u64>,
}

impl Faults {
    pub(crate) fn new(config: FaultConfig) -> Self {
        let seed = config.seed;
        Self {
            config,
            endpoints: Endpoint::ALL.map(|e| Rng::stream(seed, 100 + e as u64)),
            orders: Rng::stream(seed, 110),
            pages: Rng::stream(seed, 111),
            deliveries: Rng::stream(seed, 112),
            events: Rng::stream(seed, 113),
            counts: BTreeMap::new(),
        }
    }

    /// New configuration, streams restarted from its seed; the counters carry on.
    pub(crate) fn set(&mut self, config: FaultConfig) {
        let counts = std::mem::take(&mut self.counts);
        *self = Self::new(config);
        self.counts = counts;
    }

    pub(crate) fn counts(&self) -> BTreeMap<String, u64> {
        self.counts.clone()
    }

    pub(crate) fn count(&mut self, endpoint: &str, kind: &str) {
        *self.counts.entry(format!("{endpoint}/{kind}")).or_default() += 1;
    }

    /// Decides one call's fault (counted here) and whether its token expires (counted
    /// only if applied, see [`Faults::count_expired_token`]).
    pub(crate) fn decide(&mut self, endpoint: Endpoint) -> Decision {
        let f = *self.config.endpoint(endpoint);
        let rng = &mut self.endpoints[endpoint as usize];
        let fault = if rng.percent(f.throttle_percent) {
            Some(Fault::Throttle)
        } else if rng.percent(f.server_error_percent) {
            let status = if rng.percent(50) {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            Some(Fault::ServerError(status))
        } else if rng.percent(f.reset_percent) {
            Some(Fault::Reset { after: endpoint.resets_after_processing() && rng.percent(50) })
        } else if rng.percent(f.slow_percent) {
            Some(Fault::Slow(f.slow_delay))
        } else if rng.percent(f.truncated_percent) {
            Some(Fault::Truncated)
        } else if rng.percent(f.garbage_percent) {
            Some(Fault::Garbage(rng.below(GARBAGE.len() as u64) as usize))
        } else {
            None
        };
        let expire_token = !endpoint.issues_tokens() && rng.percent(self.config.expire_token_percent);
        if let Some(fault) = fault {
            self.count(endpoint.name(), fault.kind());
            tracing::info!(endpoint = endpoint.name(), fault = fault.kind(), "injecting fault");
        }
        Decision { fault, expire_token }
    }

    pub(crate) fn count_expired_token(&mut self, endpoint: Endpoint) {
        self.count(endpoint.name(), "expired_token");
        tracing::info!(endpoint = endpoint.name(), "injecting fault: access token expired");
    }

    /// For a new order: whether and how it is malformed. A pending order shows no money,
    /// so an unknown currency would leave it looking fine; it gets one of the other kinds.
    pub(crate) fn malformation(&mut self, pending: bool) -> Option<Malformation> {
        let kinds: &[Malformation] = if pending { &Malformation::WITHOUT_MONEY } else { &Malformation::ALL };
        self.malformation_among(kinds)
    }

    /// For a new SCX order (its events always show prices): one of the kinds a channel's
    /// order data can have. A 10 MiB title is Amazon's oddity, not a channel's.
    pub(crate) fn scx_malformation(&mut self) -> Option<Malformation> {
        self.malformation_among(&Malformation::IN_SCX_EVENTS)
    }

    fn malformation_among(&mut self, kinds: &[Malformation]) -> Option<Malformation> {
        if !self.orders.percent(self.config.malformed_order_percent) {
            return None;
        }
        let m = *self.orders.pick(kinds);
        self.count("orders", m.name());
        Some(m)
    }

    /// For one notification about to be sent: whether it goes twice and whether it is held
    /// back (counted as `delivery/duplicate` and `delivery/delayed`).
    pub(crate) fn delivery(&mut self) -> DeliveryDecision {
        let duplicate = self.deliveries.percent(self.config.duplicate_notification_percent);
        let delay = self
            .deliveries
            .percent(self.config.delayed_notification_percent)
            .then_some(self.config.notification_delay);
        if duplicate {
            self.count("delivery", "duplicate");
        }
        if delay.is_some() {
            self.count("delivery", "delayed");
        }
        DeliveryDecision { duplicate, delay }
    }

    /// For one SCX event put into a queue: whether a copy goes in too (`scxEvents/duplicate`).
    pub(crate) fn scx_duplicate_event(&mut self) -> bool {
        let dup = self.events.percent(self.config.duplicate_event_percent);
        if dup {
            self.count("scxEvents", "duplicate");
        }
        dup
    }

    /// For one SCX event whose visibility timeout ended: whether it goes to the back of the
    /// queue (`scxEvents/reordered`).
    pub(crate) fn scx_reordered_redelivery(&mut self) -> bool {
        let reordered = self.events.percent(self.config.reordered_redelivery_percent);
        if reordered {
            self.count("scxEvents", "reordered");
        }
        reordered
    }

    /// For one acknowledgement about to be applied: whether it is silently dropped
    /// (`scxEvents/lost_ack`).
    pub(crate) fn scx_lost_ack(&mut self) -> bool {
        let lost = self.events.percent(self.config.lost_ack_percent);
        if lost {
            self.count("scxEvents", "lost_ack");
            tracing::info!("injecting fault: acknowledgement lost");
        }
        lost
    }

    /// For a follow-up page of `searchOrders`: whether it repeats the previous page's last
    /// order.
    pub(crate) fn duplicate_page(&mut self) -> bool {
        let dup = self.pages.percent(self.config.duplicate_across_pages_percent);
        if dup {
            self.count("searchOrders", "duplicate");
        }
        dup
    }
}

/// The response of a fault decided before processing; `None` for a reset.
pub(crate) fn refusal(fault: Fault, rate_limit: Option<&str>) -> Option<Response> {
    let (status, code, message) = match fault {
        Fault::Throttle => (
            StatusCode::TOO_MANY_REQUESTS,
            "QuotaExceeded",
            "You exceeded your quota for the requested resource.",
        ),
        Fault::ServerError(status) => {
            (status, "InternalFailure", "We encountered an internal error. Please try again.")
        }
        _ => return None,
    };
    let body = json!({ "errors": [{ "code": code, "message": message }] });
    let mut response = json_response(status, body.to_string().into_bytes());
    if fault == Fault::Throttle {
        let headers = response.headers_mut();
        headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        if let Some(v) = rate_limit.and_then(|r| HeaderValue::from_str(r).ok()) {
            headers.insert("x-amzn-ratelimit-limit", v);
        }
    }
    Some(response)
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Resets the client's connection; never returns when served by [`crate::Sandbox::serve`].
///
/// Served some other way (e.g. `axum::serve(listener, sandbox.router())`) there is no
/// connection handle, and the handler panics instead: hyper drops a connection whose
/// request handler panicked, which the client sees the same way.
pub(crate) async fn reset(conn: Option<Extension<ConnectionReset>>) -> Response {
    match conn {
        Some(Extension(conn)) => {
            conn.reset();
            std::future::pending().await
        }
        None => panic!("sandbox fault injection: dropping the connection (reset fault)"),
    }
}

/// Applies a fault decided to strike after processing to the real response.
pub(crate) async fn after_processing(
    fault: Option<Fault>,
    response: Response,
    conn: Option<Extension<ConnectionReset>>,
) -> Response {
    match fault {
        Some(Fault::Reset { after: true }) => reset(conn).await,
        Some(Fault::Slow(delay)) => {
            tokio::time::sleep(delay).await;
            response
        }
        Some(Fault::Truncated) => {
            let (parts, body) = response.into_parts();
            let mut bytes = to_bytes(body, usize::MAX).await.map(|b| b.to_vec()).unwrap_or_default();
            if bytes.is_empty() {
                bytes = b"{}".to_vec();
            }
            let mut cut = bytes.len() / 2;
            // Keep it valid UTF-8; a JSON prefix ending mid-document is never valid JSON.
            while cut > 0 && bytes[cut] & 0xC0 == 0x80 {
                cut -= 1;
            }
            bytes.truncate(cut.max(1));
            let mut truncated = json_response(StatusCode::OK, bytes);
            copy_api_headers(&parts.headers, &mut truncated);
            truncated
        }
        Some(Fault::Garbage(i)) => {
            let (content_type, text) = GARBAGE[i % GARBAGE.len()];
            let headers = response.headers().clone();
            let mut garbage = Response::new(Body::from(text));
            garbage.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            copy_api_headers(&headers, &mut garbage);
            garbage
        }
        _ => response,
    }
}

/// The marketplace's own headers (`x-amzn-*`, SCX's `x-ratelimit-*`), which a proxy's broken
/// answer still carries.
fn copy_api_headers(from: &axum::http::HeaderMap, to: &mut Response) {
    for (name, value) in from {
        if name.as_str().starts_with("x-amzn-") || name.as_str().starts_with("x-ratelimit-") {
            to.headers_mut().insert(name.clone(), value.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_gives_the_same_decisions_per_endpoint() {
        let config = FaultConfig::uniform(5, 30);
        let run = |interleave: bool| {
            let mut f = Faults::new(config.clone());
            (0..50)
                .map(|_| {
                    if interleave {
                        f.decide(Endpoint::GetOrder);
                    }
                    f.decide(Endpoint::SearchOrders).fault
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(run(false), run(true));
        assert!(run(false).iter().any(Option::is_some));
        let other: Vec<_> = {
            let mut f = Faults::new(FaultConfig::uniform(6, 30));
            (0..50).map(|_| f.decide(Endpoint::SearchOrders).fault).collect()
        };
        assert_ne!(run(false), other);
    }

    #[test]
    fn none_never_faults() {
        let mut f = Faults::new(FaultConfig::none());
        for e in Endpoint::ALL {
            for _ in 0..100 {
                let d = f.decide(e);
                assert!(d.fault.is_none() && !d.expire_token);
            }
        }
        assert!(f.malformation(false).is_none());
        assert!(!f.duplicate_page());
        assert_eq!(f.delivery(), DeliveryDecision::default());
        assert!(!f.scx_duplicate_event() && !f.scx_reordered_redelivery() && !f.scx_lost_ack());
        assert!(f.counts().is_empty());
    }

    #[test]
    fn malformations_break_the_rendered_order() {
        let order = || {
            json!({
                "orderId": "302-1",
                "lastUpdatedTime": "2026-01-01T00:00:00.000Z",
                "proceeds": { "grandTotal": { "amount": "1.00", "currencyCode": "EUR" } },
                "orderItems": [{
                    "orderItemId": "1",
                    "quantityOrdered": 1,
                    "product": { "title": "T", "price": { "unitPrice": { "amount": "1.00", "currencyCode": "EUR" } } },
                }],
            })
        };
        let mut o = order();
        Malformation::MissingOrderItemId.apply(&mut o);
        assert!(o["orderItems"][0].get("orderItemId").is_none());
        let mut o = order();
        Malformation::NegativeQuantity.apply(&mut o);
        assert_eq!(o["orderItems"][0]["quantityOrdered"], -1);
        let mut o = order();
        Malformation::UnknownCurrency.apply(&mut o);
        assert_eq!(o["proceeds"]["grandTotal"]["currencyCode"], "XXX");
        assert_eq!(o["orderItems"][0]["product"]["price"]["unitPrice"]["currencyCode"], "XXX");
        let mut o = order();
        Malformation::BadTimestamp.apply(&mut o);
        assert_eq!(o["lastUpdatedTime"], "not-a-date");
        let mut o = order();
        Malformation::HugeTitle.apply(&mut o);
        assert_eq!(o["orderItems"][0]["product"]["title"].as_str().unwrap().len(), HUGE_TITLE_LEN);
        assert_eq!(o["orderId"], "302-1");
    }

    #[test]
    fn uniform_numbers() {
        let u = FaultConfig::uniform(9, 10);
        assert_eq!(u.seed, 9);
        assert_eq!(u.token, EndpointFaults::uniform(10));
        assert_eq!(u.confirm_shipment.slow_delay, Duration::from_secs(3));
        assert_eq!(u.notifications, EndpointFaults::uniform(10));
        assert_eq!(
            (u.malformed_order_percent, u.duplicate_across_pages_percent, u.expire_token_percent),
            (5, 20, 5)
        );
        assert_eq!((u.duplicate_notification_percent, u.delayed_notification_percent), (20, 10));
        assert_eq!((u.scx_auth, u.scx_events, u.scx_orders), (u.token, u.token, u.token));
        assert_eq!(
            (u.duplicate_event_percent, u.reordered_redelivery_percent, u.lost_ack_percent),
            (20, 10, 5)
        );
        assert_eq!(FaultConfig::uniform(9, 0), FaultConfig { seed: 9, ..FaultConfig::none() });
    }
}
