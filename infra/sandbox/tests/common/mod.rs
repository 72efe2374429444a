//! Test harness: a sandbox served on a random port plus a plain HTTP client.
#![allow(dead_code)]

use std::time::Duration;

use orderbridge_sandbox::{RunningSandbox, Sandbox, SandboxConfig, SellerCredentials};
use reqwest::{StatusCode, Url};
use serde_json::Value;

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

async fn reply(response: reqwest::Response) -> Reply {
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("non-JSON body ({e}): {}", String::from_utf8_lossy(&bytes)))
    };
    Reply { status, headers, body }
}

impl Harness {
    pub async fn new(config: SandboxConfig) -> Self {
        let sandbox = Sandbox::new(config);
        let seller = sandbox.add_seller();
        let running = sandbox.start().await.unwrap();
        Self { sandbox, running, seller, http: reqwest::Client::new() }
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
        reply(response).await
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
        reply(request.send().await.unwrap()).await
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
        reply(response).await
    }

    pub async fn post(&self, path: &str, body: Option<&Value>) -> Reply {
        let mut request = self.http.post(format!("{}{path}", self.running.base_url));
        if let Some(b) = body {
            request = request.header("content-type", "application/json").body(b.to_string());
        }
        reply(request.send().await.unwrap()).await
    }
}

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
