//! What goes wrong on the event feed: identical duplicates, redeliveries out of order, lost
//! acknowledgements, and the shared endpoint faults (throttling, server errors, resets,
//! broken bodies).

mod scx_common;

use orderbridge_sandbox::{EndpointFaults, FaultConfig, NewScxOrder};
use reqwest::StatusCode;
use scx_common::{ids, unthrottled, ScxHarness, NEW, OTTO};

fn only(faults: FaultConfig) -> FaultConfig {
    FaultConfig { seed: 3, ..faults }
}

#[tokio::test]
async fn a_duplicated_event_repeats_type_time_and_payload_under_an_id_of_its_own() {
    let h = ScxHarness::new(unthrottled()).await;
    h.sandbox.set_faults(only(FaultConfig { duplicate_event_percent: 100, ..FaultConfig::none() }));
    h.order(OTTO, NewScxOrder::created(vec![]));
    let token = h.token().await;
    let events = h.events(&token, &[]).await.events();
    assert_eq!(events.len(), 2);
    let (a, b) = (&events[0], &events[1]);
    assert_ne!(a["id"], b["id"]);
    assert_eq!((&a["type"], &a["createdAt"], &a["event"]), (&b["type"], &b["createdAt"], &b["event"]));
    assert_eq!(h.sandbox.fault_counts().get("scxEvents/duplicate"), Some(&1));

    // Each copy is acknowledged on its own.
    h.acknowledge(&token, &ids(&events[..1])).await;
    h.sandbox.scx_expire_visibility();
    assert_eq!(ids(&h.events(&token, &[]).await.events()), ids(&events[1..]));
}

#[tokio::test]
async fn a_redelivered_event_can_come_after_newer_ones() {
    let h = ScxHarness::new(unthrottled()).await;
    let token = h.token().await;
    let older = h.order(OTTO, NewScxOrder::created(vec![]));
    let first = h.events(&token, &[]).await.events();
    assert_eq!(first.len(), 1);
    let newer = h.order(OTTO, NewScxOrder::created(vec![]));

    h.sandbox.set_faults(only(FaultConfig { reordered_redelivery_percent: 100, ..FaultConfig::none() }));
    h.sandbox.scx_expire_visibility();
    let events = h.events(&token, &[]).await.events();
    let order_ids: Vec<&str> = events.iter().map(|e| e["event"]["orderId"].as_str().unwrap()).collect();
    assert_eq!(order_ids, vec![newer.order_id.as_str(), older.order_id.as_str()]);
    assert_eq!(events[1], first[0], "the same event, redelivered");
    assert_eq!(h.sandbox.fault_counts().get("scxEvents/reordered"), Some(&1));
}

#[tokio::test]
async fn without_the_fault_a_redelivered_event_keeps_its_place() {
    let h = ScxHarness::new(unthrottled()).await;
    let token = h.token().await;
    let older = h.order(OTTO, NewScxOrder::created(vec![]));
    h.events(&token, &[]).await;
    h.order(OTTO, NewScxOrder::created(vec![]));
    h.sandbox.scx_expire_visibility();
    let events = h.events(&token, &[]).await.events();
    assert_eq!(events[0]["event"]["orderId"], older.order_id.as_str());
}

#[tokio::test]
async fn a_lost_acknowledgement_is_answered_204_and_the_events_come_back() {
    let h = ScxHarness::new(unthrottled()).await;
    h.order(OTTO, NewScxOrder::created(vec![]));
    let token = h.token().await;
    let events = h.events(&token, &[]).await.events();
    h.sandbox.set_faults(only(FaultConfig { lost_ack_percent: 100, ..FaultConfig::none() }));
    let r = h.acknowledge(&token, &ids(&events)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "the seller cannot tell");
    assert_eq!(h.sandbox.fault_counts().get("scxEvents/lost_ack"), Some(&1));
    assert!(h.sandbox.scx_acknowledged_event_ids().is_empty());

    h.sandbox.set_faults(FaultConfig::none());
    h.sandbox.scx_expire_visibility();
    let back = h.events(&token, &[]).await.events();
    assert_eq!(back, events);
    h.acknowledge(&token, &ids(&back)).await;
    assert!(h.sandbox.scx_pending_events(&h.seller.account_id).is_empty());
}

#[tokio::test]
async fn a_reset_acknowledgement_may_have_been_applied_and_a_retry_is_harmless() {
    let h = ScxHarness::new(unthrottled()).await;
    h.order(OTTO, NewScxOrder::created(vec![]));
    let token = h.token().await;
    let events = h.events(&token, &[]).await.events();
    let body = serde_json::json!({ "eventIdList": ids(&events) });
    h.sandbox.set_faults(only(FaultConfig {
        scx_events: EndpointFaults { reset_percent: 100, ..EndpointFaults::none() },
        ..FaultConfig::none()
    }));
    // Every attempt is reset; the first ones before processing (nothing acknowledged), until
    // one strikes after the acknowledgement was applied.
    let mut attempts = 0;
    loop {
        attempts += 1;
        assert!(attempts <= 20, "no reset after acknowledging in 20 attempts");
        let sent = h.send(h.http.delete(h.url("/v2/seller/event")).bearer_auth(&token).json(&body)).await;
        assert!(sent.is_err(), "the connection is reset");
        if h.sandbox.fault_counts().get("scxEvents/reset_after_record") == Some(&1) {
            break;
        }
        assert!(
            h.sandbox.scx_acknowledged_event_ids().is_empty(),
            "a reset before processing acknowledges nothing"
        );
    }
    assert_eq!(
        h.sandbox.scx_acknowledged_event_ids(),
        ids(&events),
        "applied, though the seller never saw the 204"
    );

    h.sandbox.set_faults(FaultConfig::none());
    assert_eq!(h.acknowledge(&token, &ids(&events)).await.status, StatusCode::NO_CONTENT);
    h.sandbox.scx_expire_visibility();
    assert!(h.events(&token, &[]).await.events().is_empty());
}

#[tokio::test]
async fn throttled_and_failing_calls_carry_scx_errors_and_rate_limit_headers() {
    let h = ScxHarness::new(unthrottled()).await;
    let token = h.token().await;
    h.sandbox.set_faults(only(FaultConfig {
        scx_events: EndpointFaults { throttle_percent: 100, ..EndpointFaults::none() },
        ..FaultConfig::none()
    }));
    let throttled = h.events(&token, &[]).await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(throttled.error_code(), "GEN429");
    assert_eq!(throttled.header("x-ratelimit-remaining"), Some("0"));
    assert!(throttled.header("x-ratelimit-limit").is_some());
    assert!(throttled.header("x-ratelimit-interval-length-seconds").is_some());

    h.sandbox.set_faults(only(FaultConfig {
        scx_events: EndpointFaults { server_error_percent: 100, ..EndpointFaults::none() },
        ..FaultConfig::none()
    }));
    let failed = h.events(&token, &[]).await;
    assert!(failed.status.is_server_error());
    assert_eq!(failed.error_code(), "GEN500");
    let counts = h.sandbox.fault_counts();
    assert_eq!(
        (counts.get("scxEvents/throttle"), counts.get("scxEvents/server_error")),
        (Some(&1), Some(&1))
    );
}

#[tokio::test]
async fn broken_bodies_still_deliver_the_events() {
    let h = ScxHarness::new(unthrottled()).await;
    h.order(OTTO, NewScxOrder::created(vec![]));
    let token = h.token().await;
    h.sandbox.set_faults(only(FaultConfig {
        scx_events: EndpointFaults { truncated_percent: 100, ..EndpointFaults::none() },
        ..FaultConfig::none()
    }));
    let raw = h.send(h.http.get(h.url("/v2/seller/event")).bearer_auth(&token)).await.unwrap();
    assert_eq!(raw.status, StatusCode::OK);
    assert!(raw.json().is_err(), "cut off half-way");
    assert!(raw.header("x-ratelimit-limit").is_some(), "a proxy's cut keeps the headers");

    // Processed: the event was delivered (now invisible) and comes back after the timeout.
    h.sandbox.set_faults(FaultConfig::none());
    assert!(h.events(&token, &[]).await.events().is_empty());
    h.sandbox.scx_expire_visibility();
    let back = h.events(&token, &[]).await.events();
    assert_eq!(back.len(), 1);
    assert_eq!(back[0]["type"], NEW);
}
