//! SCX rate limits: `X-RateLimit-Limit`, `-Remaining` and `-Interval-Length-Seconds` on every
//! answer, a fixed window per seller account and route pattern (default 10 per 60 s), and
//! `429` beyond it.

mod scx_common;

use std::collections::BTreeMap;
use std::time::Duration;

use orderbridge_sandbox::{NewScxOrder, SandboxConfig, ScxConfig, ScxRateLimit};
use reqwest::{Method, StatusCode};
use scx_common::{accept_body, ScxHarness, OTTO};

#[tokio::test]
async fn every_answer_carries_the_rate_limit_headers() {
    let h = ScxHarness::new(SandboxConfig::default()).await;
    let auth = h.auth(&h.seller.refresh_token).await;
    let token = auth.body["authToken"].as_str().unwrap().to_string();
    let key = h.order(OTTO, NewScxOrder::unacked(vec![]));
    let answers = [
        auth,
        h.events(&token, &[]).await,
        h.acknowledge(&token, &["000000000000000000000000".to_string()]).await,
        h.put("/v1/seller/order/accept", &token, &accept_body(&key, true)).await,
        h.call(Method::GET, "/v2/seller/event", None, None).await,
    ];
    let statuses: Vec<u16> = answers.iter().map(|a| a.status.as_u16()).collect();
    assert_eq!(statuses, [200, 200, 204, 201, 401]);
    for a in &answers {
        assert_eq!(a.header("x-ratelimit-limit"), Some("10"), "{}", a.status);
        assert_eq!(a.header("x-ratelimit-interval-length-seconds"), Some("60"));
        assert!(a.header("x-ratelimit-remaining").is_some());
    }
    // GET and DELETE of the event route share one window.
    assert_eq!(answers[1].header("x-ratelimit-remaining"), Some("9"));
    assert_eq!(answers[2].header("x-ratelimit-remaining"), Some("8"));
    assert_eq!(answers[3].header("x-ratelimit-remaining"), Some("9"), "a window per route pattern");
}

#[tokio::test]
async fn the_eleventh_call_of_a_minute_is_refused_429_on_that_route_only() {
    let h = ScxHarness::new(SandboxConfig::default()).await;
    let token = h.token().await;
    for n in 1..=10 {
        let r = h.events(&token, &[]).await;
        assert_eq!(r.status, StatusCode::OK, "call {n}");
        assert_eq!(r.header("x-ratelimit-remaining"), Some((10 - n).to_string().as_str()));
    }
    let refused = h.events(&token, &[]).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.error_code(), "GEN429");
    assert_eq!(refused.header("x-ratelimit-remaining"), Some("0"));
    // Other route patterns, and other accounts, have windows of their own.
    let key = h.order(OTTO, NewScxOrder::unacked(vec![]));
    assert_eq!(
        h.put("/v1/seller/order/accept", &token, &accept_body(&key, true)).await.status,
        StatusCode::CREATED
    );
    let other = h.sandbox.add_scx_seller(&[OTTO]);
    let theirs = h.token_for(&other).await;
    assert_eq!(h.events(&theirs, &[]).await.status, StatusCode::OK);
    assert_eq!(h.sandbox.request_count("scxGetEvents"), 12);
}

#[tokio::test]
async fn limits_are_configurable_per_route_pattern() {
    let mut routes = BTreeMap::new();
    routes.insert("/v[version]/seller/event".to_string(), ScxRateLimit::new(2, Duration::from_secs(3600)));
    let config = SandboxConfig {
        scx: ScxConfig { route_rate_limits: routes, ..ScxConfig::default() },
        ..SandboxConfig::default()
    };
    assert!(orderbridge_sandbox::scx::ROUTE_PATTERNS.contains(&"/v[version]/seller/event"));
    let h = ScxHarness::new(config).await;
    let token = h.token().await;
    let first = h.events(&token, &[]).await;
    assert_eq!(first.header("x-ratelimit-limit"), Some("2"));
    assert_eq!(first.header("x-ratelimit-interval-length-seconds"), Some("3600"));
    assert_eq!(h.events(&token, &[]).await.status, StatusCode::OK);
    assert_eq!(h.events(&token, &[]).await.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_window_starts_over_after_its_interval() {
    let config = SandboxConfig {
        scx: ScxConfig {
            rate_limit: ScxRateLimit::new(1, Duration::from_millis(200)),
            ..ScxConfig::default()
        },
        ..SandboxConfig::default()
    };
    let h = ScxHarness::new(config).await;
    let token = h.token().await;
    let mut refused = false;
    let mut later = StatusCode::TOO_MANY_REQUESTS;
    for _ in 0..50 {
        let status = h.events(&token, &[]).await.status;
        if status == StatusCode::TOO_MANY_REQUESTS {
            refused = true;
        } else if refused {
            later = status;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refused, "one request per window");
    assert_eq!(later, StatusCode::OK, "a new window lets the next one through");
}
