//! Test harness: a sandbox served on a random port plus a plain HTTP client.
//!
//! Every SP-API response the harness reads is checked against Amazon's model for that
//! operation and status, in strict mode (no field the model lacks), so no test can forget
//! to: see [`check_against_amazon`]. Likewise every `ORDER_CHANGE` notification read through
//! [`Harness::notifications`] is checked against `OrderChangeNotification.json`.
#![allow(dead_code)]

pub mod exchange;

use std::time::Duration;

pub use exchange::Raw;

use orderbridge_sandbox::schema::{AmazonModel, ORDER_CHANGE_NOTIFICATION};
use orderbridge_sandbox::{RunningSandbox, Sandbox, SandboxConfig, SellerCredentials};
use reqwest::{Method, RequestBuilder, StatusCode, Url};
use serde_json::{json, Value};

pub struct Harness {
    pub sandbox: Sandbox,
    pub running: RunningSandbox,
    pub seller: SellerCredentials,
    pub http: reqwest::Client,
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
        self.body["errors"][0]["code"].as_str().unwrap_or("")
    }

    pub fn error_message(&self) -> &str {
        self.body["errors"][0]["message"].as_str().unwrap_or("")
    }
}

/// No window lag, so orders placed just now are searchable at once.
pub fn lagless() -> SandboxConfig {
    SandboxConfig { window_lag: Duration::ZERO, ..SandboxConfig::default() }
}

pub fn form(pairs: &[(&str, &str)]) -> String {
    let url = Url::parse_with_params("http://x/", pairs).unwrap();
    url.query().unwrap_or("").to_string()
}

/// A response read to the end, whatever its body (fault injection sends broken ones).
impl Raw {
    pub fn error_code(&self) -> String {
        self.json().ok().and_then(|v| v["errors"][0]["code"].as_str().map(str::to_string)).unwrap_or_default()
    }
}

/// The Notifications API's definition for `method` on `path` (below `/notifications/v1/`):
/// each operation answers every status, errors included, with its own response object.
fn notifications_definition(method: &Method, rest: &str, status: StatusCode) -> Option<&'static str> {
    let segments: Vec<&str> = rest.split('/').collect();
    let definition = match (segments.as_slice(), method.as_str()) {
        (["destinations"], "GET") => "GetDestinationsResponse",
        (["destinations"], "POST") => "CreateDestinationResponse",
        (["destinations", _], "GET") => "GetDestinationResponse",
        (["destinations", _], "DELETE") => "DeleteDestinationResponse",
        (["subscriptions"], "GET") => "GetSubscriptionsResponse",
        (["subscriptions", _], "GET") => "GetSubscriptionResponse",
        (["subscriptions", _], "POST") => "CreateSubscriptionResponse",
        // The model's 404 of getSubscriptionById is a `GetSubscriptionResponse`.
        (["subscriptions", _, _], "GET") if status == StatusCode::NOT_FOUND => "GetSubscriptionResponse",
        (["subscriptions", _, _], "GET") => "GetSubscriptionByIdResponse",
        (["subscriptions", _, _], "DELETE") => "DeleteSubscriptionByIdResponse",
        _ => return None,
    };
    Some(definition)
}

/// The model and definition of what Amazon answers to `method` on `path` with `status`;
/// `None` for what no SP-API model covers (LWA tokens, the sandbox's own control endpoints)
/// and for `confirmShipment`'s 204, which has no body.
fn amazon_schema(
    method: &Method,
    path: &str,
    status: StatusCode,
) -> Option<(&'static AmazonModel, &'static str)> {
    let v2026 = AmazonModel::orders_2026();
    let notifications = path
        .strip_prefix("/notifications/v1/")
        .and_then(|rest| notifications_definition(method, rest, status));
    // SCX's seller API (`/v1/…`, `/v2/…`) is checked by `scx_common` against JTL's documents.
    if path == "/auth/o2/token"
        || path.starts_with("/_sandbox/")
        || path.starts_with("/v1/")
        || path.starts_with("/v2/")
    {
        None
    } else if let Some(definition) = notifications {
        Some((AmazonModel::notifications(), definition))
    } else if path.starts_with("/orders/v0/") && path.ends_with("/shipmentConfirmation") {
        (status != StatusCode::NO_CONTENT).then(|| (AmazonModel::orders_v0(), "ConfirmShipmentErrorResponse"))
    } else if status != StatusCode::OK {
        // Every other SP-API error, unknown routes included, is an `ErrorList`.
        Some((v2026, "ErrorList"))
    } else if path == "/orders/2026-01-01/orders" {
        Some((v2026, "SearchOrdersResponse"))
    } else {
        Some((v2026, "GetOrderResponse"))
    }
}

/// Fails the test unless `body`, the response to `method` on `path` with `status`, is what
/// Amazon's model allows (strict mode). Orders the sandbox serves malformed on purpose are
/// left out of the check; `confirmShipment`'s 204 must have no body at all.
pub fn check_against_amazon(
    sandbox: &Sandbox,
    method: &Method,
    path: &str,
    status: StatusCode,
    body: &Value,
) {
    if path.starts_with("/orders/v0/") && status == StatusCode::NO_CONTENT {
        assert_eq!(*body, Value::Null, "{path}: a 204 has no body");
        return;
    }
    let Some((model, definition)) = amazon_schema(method, path, status) else {
        return;
    };
    let rejectable = sandbox.rejectable_order_ids();
    let malformed =
        |order: &Value| order["orderId"].as_str().is_some_and(|id| rejectable.iter().any(|r| r == id));
    let mut body = body.clone();
    if definition == "GetOrderResponse" && malformed(&body["order"]) {
        return;
    }
    if let Some(Value::Array(orders)) = body.get_mut("orders") {
        orders.retain(|o| !malformed(o));
    }
    if let Err(errors) = model.validate_strict(definition, &body) {
        panic!(
            "{method} {path} answered {status} with a body that breaks {definition} of {}:\n{}",
            model.file(),
            errors.join("\n")
        );
    }
}

/// Fails the test unless `notification` is what `OrderChangeNotification.json` allows
/// (strict mode).
pub fn check_notification(notification: &Value) {
    let model = AmazonModel::order_change_notification();
    if let Err(errors) = model.validate_strict(ORDER_CHANGE_NOTIFICATION, notification) {
        panic!("a notification breaks {}:\n{}\n{notification:#}", model.file(), errors.join("\n"));
    }
}

impl Harness {
    pub async fn new(config: SandboxConfig) -> Self {
        let sandbox = Sandbox::new(config);
        let seller = sandbox.add_seller();
        let running = sandbox.start().await.unwrap();
        Self { sandbox, running, seller, http: reqwest::Client::new() }
    }

    /// Reads a response that must be JSON (or empty) and checks it against Amazon's model.
    async fn reply(&self, method: &Method, response: reqwest::Response) -> Reply {
        let check = |m: &Method, path: &str, status, body: &Value| {
            check_against_amazon(&self.sandbox, m, path, status, body)
        };
        let (status, headers, body) = exchange::read_json(method, response, check).await;
        Reply { status, headers, body }
    }

    /// Sends and reads whatever comes back. A JSON body is checked against Amazon's model;
    /// one that is no JSON at all (the truncated and garbage faults) is left to the test.
    pub async fn send(&self, request: RequestBuilder) -> Result<Raw, reqwest::Error> {
        exchange::send(request, |m: &Method, path: &str, status, body: &Value| {
            check_against_amazon(&self.sandbox, m, path, status, body)
        })
        .await
    }

    pub async fn token_request(&self, pairs: &[(&str, &str)]) -> Reply {
        let response = self
            .http
            .post(&self.running.token_url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(pairs))
            .send()
            .await
            .unwrap();
        self.reply(&Method::POST, response).await
    }

    pub async fn token_for(&self, seller: &SellerCredentials) -> String {
        let r = self
            .token_request(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", &seller.refresh_token),
                ("client_id", &seller.client_id),
                ("client_secret", &seller.client_secret),
            ])
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.body["access_token"].as_str().unwrap().to_string()
    }

    pub async fn token(&self) -> String {
        self.token_for(&self.seller.clone()).await
    }

    /// GET with properly percent-encoded query pairs.
    pub async fn get(&self, path: &str, token: Option<&str>, query: &[(&str, &str)]) -> Reply {
        let mut url = Url::parse(&format!("{}{path}", self.running.base_url)).unwrap();
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        self.get_url(url.as_str(), token).await
    }

    pub async fn get_url(&self, url: &str, token: Option<&str>) -> Reply {
        let mut request = self.http.get(url);
        if let Some(t) = token {
            request = request.header("x-amz-access-token", t);
        }
        self.reply(&Method::GET, request.send().await.unwrap()).await
    }

    pub async fn search(&self, token: &str, query: &[(&str, &str)]) -> Reply {
        self.get("/orders/2026-01-01/orders", Some(token), query).await
    }

    pub async fn get_order(&self, token: &str, order_id: &str, included: &str) -> Reply {
        let query: Vec<(&str, &str)> =
            if included.is_empty() { vec![] } else { vec![("includedData", included)] };
        self.get(&format!("/orders/2026-01-01/orders/{order_id}"), Some(token), &query).await
    }

    pub async fn confirm(&self, token: &str, order_id: &str, body: &Value) -> Reply {
        let url = format!("{}/orders/v0/orders/{order_id}/shipmentConfirmation", self.running.base_url);
        let response = self
            .http
            .post(url)
            .header("x-amz-access-token", token)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        self.reply(&Method::POST, response).await
    }

    pub async fn post(&self, path: &str, body: Option<&Value>) -> Reply {
        let mut request = self.http.post(format!("{}{path}", self.running.base_url));
        if let Some(b) = body {
            request = request.header("content-type", "application/json").body(b.to_string());
        }
        self.reply(&Method::POST, request.send().await.unwrap()).await
    }

    /// A grantless access token of `seller`'s application (`client_credentials` grant).
    pub async fn grantless_token_for(&self, seller: &SellerCredentials) -> String {
        let r = self
            .token_request(&[
                ("grant_type", "client_credentials"),
                ("scope", "sellingpartnerapi::notifications"),
                ("client_id", &seller.client_id),
                ("client_secret", &seller.client_secret),
            ])
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.body["access_token"].as_str().unwrap().to_string()
    }

    pub async fn grantless_token(&self) -> String {
        self.grantless_token_for(&self.seller.clone()).await
    }

    /// Any SP-API call with an access token and an optional JSON body.
    pub async fn call(&self, method: Method, path: &str, token: &str, body: Option<&Value>) -> Reply {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.running.base_url))
            .header("x-amz-access-token", token);
        if let Some(b) = body {
            request = request.header("content-type", "application/json").body(b.to_string());
        }
        self.reply(&method, request.send().await.unwrap()).await
    }

    /// `createDestination` for an SQS queue.
    pub async fn create_destination(&self, grantless: &str, name: &str, arn: &str) -> Reply {
        let body = json!({ "name": name, "resourceSpecification": { "sqs": { "arn": arn } } });
        self.call(Method::POST, "/notifications/v1/destinations", grantless, Some(&body)).await
    }

    /// `createSubscription` to `ORDER_CHANGE`, payload version 1.0.
    pub async fn subscribe(&self, seller_token: &str, destination_id: &str) -> Reply {
        let body = json!({ "payloadVersion": "1.0", "destinationId": destination_id });
        self.call(Method::POST, "/notifications/v1/subscriptions/ORDER_CHANGE", seller_token, Some(&body))
            .await
    }

    /// The harness's seller subscribed to `ORDER_CHANGE` into the queue `arn`; the
    /// subscription id.
    pub async fn subscribe_seller(&self, arn: &str) -> String {
        let grantless = self.grantless_token().await;
        let destination = self.create_destination(&grantless, "order changes", arn).await;
        assert_eq!(destination.status, StatusCode::OK, "{}", destination.body);
        let destination_id = destination.body["payload"]["destinationId"].as_str().unwrap().to_string();
        let subscription = self.subscribe(&self.token().await, &destination_id).await;
        assert_eq!(subscription.status, StatusCode::OK, "{}", subscription.body);
        subscription.body["payload"]["subscriptionId"].as_str().unwrap().to_string()
    }

    /// Every notification sent so far, once nothing is on its way any more, each checked
    /// against Amazon's schema.
    pub async fn notifications(&self) -> Vec<Value> {
        self.sandbox.deliveries_settled().await;
        let sent = self.sandbox.notifications_sent();
        sent.iter().for_each(check_notification);
        sent
    }
}

/// A queue ARN as moto reports it (its default account).
pub const QUEUE_ARN: &str = "arn:aws:sqs:eu-central-1:123456789012:orderbridge-order-changes";

/// A valid confirmShipment body shipping `items`.
pub fn package(reference: &str, items: &[(&str, u32)]) -> Value {
    serde_json::json!({
        "marketplaceId": "A1PA6795UKMFR9",
        "packageDetail": {
            "packageReferenceId": reference,
            "carrierCode": "DHL",
            "shippingMethod": "DHL Paket",
            "trackingNumber": format!("00340434{reference}"),
            "shipDate": "2026-01-15T10:00:00.000Z",
            "orderItems": items.iter().map(|(id, q)| serde_json::json!({"orderItemId": id, "quantity": q})).collect::<Vec<_>>(),
        }
    })
}

/// Far enough back to be inside any window.
pub const LONG_AGO: &str = "2020-01-01T00:00:00Z";
