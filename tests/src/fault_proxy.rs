//! A fault-injecting HTTP proxy in front of moto for the AWS JSON protocols (DynamoDB, SQS):
//! throttling, transaction conflicts and server errors, before the request reaches moto or
//! after it was applied (the client can't tell whether its write went through). Seeded, so a
//! failing chaos run can be replayed.

use axum::body::{to_bytes, Body};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Copy)]
pub struct ProxyFaults {
    pub seed: u64,
    /// Percent of requests that fail before they are forwarded.
    pub before_percent: u8,
    /// Percent of (forwarded, applied) requests whose answer is replaced by a server error.
    pub after_percent: u8,
}

impl ProxyFaults {
    pub fn none() -> Self {
        Self { seed: 0, before_percent: 0, after_percent: 0 }
    }
}

struct Inner {
    faults: ProxyFaults,
    rng: u64,
    counts: BTreeMap<String, u64>,
}

#[derive(Clone)]
struct Shared {
    inner: Arc<Mutex<Inner>>,
    upstream: String,
    http: reqwest::Client,
}

pub struct FaultProxy {
    pub endpoint_url: String,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultProxy {
    pub async fn start(upstream: &str, faults: ProxyFaults) -> Self {
        let shared = Shared {
            inner: Arc::new(Mutex::new(Inner { faults, rng: faults.seed, counts: BTreeMap::new() })),
            upstream: upstream.trim_end_matches('/').to_string(),
            http: reqwest::Client::new(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let endpoint_url = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new().fallback(forward).with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { endpoint_url, shared, task }
    }

    pub fn set_faults(&self, faults: ProxyFaults) {
        let mut inner = self.shared.inner.lock().unwrap();
        inner.faults = faults;
        inner.rng = faults.seed;
    }

    /// Injected faults so far, by "Operation/kind".
    pub fn counts(&self) -> BTreeMap<String, u64> {
        self.shared.inner.lock().unwrap().counts.clone()
    }
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Shared {
    fn roll(&self, operation: &str, when: &str) -> bool {
        let mut inner = self.inner.lock().unwrap();
        let percent = if when == "before" { inner.faults.before_percent } else { inner.faults.after_percent };
        if percent == 0 {
            return false;
        }
        let hit = splitmix(&mut inner.rng) % 100 < u64::from(percent);
        if hit {
            *inner.counts.entry(format!("{operation}/{when}")).or_default() += 1;
        }
        hit
    }
}

/// The error a real service would send for `operation` under load.
fn injected_error(operation: &str, before: bool) -> Response<Body> {
    let (status, body) = match operation.split_once('.') {
        Some(("DynamoDB_20120810", "TransactWriteItems")) if before => (
            StatusCode::BAD_REQUEST,
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","message":"Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict, None]","CancellationReasons":[{"Code":"TransactionConflict","Message":"Transaction is ongoing for the item"},{"Code":"None"}]}"#.to_string(),
        ),
        Some(("DynamoDB_20120810", _)) if before => (
            StatusCode::BAD_REQUEST,
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded."}"#.to_string(),
        ),
        Some(("DynamoDB_20120810", _)) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"Internal server error"}"#.to_string(),
        ),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, r#"{"__type":"InternalError","message":"We encountered an internal error."}"#.to_string()),
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert("content-type", HeaderValue::from_static("application/x-amz-json-1.0"));
    response
}

async fn forward(State(shared): State<Shared>, request: Request<Body>) -> Response<Body> {
    let operation = request
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("unknown.unknown")
        .to_string();
    // Table setup and reads of the harness itself stay reliable; faults hit the data plane.
    let faultable = ![".CreateTable", ".DescribeTable", ".CreateQueue", ".GetQueueUrl"]
        .iter()
        .any(|op| operation.ends_with(op));
    if faultable && shared.roll(&operation, "before") {
        return injected_error(&operation, true);
    }
    let method = request.method().clone();
    let path = request.uri().path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/".into());
    let headers = request.headers().clone();
    let body = match to_bytes(request.into_body(), 64 * 1024 * 1024).await {
        Ok(body) => body,
        Err(_) => return injected_error(&operation, false),
    };
    let mut upstream = shared.http.request(method, format!("{}{path}", shared.upstream)).body(body);
    for (name, value) in headers.iter() {
        if name != "host" && name != "content-length" {
            upstream = upstream.header(name, value);
        }
    }
    let Ok(answer) = upstream.send().await else {
        return injected_error(&operation, false);
    };
    if faultable && shared.roll(&operation, "after") {
        return injected_error(&operation, false);
    }
    let status = answer.status();
    let mut out_headers = HeaderMap::new();
    for (name, value) in answer.headers() {
        if name != "content-length" && name != "transfer-encoding" && name != "connection" {
            out_headers.insert(name.clone(), value.clone());
        }
    }
    let bytes = answer.bytes().await.unwrap_or_default();
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    *response.headers_mut() = out_headers;
    response
}
