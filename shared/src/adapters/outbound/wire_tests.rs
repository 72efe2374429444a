//! [`ApiCaller`] against a tiny scripted marketplace on 127.0.0.1.

use super::*;
use crate::domain::AccountId;
use crate::ports::{CallPacer, MarketplaceError, Quota, StoreError};
use crate::Deadline;
use async_trait::async_trait;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use reqwest::Method;
use serde_json::json;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One scripted answer: status, headers, body.
type Answer = (u16, Vec<(&'static str, &'static str)>, &'static str);

#[derive(Default)]
struct Marketplace {
    script: Mutex<VecDeque<Answer>>,
    /// The `Authorization` header of every request, in order.
    seen: Mutex<Vec<String>>,
}

async fn answer(State(marketplace): State<Arc<Marketplace>>, headers: HeaderMap) -> Response {
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
    marketplace.seen.lock().unwrap().push(authorization.to_string());
    let (status, headers, body) = marketplace.script.lock().unwrap().pop_front().expect("a scripted answer");
    let mut response = (StatusCode::from_u16(status).unwrap(), body).into_response();
    for (name, value) in headers {
        response.headers_mut().insert(name, value.parse().unwrap());
    }
    response
}

/// Serves `script` on a free port; answers the marketplace and its base URL.
async fn serve(script: Vec<Answer>) -> (Arc<Marketplace>, reqwest::Url) {
    let marketplace = Arc::new(Marketplace { script: Mutex::new(script.into()), ..Default::default() });
    let app = axum::Router::new().fallback(answer).with_state(marketplace.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1/seller/event", listener.local_addr().unwrap()).parse().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (marketplace, url)
}

/// Hands out `token-1`, `token-2`, … for an hour each.
#[derive(Default)]
struct Tokens(AtomicU32);

#[async_trait]
impl TokenSource for Tokens {
    async fn fetch(&self, _deadline: Deadline) -> Result<AccessToken, MarketplaceError> {
        let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(AccessToken::new(format!("token-{n}"), Duration::from_secs(3600)))
    }
}

/// Lets every call go at once, counting reservations.
#[derive(Default)]
struct CountingPacer(AtomicU32);

#[async_trait]
impl CallPacer for CountingPacer {
    async fn reserve(&self, _: &AccountId, _: &str, _: Quota) -> Result<Duration, StoreError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(Duration::ZERO)
    }
}

struct Setup {
    caller: ApiCaller,
    tokens: Arc<Tokens>,
    pacer: Arc<CountingPacer>,
}

fn caller() -> Setup {
    let tokens = Arc::new(Tokens::default());
    let pacer = Arc::new(CountingPacer::default());
    let plan: PacingPlan = Arc::new(|_| Some(Quota { rate_per_second: 1.0, burst: 5 }));
    let caller = ApiCaller::new(
        AccountId::parse("scx-seller").unwrap(),
        reqwest::Client::new(),
        TokenCache::new(tokens.clone()),
        TokenPlacement::Bearer,
        Pacing { pacer: pacer.clone(), plan },
    );
    Setup { caller, tokens, pacer }
}

fn deadline() -> Deadline {
    Deadline::after(Duration::from_secs(60))
}

const TOO_MANY_REQUESTS: &str = r#"{"errorList": [{"code": "GEN429", "message": "Too Many Requests"}]}"#;

#[tokio::test]
async fn a_window_with_nothing_remaining_is_waited_out_then_the_call_retried() {
    let exhausted = vec![
        ("X-RateLimit-Limit", "5"),
        ("X-RateLimit-Remaining", "0"),
        ("X-RateLimit-Interval-Length-Seconds", "1"),
    ];
    let fresh = vec![
        ("X-RateLimit-Limit", "5"),
        ("X-RateLimit-Remaining", "4"),
        ("X-RateLimit-Interval-Length-Seconds", "1"),
    ];
    let (marketplace, url) =
        serve(vec![(429, exhausted, TOO_MANY_REQUESTS), (200, fresh, r#"{"eventList": []}"#)]).await;
    let setup = caller();
    let started = Instant::now();
    let response =
        setup.caller.send(&ApiRequest::new("getEvents", Method::GET, url), deadline()).await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1), "waited out the window: {:?}", started.elapsed());
    assert_eq!(response.status, reqwest::StatusCode::OK);
    assert_eq!(response.body, json!({"eventList": []}));
    let limit = response.rate_limit.unwrap();
    assert_eq!((limit.limit, limit.remaining, limit.interval), (5.0, Some(4), Duration::from_secs(1)));
    assert_eq!(marketplace.seen.lock().unwrap().len(), 2, "retried once");
    assert_eq!(setup.pacer.0.load(Ordering::SeqCst), 2, "every attempt paced");
}

#[tokio::test]
async fn a_rejected_token_is_renewed_and_sent_as_a_bearer_token() {
    let (marketplace, url) = serve(vec![(401, vec![], ""), (204, vec![], "")]).await;
    let setup = caller();
    let response = setup.caller.send(&ApiRequest::new("ack", Method::DELETE, url), deadline()).await.unwrap();
    assert_eq!(response.status, reqwest::StatusCode::NO_CONTENT);
    assert_eq!(*marketplace.seen.lock().unwrap(), ["Bearer token-1", "Bearer token-2"]);
    assert_eq!(setup.tokens.0.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_refusal_is_not_retried_and_carries_the_marketplaces_messages() {
    let (marketplace, url) =
        serve(vec![(400, vec![], r#"{"errorList": [{"code": "VAL100", "message": "bad filter"}]}"#)]).await;
    let setup = caller();
    let request = ApiRequest::new("getEvents", Method::GET, url).query("eventTypeFilter", "nonsense");
    match setup.caller.send(&request, deadline()).await.unwrap_err() {
        MarketplaceError::Refused { operation, message, .. } => {
            assert_eq!(operation, "getEvents");
            assert!(message.contains("VAL100: bad filter"), "{message}");
        }
        other => panic!("{other}"),
    }
    assert_eq!(marketplace.seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn an_unreachable_marketplace_is_unavailable_and_the_error_names_no_url() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url: reqwest::Url =
        format!("http://{}/v1/seller/order/4711", listener.local_addr().unwrap()).parse().unwrap();
    drop(listener);
    let setup = caller();
    let policy = RetryPolicy { max_attempts: 2, ..RetryPolicy::default() };
    let caller = setup.caller.with_retry_policy(policy);
    match caller.send(&ApiRequest::new("getOrder", Method::GET, url), deadline()).await.unwrap_err() {
        MarketplaceError::Unavailable { message, .. } => {
            assert!(!message.contains("4711") && !message.contains("127.0.0.1"), "{message}");
        }
        other => panic!("{other}"),
    }
    assert_eq!(setup.pacer.0.load(Ordering::SeqCst), 2, "tried twice");
}
