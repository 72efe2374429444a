//! Reading the sandbox's answers over HTTP, shared by the Amazon and the SCX harness: each passes
//! the check of its vendor's model or documented shapes, so no answer goes unchecked.

use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::Value;

/// Checks one answer (method, path, status, JSON body or Null) and fails the test if it breaks
/// the vendor's model.
pub trait Check: Fn(&Method, &str, StatusCode, &Value) {}
impl<F: Fn(&Method, &str, StatusCode, &Value)> Check for F {}

/// An answer whose body need not be JSON (the truncated and garbage faults).
pub struct Raw {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Raw {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> Result<Value, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }
}

/// Reads an answer that must be JSON (or empty) and checks it.
pub async fn read_json(
    method: &Method,
    response: reqwest::Response,
    check: impl Check,
) -> (StatusCode, HeaderMap, Value) {
    let status = response.status();
    let path = response.url().path().to_string();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("non-JSON body ({e}): {}", String::from_utf8_lossy(&bytes)))
    };
    check(method, &path, status, &body);
    (status, headers, body)
}

/// Sends and reads whatever comes back. A JSON body is checked; one that is no JSON at all is
/// left to the test.
pub async fn send(request: RequestBuilder, check: impl Check) -> Result<Raw, reqwest::Error> {
    // Split to learn the method, and sent by the builder's own client (its timeouts).
    let (client, request) = request.build_split();
    let request = request?;
    let method = request.method().clone();
    let response = client.execute(request).await?;
    let status = response.status();
    let path = response.url().path().to_string();
    let headers = response.headers().clone();
    let body = response.bytes().await?.to_vec();
    let raw = Raw { status, headers, body };
    if raw.body.is_empty() {
        check(&method, &path, status, &Value::Null);
    } else if let Ok(json) = raw.json() {
        check(&method, &path, status, &json);
    }
    Ok(raw)
}
