//! SCX session tokens: `POST /v1/auth` with a refresh token, `Authorization: Bearer`, expiry.

mod scx_common;

use std::time::Duration;

use chrono::{DateTime, Utc};
use orderbridge_sandbox::{EndpointFaults, FaultConfig, SandboxConfig, ScxConfig};
use reqwest::{Method, StatusCode};
use scx_common::{unthrottled, ScxHarness};

#[tokio::test]
async fn a_refresh_token_buys_a_seller_session_token_valid_for_3600_seconds() {
    let h = ScxHarness::new(unthrottled()).await;
    let before = Utc::now();
    let r = h.auth(&h.seller.refresh_token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["scope"], "SELLER");
    assert_eq!(r.body["expiresIn"], 3600);
    let expires: DateTime<Utc> = r.body["tokenExpireAt"].as_str().unwrap().parse().unwrap();
    assert!(expires > before, "tokenExpireAt lies ahead");

    let token = r.body["authToken"].as_str().unwrap();
    let events = h.events(token, &[]).await;
    assert_eq!(events.status, StatusCode::OK, "{}", events.body);
    // A second exchange gives another token; both work until they expire.
    let second = h.token().await;
    assert_ne!(second, token);
    assert_eq!(h.events(token, &[]).await.status, StatusCode::OK);
    assert_eq!(h.sandbox.request_count("scxAuth"), 2);
}

#[tokio::test]
async fn expires_in_reports_the_configured_lifetime() {
    let config = SandboxConfig {
        scx: ScxConfig { token_lifetime: Duration::from_secs(120), ..unthrottled().scx },
        ..unthrottled()
    };
    let h = ScxHarness::new(config).await;
    assert_eq!(h.auth(&h.seller.refresh_token).await.body["expiresIn"], 120);
}

#[tokio::test]
async fn a_wrong_or_missing_refresh_token_is_refused() {
    let h = ScxHarness::new(unthrottled()).await;
    let wrong = h.auth("SELLER:not-a-refresh-token").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.error_code(), "GEN401");
    let missing = h.auth_form("").await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(missing.error_code(), "VAL100");
    assert!(missing.error_messages().contains("refreshToken"), "{}", missing.body);
}

#[tokio::test]
async fn calls_without_a_valid_bearer_token_are_refused_401() {
    let h = ScxHarness::new(unthrottled()).await;
    let none = h.call(Method::GET, "/v2/seller/event", None, None).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(none.error_code(), "GEN401");
    let garbage = h.events("eyJhbGciOiJub25lIn0.e30.", &[]).await;
    assert_eq!(garbage.status, StatusCode::UNAUTHORIZED);
    // A refresh token is no session token.
    let refresh = h.events(&h.seller.refresh_token, &[]).await;
    assert_eq!(refresh.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_token_past_its_lifetime_is_refused_and_a_new_one_works() {
    let config = SandboxConfig {
        scx: ScxConfig { token_lifetime: Duration::ZERO, ..unthrottled().scx },
        ..unthrottled()
    };
    let h = ScxHarness::new(config).await;
    let token = h.token().await;
    let expired = h.events(&token, &[]).await;
    assert_eq!(expired.status, StatusCode::UNAUTHORIZED, "{}", expired.body);
    assert_eq!(expired.error_code(), "GEN401");
    assert!(expired.error_messages().contains("expired"), "{}", expired.body);
    assert!(h.sandbox.fault_counts().is_empty(), "expiry is no fault");
}

#[tokio::test]
async fn the_expired_token_fault_ends_a_valid_token_early_for_good() {
    let h = ScxHarness::new(unthrottled()).await;
    let token = h.token().await;
    h.sandbox.set_faults(FaultConfig { expire_token_percent: 100, ..FaultConfig::none() });
    let first = h.events(&token, &[]).await;
    assert_eq!(first.status, StatusCode::UNAUTHORIZED);
    assert_eq!(h.sandbox.fault_counts().get("scxEvents/expired_token"), Some(&1));

    h.sandbox.set_faults(FaultConfig::none());
    let again = h.events(&token, &[]).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED, "the token stays expired");
    let fresh = h.token().await;
    assert_eq!(h.events(&fresh, &[]).await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_auth_endpoint_fails_like_any_other() {
    let h = ScxHarness::new(unthrottled()).await;
    h.sandbox.set_faults(FaultConfig {
        scx_auth: EndpointFaults { server_error_percent: 100, ..EndpointFaults::none() },
        ..FaultConfig::none()
    });
    let r = h.auth(&h.seller.refresh_token).await;
    assert!(r.status.is_server_error(), "{}", r.status);
    assert_eq!(r.error_code(), "GEN500");
    assert_eq!(h.sandbox.fault_counts().get("scxAuth/server_error"), Some(&1));
}
