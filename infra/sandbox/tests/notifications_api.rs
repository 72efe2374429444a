//! The Notifications API over real HTTP: grantless and seller tokens, destinations and
//! subscriptions, their conflicts and 404s, usage plans and injected faults. Every response
//! is checked against `notifications.json` by the harness.

mod common;

use common::{Harness, Reply, QUEUE_ARN};
use orderbridge_sandbox::{EndpointFaults, FaultConfig, Quota, RateLimit, SandboxConfig};
use reqwest::{Method, StatusCode};
use serde_json::json;

const DESTINATIONS: &str = "/notifications/v1/destinations";
const ORDER_CHANGE: &str = "/notifications/v1/subscriptions/ORDER_CHANGE";

/// A `client_credentials` token request for the harness's seller's application.
async fn client_credentials(h: &Harness, scope: Option<&str>, secret: &str) -> Reply {
    let client_id = h.seller.client_id.clone();
    let mut form =
        vec![("grant_type", "client_credentials"), ("client_id", &client_id), ("client_secret", secret)];
    form.extend(scope.map(|s| ("scope", s)));
    h.token_request(&form).await
}

#[tokio::test]
async fn client_credentials_with_the_notifications_scope_give_a_grantless_token() {
    let h = Harness::new(SandboxConfig::default()).await;
    let secret = h.seller.client_secret.clone();
    let ok = client_credentials(&h, Some("sellingpartnerapi::notifications"), &secret).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert!(ok.body["access_token"].as_str().unwrap().starts_with("Atc|"));
    assert_eq!(ok.body["scope"], "sellingpartnerapi::notifications");
    assert_eq!(ok.body["token_type"], "bearer");
    assert_eq!(ok.body["expires_in"], 3600);
    assert!(ok.body.get("refresh_token").is_none(), "no refresh token backs a grantless token");

    let refusal = |r: Reply| (r.status, r.body["error"].as_str().unwrap_or_default().to_string());
    let no_scope = client_credentials(&h, None, &secret).await;
    assert_eq!(refusal(no_scope), (StatusCode::BAD_REQUEST, "invalid_request".to_string()));
    let other_scope = client_credentials(&h, Some("sellingpartnerapi::migration"), &secret).await;
    assert_eq!(refusal(other_scope), (StatusCode::BAD_REQUEST, "invalid_scope".to_string()));
    let wrong_secret = client_credentials(&h, Some("sellingpartnerapi::notifications"), "wrong").await;
    assert_eq!(refusal(wrong_secret), (StatusCode::UNAUTHORIZED, "invalid_client".to_string()));
}

#[tokio::test]
async fn grantless_operations_take_grantless_tokens_and_seller_operations_seller_tokens() {
    let h = Harness::new(SandboxConfig::default()).await;
    let grantless = h.grantless_token().await;
    let seller = h.token().await;
    let refused = |r: &Reply| {
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        assert_eq!(r.error_code(), "Unauthorized");
        assert_eq!(r.error_message(), "Access to requested resource is denied.");
    };
    refused(&h.create_destination(&seller, "q", QUEUE_ARN).await);
    refused(&h.call(Method::GET, DESTINATIONS, &seller, None).await);
    refused(&h.call(Method::GET, &format!("{DESTINATIONS}/x"), &seller, None).await);
    refused(&h.call(Method::DELETE, &format!("{DESTINATIONS}/x"), &seller, None).await);
    refused(&h.call(Method::GET, &format!("{ORDER_CHANGE}/x"), &seller, None).await);
    refused(&h.call(Method::DELETE, &format!("{ORDER_CHANGE}/x"), &seller, None).await);
    refused(&h.subscribe(&grantless, "x").await);
    refused(&h.call(Method::GET, ORDER_CHANGE, &grantless, None).await);
    refused(
        &h.call(
            Method::GET,
            "/notifications/v1/subscriptions?notificationTypes=ORDER_CHANGE",
            &grantless,
            None,
        )
        .await,
    );
    refused(&h.search(&grantless, &[("lastUpdatedAfter", common::LONG_AGO)]).await);

    assert_eq!(h.call(Method::GET, DESTINATIONS, &grantless, None).await.status, StatusCode::OK);
    assert_eq!(h.call(Method::GET, ORDER_CHANGE, &seller, None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(h.sandbox.request_count("createDestination"), 1);
    assert_eq!(h.sandbox.request_count("getDestinations"), 2);
}

#[tokio::test]
async fn a_destination_is_created_listed_read_and_deleted() {
    let h = Harness::new(SandboxConfig::default()).await;
    let grantless = h.grantless_token().await;
    let created = h.create_destination(&grantless, "order changes", QUEUE_ARN).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    let destination = created.body["payload"].clone();
    assert_eq!(destination["name"], "order changes");
    assert_eq!(destination["resource"]["sqs"]["arn"], QUEUE_ARN);
    let id = destination["destinationId"].as_str().unwrap().to_string();
    let path = format!("{DESTINATIONS}/{id}");

    let list = h.call(Method::GET, DESTINATIONS, &grantless, None).await;
    assert_eq!(list.body["payload"], json!([destination]));
    assert_eq!(h.call(Method::GET, &path, &grantless, None).await.body["payload"], destination);
    assert_eq!(h.sandbox.destinations()[0].sqs_arn, QUEUE_ARN);

    // Another application sees none of it.
    let other = h.sandbox.add_seller();
    let other_token = h.grantless_token_for(&other).await;
    assert_eq!(h.call(Method::GET, DESTINATIONS, &other_token, None).await.body["payload"], json!([]));
    assert_eq!(h.call(Method::GET, &path, &other_token, None).await.status, StatusCode::NOT_FOUND);

    let deleted = h.call(Method::DELETE, &path, &grantless, None).await;
    assert_eq!((deleted.status, deleted.body.clone()), (StatusCode::OK, json!({})));
    assert_eq!(h.call(Method::GET, &path, &grantless, None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(h.call(Method::DELETE, &path, &grantless, None).await.status, StatusCode::NOT_FOUND);
    assert!(h.sandbox.destinations().is_empty());
}

#[tokio::test]
async fn a_second_destination_for_the_same_queue_conflicts_and_non_sqs_resources_are_refused() {
    let h = Harness::new(SandboxConfig::default()).await;
    let grantless = h.grantless_token().await;
    assert_eq!(h.create_destination(&grantless, "a", QUEUE_ARN).await.status, StatusCode::OK);
    let again = h.create_destination(&grantless, "b", QUEUE_ARN).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.error_code(), "Conflict");
    assert!(again.body["errors"][0]["details"].as_str().unwrap().contains(QUEUE_ARN));

    for arn in
        ["arn:aws:sns:eu-central-1:123456789012:topic", "https://sqs.eu-central-1.amazonaws.com/1/q", ""]
    {
        let r = h.create_destination(&grantless, "bad", arn).await;
        assert_eq!((r.status, r.error_code()), (StatusCode::BAD_REQUEST, "InvalidInput"), "{arn}");
    }
    let event_bridge = json!({
        "name": "eb",
        "resourceSpecification": { "eventBridge": { "region": "us-east-1", "accountId": "1" } }
    });
    let r = h.call(Method::POST, DESTINATIONS, &grantless, Some(&event_bridge)).await;
    assert_eq!((r.status, r.error_code()), (StatusCode::BAD_REQUEST, "InvalidInput"));
    let nameless = json!({ "resourceSpecification": { "sqs": { "arn": QUEUE_ARN } } });
    let r = h.call(Method::POST, DESTINATIONS, &grantless, Some(&nameless)).await;
    assert_eq!((r.status, r.error_code()), (StatusCode::BAD_REQUEST, "InvalidInput"));
    assert_eq!(h.sandbox.destinations().len(), 1);
}

#[tokio::test]
async fn a_subscription_lives_until_deleted_and_a_second_one_conflicts() {
    let h = Harness::new(SandboxConfig::default()).await;
    let grantless = h.grantless_token().await;
    let seller = h.token().await;
    assert_eq!(h.call(Method::GET, ORDER_CHANGE, &seller, None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(h.subscribe(&seller, "no-such-destination").await.status, StatusCode::NOT_FOUND);

    let destination = h.create_destination(&grantless, "q", QUEUE_ARN).await;
    let destination_id = destination.body["payload"]["destinationId"].as_str().unwrap().to_string();
    let created = h.subscribe(&seller, &destination_id).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    let subscription = created.body["payload"].clone();
    assert_eq!(subscription["payloadVersion"], "1.0");
    assert_eq!(subscription["destinationId"], destination_id.as_str());
    let id = subscription["subscriptionId"].as_str().unwrap().to_string();

    let again = h.subscribe(&seller, &destination_id).await;
    assert_eq!((again.status, again.error_code()), (StatusCode::CONFLICT, "StateConflict"));
    assert_eq!(h.call(Method::GET, ORDER_CHANGE, &seller, None).await.body["payload"], subscription);
    let listed = h
        .call(Method::GET, "/notifications/v1/subscriptions?notificationTypes=ORDER_CHANGE", &seller, None)
        .await;
    assert_eq!(listed.body["payload"]["subscriptions"], json!([subscription]));
    let by_id = format!("{ORDER_CHANGE}/{id}");
    assert_eq!(h.call(Method::GET, &by_id, &grantless, None).await.body["payload"], subscription);
    let views = h.sandbox.subscriptions();
    assert_eq!((views[0].seller_id.as_str(), views[0].sqs_arn.as_str()), ("SANDBOXSELLER1", QUEUE_ARN));

    // A destination still in use stays.
    let in_use = h.call(Method::DELETE, &format!("{DESTINATIONS}/{destination_id}"), &grantless, None).await;
    assert_eq!((in_use.status, in_use.error_code()), (StatusCode::FORBIDDEN, "Unauthorized"));

    let deleted = h.call(Method::DELETE, &by_id, &grantless, None).await;
    assert_eq!((deleted.status, deleted.body.clone()), (StatusCode::OK, json!({})));
    assert_eq!(h.call(Method::GET, &by_id, &grantless, None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(h.call(Method::GET, ORDER_CHANGE, &seller, None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(h.call(Method::DELETE, &by_id, &grantless, None).await.status, StatusCode::NOT_FOUND);
    let freed = h.call(Method::DELETE, &format!("{DESTINATIONS}/{destination_id}"), &grantless, None).await;
    assert_eq!(freed.status, StatusCode::OK);
    assert!(h.sandbox.subscriptions().is_empty());
}

#[tokio::test]
async fn invalid_subscription_requests_are_refused_as_invalid_input() {
    let h = Harness::new(SandboxConfig::default()).await;
    let grantless = h.grantless_token().await;
    let seller = h.token().await;
    let destination = h.create_destination(&grantless, "q", QUEUE_ARN).await;
    let destination_id = destination.body["payload"]["destinationId"].as_str().unwrap().to_string();
    let with = |changes: serde_json::Value| {
        let mut body = json!({ "payloadVersion": "1.0", "destinationId": destination_id });
        for (k, v) in changes.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let cases = [
        with(json!({ "payloadVersion": "2.0" })),
        with(json!({ "destinationId": "" })),
        with(json!({ "processingDirective": { "filterExpression": "x == 1" } })),
        with(json!({ "processingDirective": { "eventFilter": { "eventFilterType": "ANY_OFFER_CHANGED" } } })),
        with(json!({ "processingDirective": { "eventFilter": { "marketplaceIds": ["A1PA6795UKMFR9"] } } })),
        with(json!({ "processingDirective": { "eventFilter": {
            "eventFilterType": "ORDER_CHANGE", "orderChangeTypes": ["Nonsense"] } } })),
        json!({ "payloadVersion": 1 }),
    ];
    for body in cases {
        let r = h.call(Method::POST, ORDER_CHANGE, &seller, Some(&body)).await;
        assert_eq!((r.status, r.error_code()), (StatusCode::BAD_REQUEST, "InvalidInput"), "{body}");
    }
    let other_type = json!({ "payloadVersion": "1.0", "destinationId": destination_id });
    let r = h
        .call(Method::POST, "/notifications/v1/subscriptions/ANY_OFFER_CHANGED", &seller, Some(&other_type))
        .await;
    assert_eq!((r.status, r.error_code()), (StatusCode::BAD_REQUEST, "InvalidInput"));
    for query in [
        "",
        "?notificationTypes=ORDER_CHANGE,ANY_OFFER_CHANGED",
        "?notificationTypes=ORDER_CHANGE&pageSize=5",
    ] {
        let r = h.call(Method::GET, &format!("/notifications/v1/subscriptions{query}"), &seller, None).await;
        assert_eq!((r.status, r.error_code()), (StatusCode::BAD_REQUEST, "InvalidInput"), "{query}");
    }
    assert!(h.sandbox.subscriptions().is_empty());
}

#[tokio::test]
async fn an_event_filter_is_shown_back_as_the_model_describes_it() {
    let h = Harness::new(SandboxConfig::default()).await;
    let grantless = h.grantless_token().await;
    let destination = h.create_destination(&grantless, "q", QUEUE_ARN).await;
    let directive = json!({ "eventFilter": {
        "eventFilterType": "ORDER_CHANGE",
        "marketplaceIds": ["A1PA6795UKMFR9"],
        "orderChangeTypes": ["OrderStatusChange", "BuyerRequestedChange"]
    }});
    let body = json!({
        "payloadVersion": "1.0",
        "destinationId": destination.body["payload"]["destinationId"],
        "processingDirective": directive,
    });
    let r = h.call(Method::POST, ORDER_CHANGE, &h.token().await, Some(&body)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["payload"]["processingDirective"], directive);
}

#[tokio::test]
async fn notifications_operations_follow_their_usage_plan() {
    assert_eq!(RateLimit::default().notifications, Quota::new(1.0, 5));
    let plan = RateLimit { notifications: Quota::new(0.01, 2), ..RateLimit::default() };
    let h = Harness::new(SandboxConfig { rate_limit: Some(plan), ..SandboxConfig::default() }).await;
    let grantless = h.grantless_token().await;
    for _ in 0..2 {
        let r = h.call(Method::GET, DESTINATIONS, &grantless, None).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.header("x-amzn-ratelimit-limit"), Some("0.01"));
    }
    let throttled = h.call(Method::GET, DESTINATIONS, &grantless, None).await;
    assert_eq!((throttled.status, throttled.error_code()), (StatusCode::TOO_MANY_REQUESTS, "QuotaExceeded"));
    // Each operation has a bucket of its own.
    assert_eq!(h.create_destination(&grantless, "q", QUEUE_ARN).await.status, StatusCode::OK);

    let unthrottled = Harness::new(SandboxConfig::default()).await;
    let r = unthrottled.call(Method::GET, DESTINATIONS, &unthrottled.grantless_token().await, None).await;
    assert_eq!(r.header("x-amzn-ratelimit-limit"), Some("1.0"));
}

#[tokio::test]
async fn endpoint_faults_strike_the_notifications_api_too() {
    let throttle = EndpointFaults { throttle_percent: 100, ..EndpointFaults::none() };
    let faults = FaultConfig { seed: 4, notifications: throttle, ..FaultConfig::none() };
    let h = Harness::new(SandboxConfig { faults, ..SandboxConfig::default() }).await;
    let grantless = h.grantless_token().await;
    let r = h.create_destination(&grantless, "q", QUEUE_ARN).await;
    assert_eq!((r.status, r.error_code()), (StatusCode::TOO_MANY_REQUESTS, "QuotaExceeded"));
    assert_eq!(r.header("retry-after"), Some("1"));
    assert!(h.sandbox.destinations().is_empty(), "a call faulted before processing has no effect");
    assert_eq!(h.sandbox.fault_counts().get("notifications/throttle"), Some(&1));
    h.sandbox.set_faults(FaultConfig::none());
    assert_eq!(h.create_destination(&grantless, "q", QUEUE_ARN).await.status, StatusCode::OK);
}
