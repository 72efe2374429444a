//! Test harness for the SCX seller API: a sandbox on a random port with one seller account
//! selling on `OTTODE` and `KAUFLANDDE`, and a plain HTTP client.
//!
//! Every answer the harness reads is checked against the shape JTL documents for that route
//! and status (`documented_shapes.json`, closed objects), and so is every event the sandbox
//! queued, read through [`ScxHarness::emitted`]: see [`check_scx`].
#![allow(dead_code)]

#[path = "../common/exchange.rs"]
pub mod exchange;

use std::sync::OnceLock;
use std::time::Duration;

use jsonschema::{Draft, Validator};
use orderbridge_sandbox::{
    RunningSandbox, Sandbox, SandboxConfig, ScxConfig, ScxOrderKey, ScxRateLimit, ScxSellerCredentials,
};
use reqwest::{Method, RequestBuilder, StatusCode, Url};
use serde_json::{json, Value};

pub const OTTO: &str = "OTTODE";
pub const KAUFLAND: &str = "KAUFLANDDE";

pub const NEW: &str = "Channel:Order.New";
pub const STATUS: &str = "Channel:Order.StatusUpdate";
pub const ADDRESS: &str = "Channel:Order.AddressUpdate";
pub const CANCELLATION_REQUEST: &str = "Channel:Order.Cancellation.Request";
pub const RETURN: &str = "Channel:Order.Return";

const SHAPES: &str = include_str!("documented_shapes.json");

fn shapes() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| serde_json::from_str(SHAPES).expect("documented_shapes.json is JSON"))
}

fn validator(name: &str) -> Validator {
    let root = json!({ "$ref": format!("#/definitions/{name}"), "definitions": shapes()["definitions"] });
    jsonschema::options()
        .with_draft(Draft::Draft7)
        .should_validate_formats(true)
        .build(&root)
        .unwrap_or_else(|e| panic!("{name} does not compile: {e}"))
}

/// Fails unless `value` has the documented shape `name` (a definition of
/// `documented_shapes.json`).
pub fn check_shape(name: &str, value: &Value) {
    let errors: Vec<String> =
        validator(name).iter_errors(value).map(|e| format!("at {}: {e}", e.instance_path())).collect();
    assert!(errors.is_empty(), "not a documented {name}:\n{}\n{value:#}", errors.join("\n"));
}

/// What JTL documents `method` on `path` to answer with `status`; `None` where there is no
/// body to check (the sandbox's control endpoints).
fn shape(method: &Method, path: &str, status: StatusCode) -> Option<&'static str> {
    if path.starts_with("/_sandbox/") {
        return None;
    }
    if !status.is_success() {
        return Some("ErrorList");
    }
    match (method.as_str(), path) {
        ("POST", "/v1/auth") => Some("AuthToken"),
        ("GET", "/v2/seller/event") => Some("EventList"),
        _ => None,
    }
}

/// Fails the test unless `body` is what JTL documents for the answer (no body for the 201
/// and 204 answers).
pub fn check_scx(method: &Method, path: &str, status: StatusCode, body: &Value) {
    match shape(method, path, status) {
        Some(name) => check_shape(name, body),
        None if !path.starts_with("/_sandbox/") => {
            assert_eq!(*body, Value::Null, "{method} {path} answered {status} with a body: {body}");
        }
        None => {}
    }
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn error_code(&self) -> &str {
        self.body["errorList"][0]["code"].as_str().unwrap_or("")
    }

    pub fn error_messages(&self) -> String {
        self.body["errorList"]
            .as_array()
            .map(|l| l.iter().filter_map(|e| e["message"].as_str()).collect::<Vec<_>>().join(" | "))
            .unwrap_or_default()
    }

    /// The events of a `GET /v2/seller/event` answer.
    pub fn events(&self) -> Vec<Value> {
        self.body["eventList"].as_array().cloned().unwrap_or_default()
    }
}

/// A response read to the end, whatever its body (fault injection sends broken ones).
pub use exchange::Raw;

/// Rate limits out of the way (tests of the limits use the default).
pub fn unthrottled() -> SandboxConfig {
    SandboxConfig {
        scx: ScxConfig {
            rate_limit: ScxRateLimit::new(100_000, Duration::from_secs(60)),
            ..ScxConfig::default()
        },
        ..SandboxConfig::default()
    }
}

pub struct ScxHarness {
    pub sandbox: Sandbox,
    pub running: RunningSandbox,
    pub seller: ScxSellerCredentials,
    pub http: reqwest::Client,
}

impl ScxHarness {
    pub async fn new(config: SandboxConfig) -> Self {
        let sandbox = Sandbox::new(config);
        let seller = sandbox.add_scx_seller(&[OTTO, KAUFLAND]);
        let running = sandbox.start().await.unwrap();
        Self { sandbox, running, seller, http: reqwest::Client::new() }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.running.base_url)
    }

    pub fn seller_id(&self, channel: &str) -> String {
        self.seller.seller_id(channel).unwrap().to_string()
    }

    async fn reply(&self, method: &Method, response: reqwest::Response) -> Reply {
        let (status, headers, body) = exchange::read_json(method, response, check_scx).await;
        Reply { status, headers, body }
    }

    /// Sends and reads whatever comes back; a JSON body is checked, one that is no JSON at
    /// all (the truncated and garbage faults) is left to the test.
    pub async fn send(&self, request: RequestBuilder) -> Result<Raw, reqwest::Error> {
        exchange::send(request, check_scx).await
    }

    /// `POST /v1/auth` with a form body.
    pub async fn auth_form(&self, form: &str) -> Reply {
        let response = self
            .http
            .post(self.url("/v1/auth"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.to_string())
            .send()
            .await
            .unwrap();
        self.reply(&Method::POST, response).await
    }

    pub async fn auth(&self, refresh_token: &str) -> Reply {
        let form = Url::parse_with_params("http://x/", [("refreshToken", refresh_token)]).unwrap();
        self.auth_form(form.query().unwrap_or("")).await
    }

    /// A session token of `seller`.
    pub async fn token_for(&self, seller: &ScxSellerCredentials) -> String {
        let r = self.auth(&seller.refresh_token).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.body["authToken"].as_str().unwrap().to_string()
    }

    pub async fn token(&self) -> String {
        self.token_for(&self.seller.clone()).await
    }

    /// Any seller API call with a bearer token (or none) and an optional JSON body.
    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<&Value>) -> Reply {
        let mut request = self.http.request(method.clone(), self.url(path));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        if let Some(b) = body {
            request = request.header("content-type", "application/json").body(b.to_string());
        }
        self.reply(&method, request.send().await.unwrap()).await
    }

    /// `GET /v2/seller/event` with properly encoded query pairs.
    pub async fn events(&self, token: &str, query: &[(&str, &str)]) -> Reply {
        let mut url = Url::parse(&self.url("/v2/seller/event")).unwrap();
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let response = self.http.get(url).bearer_auth(token).send().await.unwrap();
        self.reply(&Method::GET, response).await
    }

    /// `DELETE /v2/seller/event` for these ids.
    pub async fn acknowledge(&self, token: &str, ids: &[String]) -> Reply {
        self.call(Method::DELETE, "/v2/seller/event", Some(token), Some(&json!({ "eventIdList": ids }))).await
    }

    pub async fn put(&self, path: &str, token: &str, body: &Value) -> Reply {
        self.call(Method::PUT, path, Some(token), Some(body)).await
    }

    /// Every event the sandbox queued so far, each checked against the documented shape.
    pub fn emitted(&self) -> Vec<Value> {
        let events = self.sandbox.scx_events_emitted();
        events.iter().for_each(|e| check_shape("Event", e));
        events
    }

    /// The emitted events about `key`'s order, in queue order.
    pub fn events_of(&self, key: &ScxOrderKey) -> Vec<Value> {
        self.emitted().into_iter().filter(|e| is_about(e, key)).collect()
    }

    /// Places an order in `channel` for the harness's seller.
    pub fn order(&self, channel: &str, order: orderbridge_sandbox::NewScxOrder) -> ScxOrderKey {
        self.sandbox.create_scx_order(&self.seller.account_id, channel, order)
    }
}

pub fn is_about(event: &Value, key: &ScxOrderKey) -> bool {
    let e = &event["event"];
    e["orderId"] == key.order_id.as_str()
        && e["channel"] == key.channel.as_str()
        && e["sellerId"] == key.seller_id.as_str()
}

pub fn ids(events: &[Value]) -> Vec<String> {
    events.iter().map(|e| e["id"].as_str().unwrap().to_string()).collect()
}

pub fn types(events: &[Value]) -> Vec<String> {
    events.iter().map(|e| e["type"].as_str().unwrap().to_string()).collect()
}

pub fn item(sku: &str, quantity: u32, cents: i64) -> orderbridge_sandbox::NewItem {
    orderbridge_sandbox::NewItem::new(sku, quantity, cents)
}

/// The ids of an order's `ITEM` lines, in order.
pub fn line_ids(sandbox: &Sandbox, key: &ScxOrderKey) -> Vec<String> {
    sandbox.scx_order_json(key).unwrap()["orderItem"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["type"] == "ITEM")
        .map(|l| l["orderItemId"].as_str().unwrap().to_string())
        .collect()
}

/// A shipping notice body for one order and one package.
pub fn shipping_body(key: &ScxOrderKey, tracking: &str, lines: &[(&str, u32)], complete: bool) -> Value {
    json!({
        "orderList": [{
            "sellerId": key.seller_id,
            "channel": key.channel,
            "orderId": key.order_id,
            "shippingComplete": complete,
            "shippingItems": [{
                "carrier": "DHL",
                "trackingNumber": tracking,
                "shippedAt": "2026-01-13T12:00:00+00:00",
                "orderItemIdList": lines.iter().map(|(id, q)| json!({ "orderItemId": id, "quantity": q })).collect::<Vec<_>>(),
            }],
        }]
    })
}

/// An order-accept body for one order.
pub fn accept_body(key: &ScxOrderKey, accepted: bool) -> Value {
    json!({
        "orderList": [{
            "channel": key.channel,
            "sellerId": key.seller_id,
            "orderId": key.order_id,
            "orderAccepted": accepted,
        }]
    })
}
