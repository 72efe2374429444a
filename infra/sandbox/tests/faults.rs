//! Fault injection over real HTTP: what a client sees for each kind, confirmShipment's
//! "did it go through?" reset, malformed orders, repeated orders across pages, expiring
//! tokens, determinism from the seed and switching faults off.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use common::{lagless, package, Harness, Raw, LONG_AGO};
use orderbridge_sandbox::{
    EndpointFaults, FaultConfig, GeneratorConfig, NewItem, NewOrder, Sandbox, SandboxConfig,
};
use reqwest::{RequestBuilder, StatusCode};
use serde_json::Value;

const MARKETPLACE: &str = "A1PA6795UKMFR9";

fn search(h: &Harness, client: &reqwest::Client, token: &str, query: &[(&str, &str)]) -> RequestBuilder {
    client
        .get(format!("{}/orders/2026-01-01/orders", h.running.base_url))
        .header("x-amz-access-token", token)
        .query(query)
}

fn get_order(h: &Harness, token: &str, order_id: &str) -> RequestBuilder {
    h.http
        .get(format!("{}/orders/2026-01-01/orders/{order_id}", h.running.base_url))
        .header("x-amz-access-token", token)
        .query(&[("includedData", "PROCEEDS,FULFILLMENT")])
}

fn confirm(h: &Harness, token: &str, order_id: &str, body: &Value) -> RequestBuilder {
    h.http
        .post(format!("{}/orders/v0/orders/{order_id}/shipmentConfirmation", h.running.base_url))
        .header("x-amz-access-token", token)
        .header("content-type", "application/json")
        .body(body.to_string())
}

fn token_request(h: &Harness) -> RequestBuilder {
    let s = &h.seller;
    h.http.post(&h.running.token_url).header("content-type", "application/x-www-form-urlencoded").body(
        common::form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &s.refresh_token),
            ("client_id", &s.client_id),
            ("client_secret", &s.client_secret),
        ]),
    )
}

fn all_orders() -> [(&'static str, &'static str); 2] {
    [("lastUpdatedAfter", LONG_AGO), ("marketplaceIds", MARKETPLACE)]
}

fn only(endpoint: impl FnOnce(&mut FaultConfig, EndpointFaults), faults: EndpointFaults) -> FaultConfig {
    let mut config = FaultConfig { seed: 11, ..FaultConfig::none() };
    endpoint(&mut config, faults);
    config
}

fn kind(set: impl FnOnce(&mut EndpointFaults)) -> EndpointFaults {
    let mut f = EndpointFaults { slow_delay: Duration::from_millis(300), ..EndpointFaults::none() };
    set(&mut f);
    f
}

/// A released order with one item (2 x SKU-1) and that item's id.
fn order(h: &Harness) -> (String, String) {
    let id =
        h.sandbox.create_order("SANDBOXSELLER1", NewOrder::released(vec![NewItem::new("SKU-1", 2, 1999)]));
    let item =
        h.sandbox.order_json(&id).unwrap()["orderItems"][0]["orderItemId"].as_str().unwrap().to_string();
    (id, item)
}

fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[tokio::test]
async fn throttle_answers_429_with_retry_after_and_rate_limit_headers_without_processing() {
    let h = Harness::new(lagless()).await;
    let (id, item) = order(&h);
    let token = h.token().await;
    h.sandbox.set_faults(only(|c, f| c.search_orders = f, kind(|f| f.throttle_percent = 100)));
    for _ in 0..3 {
        let r = h.send(search(&h, &h.http, &token, &all_orders())).await.unwrap();
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.header("retry-after"), Some("1"));
        assert_eq!(r.header("x-amzn-ratelimit-limit"), Some("0.0056"));
        assert!(r.header("x-amzn-requestid").is_some());
        assert_eq!(r.error_code(), "QuotaExceeded");
    }
    // Other endpoints are untouched.
    assert_eq!(h.send(get_order(&h, &token, &id)).await.unwrap().status, StatusCode::OK);

    h.sandbox.set_faults(only(|c, f| c.confirm_shipment = f, kind(|f| f.throttle_percent = 100)));
    let r = h.send(confirm(&h, &token, &id, &package("1", &[(&item, 1)]))).await.unwrap();
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.header("x-amzn-ratelimit-limit"), Some("2.0"));
    assert!(h.sandbox.confirmations().is_empty(), "a throttled confirmation must not be recorded");

    h.sandbox.set_faults(only(|c, f| c.token = f, kind(|f| f.throttle_percent = 100)));
    let r = h.send(token_request(&h)).await.unwrap();
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.header("retry-after"), Some("1"));
    assert_eq!(r.error_code(), "QuotaExceeded");

    assert_eq!(
        h.sandbox.fault_counts(),
        counts(&[("searchOrders/throttle", 3), ("confirmShipment/throttle", 1), ("token/throttle", 1)])
    );
    assert_eq!(h.sandbox.request_count("searchOrders"), 3);
}

#[tokio::test]
async fn server_errors_are_500_or_503_internal_failure_without_processing() {
    let h = Harness::new(lagless()).await;
    let (id, item) = order(&h);
    let token = h.token().await;
    h.sandbox.set_faults(only(|c, f| c.get_order = f, kind(|f| f.server_error_percent = 100)));
    let mut statuses = HashSet::new();
    for _ in 0..16 {
        let r = h.send(get_order(&h, &token, &id)).await.unwrap();
        assert_eq!(r.error_code(), "InternalFailure", "{}", r.status);
        assert!(r.header("x-amzn-requestid").is_some());
        statuses.insert(r.status);
    }
    assert_eq!(statuses, HashSet::from([StatusCode::INTERNAL_SERVER_ERROR, StatusCode::SERVICE_UNAVAILABLE]));

    h.sandbox.set_faults(only(|c, f| c.confirm_shipment = f, kind(|f| f.server_error_percent = 100)));
    let r = h.send(confirm(&h, &token, &id, &package("1", &[(&item, 1)]))).await.unwrap();
    assert!(r.status.is_server_error());
    assert!(h.sandbox.confirmations().is_empty());
    assert_eq!(h.sandbox.order_status(&id).as_deref(), Some("UNSHIPPED"));
    assert_eq!(
        h.sandbox.fault_counts(),
        counts(&[("getOrder/server_error", 16), ("confirmShipment/server_error", 1)])
    );
}

#[tokio::test]
async fn reset_drops_the_connection_without_any_response() {
    let h = Harness::new(lagless()).await;
    let (id, _) = order(&h);
    let token = h.token().await;
    h.sandbox.set_faults(only(|c, f| c.get_order = f, kind(|f| f.reset_percent = 100)));
    for _ in 0..3 {
        let err = h.send(get_order(&h, &token, &id)).await.err().expect("a reset is a transport error");
        assert!(err.status().is_none() && !err.is_timeout(), "{err:?}");
    }
    h.sandbox.set_faults(only(|c, f| c.token = f, kind(|f| f.reset_percent = 100)));
    assert!(h.send(token_request(&h)).await.is_err());
    assert_eq!(h.sandbox.fault_counts(), counts(&[("getOrder/reset", 3), ("token/reset", 1)]));

    // The same client (and its pool) works again once faults are off.
    h.sandbox.set_faults(FaultConfig::none());
    assert_eq!(h.send(get_order(&h, &token, &id)).await.unwrap().status, StatusCode::OK);
    assert_eq!(h.sandbox.request_count("getOrder"), 4);
}

#[tokio::test]
async fn slow_responses_arrive_late_and_time_out_impatient_clients() {
    let h = Harness::new(lagless()).await;
    order(&h);
    let token = h.token().await;
    h.sandbox.set_faults(only(|c, f| c.search_orders = f, kind(|f| f.slow_percent = 100)));
    let impatient = reqwest::Client::builder().timeout(Duration::from_millis(100)).build().unwrap();
    let err = h.send(search(&h, &impatient, &token, &all_orders())).await.err().expect("timeout");
    assert!(err.is_timeout(), "{err:?}");

    let started = Instant::now();
    let r = h.send(search(&h, &h.http, &token, &all_orders())).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json().unwrap()["orders"].as_array().unwrap().len(), 1);
    assert_eq!(h.sandbox.fault_counts(), counts(&[("searchOrders/slow", 2)]));
}

#[tokio::test]
async fn truncated_bodies_are_the_first_half_of_the_real_json() {
    let h = Harness::new(lagless()).await;
    let (id, _) = order(&h);
    let token = h.token().await;
    h.sandbox.set_faults(only(|c, f| c.get_order = f, kind(|f| f.truncated_percent = 100)));
    let cut = h.send(get_order(&h, &token, &id)).await.unwrap();
    assert_eq!(cut.status, StatusCode::OK);
    assert!(cut.header("content-type").unwrap().starts_with("application/json"));
    assert!(cut.json().is_err(), "{}", String::from_utf8_lossy(&cut.body));

    h.sandbox.set_faults(FaultConfig::none());
    let full = h.send(get_order(&h, &token, &id)).await.unwrap();
    assert!(full.json().is_ok());
    assert!(full.body.starts_with(&cut.body));
    assert!(cut.body.len() <= full.body.len() / 2 && cut.body.len() + 4 >= full.body.len() / 2);
}

#[tokio::test]
async fn garbage_bodies_are_not_json_at_all() {
    let h = Harness::new(lagless()).await;
    order(&h);
    let token = h.token().await;
    h.sandbox.set_faults(only(|c, f| c.search_orders = f, kind(|f| f.garbage_percent = 100)));
    for _ in 0..6 {
        let r = h.send(search(&h, &h.http, &token, &all_orders())).await.unwrap();
        assert_eq!(r.status, StatusCode::OK);
        assert!(!r.header("content-type").unwrap().contains("json"));
        assert!(r.json().is_err());
        assert!(r.header("x-amzn-requestid").is_some());
    }
    h.sandbox.set_faults(only(|c, f| c.token = f, kind(|f| f.garbage_percent = 100)));
    let r = h.send(token_request(&h)).await.unwrap();
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.json().is_err());
}

#[tokio::test]
async fn confirm_shipment_reset_after_recording_then_an_identical_retry_is_a_duplicate() {
    let h = Harness::new(lagless()).await;
    let (id, item) = order(&h);
    let token = h.token().await;
    let body = package("42", &[(&item, 2)]);
    h.sandbox.set_faults(only(|c, f| c.confirm_shipment = f, kind(|f| f.reset_percent = 100)));
    // Every attempt is reset; the first ones before processing (nothing recorded), until
    // one strikes after the confirmation was recorded.
    let mut attempts = 0;
    loop {
        attempts += 1;
        assert!(attempts <= 20, "no reset after recording in 20 attempts");
        assert!(h.send(confirm(&h, &token, &id, &body)).await.is_err());
        let after = h.sandbox.fault_counts().get("confirmShipment/reset_after_record").copied();
        if after == Some(1) {
            break;
        }
        assert!(h.sandbox.confirmations().is_empty(), "a reset before processing must not record");
    }
    assert_eq!(h.sandbox.confirmations().len(), 1, "recorded, though the client never saw the 204");
    assert_eq!(h.sandbox.order_status(&id).as_deref(), Some("SHIPPED"));
    assert_eq!(h.sandbox.fault_counts().get("confirmShipment/reset").copied().unwrap_or(0), attempts - 1);

    // The client retries the same package; idempotency answers 204.
    h.sandbox.set_faults(FaultConfig::none());
    let retry = h.send(confirm(&h, &token, &id, &body)).await.unwrap();
    assert_eq!(retry.status, StatusCode::NO_CONTENT);
    assert_eq!(h.sandbox.confirmations().len(), 1);
    assert_eq!(h.sandbox.duplicate_confirmations(), 1);
}

#[tokio::test]
async fn slow_truncated_and_garbage_confirmations_are_still_recorded() {
    let h = Harness::new(lagless()).await;
    let token = h.token().await;
    type Set = fn(&mut EndpointFaults);
    let cases: [(&str, Set); 3] = [
        ("slow", |f| f.slow_percent = 100),
        ("truncated", |f| f.truncated_percent = 100),
        ("garbage", |f| f.garbage_percent = 100),
    ];
    for (n, (name, set)) in cases.into_iter().enumerate() {
        let (id, item) = order(&h);
        h.sandbox.set_faults(only(|c, f| c.confirm_shipment = f, kind(set)));
        let r = h.send(confirm(&h, &token, &id, &package("1", &[(&item, 2)]))).await.unwrap();
        assert_eq!(h.sandbox.confirmations().len(), n + 1, "{name}");
        if name == "slow" {
            assert_eq!(r.status, StatusCode::NO_CONTENT);
        } else {
            assert_eq!(r.status, StatusCode::OK, "{name}");
            assert!(r.json().is_err(), "{name}");
        }
    }
}

/// Which way a served order is broken, or `None` if it looks fine.
fn breakage(order: &Value) -> Option<&'static str> {
    let item = &order["orderItems"][0];
    if item.get("orderItemId").is_none() {
        Some("missing_order_item_id")
    } else if item["quantityOrdered"] == -1 {
        Some("negative_quantity")
    } else if item["product"]["price"]["unitPrice"]["currencyCode"] == "XXX" {
        assert_eq!(order["proceeds"]["grandTotal"]["currencyCode"], "XXX");
        assert_eq!(item["proceeds"]["proceedsTotal"]["currencyCode"], "XXX");
        Some("unknown_currency")
    } else if order["lastUpdatedTime"] == "not-a-date" {
        Some("bad_timestamp")
    } else if item["product"]["title"].as_str().unwrap().len() == 10 * 1024 * 1024 {
        Some("huge_title")
    } else {
        None
    }
}

#[tokio::test]
async fn malformed_orders_are_served_broken_and_listed_as_rejectable() {
    let h = Harness::new(lagless()).await;
    h.sandbox.set_faults(FaultConfig { seed: 3, malformed_order_percent: 50, ..FaultConfig::none() });
    let ids: Vec<String> = (0..24)
        .map(|_| {
            h.sandbox.create_order("SANDBOXSELLER1", NewOrder::released(vec![NewItem::new("S", 1, 500)]))
        })
        .collect();
    let rejectable = h.sandbox.rejectable_order_ids();
    assert!(!rejectable.is_empty() && rejectable.len() < ids.len(), "{}", rejectable.len());
    let expected_order: Vec<&String> = ids.iter().filter(|id| rejectable.contains(id)).collect();
    assert_eq!(expected_order, rejectable.iter().collect::<Vec<_>>(), "creation order");

    let token = h.token().await;
    let mut by_kind: BTreeMap<String, u64> = BTreeMap::new();
    for id in &ids {
        let r = h.send(get_order(&h, &token, id)).await.unwrap();
        assert_eq!(r.status, StatusCode::OK);
        let order = r.json().unwrap()["order"].take();
        assert_eq!(order["orderId"], id.as_str(), "orderId is kept so the rejection can be recorded");
        match breakage(&order) {
            Some(kind) => {
                assert!(rejectable.contains(id), "{id} broken ({kind}) but not listed");
                *by_kind.entry(format!("orders/{kind}")).or_default() += 1;
            }
            None => assert!(!rejectable.contains(id), "{id} listed but served fine"),
        }
    }
    assert_eq!(by_kind.len(), 5, "every kind occurs with this seed: {by_kind:?}");
    assert_eq!(h.sandbox.fault_counts(), by_kind);

    // searchOrders serves them broken the same way.
    let r = h
        .send(search(&h, &h.http, &token, &[("lastUpdatedAfter", LONG_AGO), ("includedData", "PROCEEDS")]))
        .await
        .unwrap();
    let orders = r.json().unwrap()["orders"].take();
    let broken: HashSet<&str> = orders
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| breakage(o).is_some())
        .map(|o| o["orderId"].as_str().unwrap())
        .collect();
    assert_eq!(broken, rejectable.iter().map(String::as_str).collect::<HashSet<_>>());

    let control = h.get("/_sandbox/faults", None, &[]).await;
    assert_eq!(control.body["rejectableOrderIds"], serde_json::json!(rejectable));
    assert_eq!(control.body["counts"], serde_json::json!(by_kind));

    // Switching faults off changes nothing about orders already malformed.
    h.sandbox.set_faults(FaultConfig::none());
    assert_eq!(h.sandbox.rejectable_order_ids(), rejectable);
    h.sandbox.create_order("SANDBOXSELLER1", NewOrder::released(vec![]));
    assert_eq!(h.sandbox.rejectable_order_ids(), rejectable);
}

#[test]
fn the_generator_never_releases_or_cancels_malformed_orders() {
    let sandbox = Sandbox::new(SandboxConfig {
        generator: Some(GeneratorConfig {
            new_order_every: Duration::from_secs(3600),
            pending_percent: 100,
            release_after: Duration::ZERO,
            cancel_percent: 0,
        }),
        faults: FaultConfig { seed: 1, malformed_order_percent: 50, ..FaultConfig::none() },
        ..SandboxConfig::default()
    });
    for _ in 0..8 {
        sandbox.add_seller();
    }
    sandbox.tick();
    sandbox.tick();
    let rejectable = sandbox.rejectable_order_ids();
    assert!(!rejectable.is_empty() && rejectable.len() < 8);
    for id in sandbox.order_ids() {
        let expected = if rejectable.contains(&id) { "PENDING" } else { "UNSHIPPED" };
        assert_eq!(sandbox.order_status(&id).as_deref(), Some(expected), "{id}");
    }

    // Fault injection uses its own random stream: the orders are the same without it.
    let plain = Sandbox::new(SandboxConfig::default());
    let faulty = Sandbox::new(SandboxConfig {
        faults: FaultConfig { malformed_order_percent: 100, ..FaultConfig::uniform(5, 50) },
        ..SandboxConfig::default()
    });
    for s in [&plain, &faulty] {
        s.add_seller();
        for _ in 0..3 {
            s.create_order("SANDBOXSELLER1", NewOrder::released(vec![]));
        }
    }
    assert_eq!(plain.order_ids(), faulty.order_ids());
    assert_eq!(plain.buyer_field_values(), faulty.buyer_field_values());
    assert_eq!(faulty.rejectable_order_ids().len(), 3);
}

#[tokio::test]
async fn follow_up_pages_repeat_the_previous_pages_last_order() {
    let h = Harness::new(lagless()).await;
    let created: Vec<String> = (0..5).map(|_| order(&h).0).collect();
    let token = h.token().await;
    h.sandbox.set_faults(FaultConfig { seed: 2, duplicate_across_pages_percent: 100, ..FaultConfig::none() });
    let mut pages: Vec<Vec<Value>> = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let mut query =
            vec![("lastUpdatedAfter", LONG_AGO.to_string()), ("maxResultsPerPage", "2".to_string())];
        if let Some(t) = &next {
            query.push(("paginationToken", t.clone()));
        }
        let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut body = h.send(search(&h, &h.http, &token, &query)).await.unwrap().json().unwrap();
        let page = body["orders"].take().as_array().unwrap().clone();
        assert!(page.len() <= 2);
        pages.push(page);
        match body["pagination"]["nextToken"].as_str() {
            Some(t) => next = Some(t.to_string()),
            None => break,
        }
        assert!(pages.len() < 10);
    }
    for pair in pages.windows(2) {
        // Same order, same content.
        assert_eq!(pair[1][0], *pair[0].last().unwrap());
    }
    let seen: Vec<String> =
        pages.iter().flatten().map(|o| o["orderId"].as_str().unwrap().to_string()).collect();
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique, created.iter().collect::<HashSet<_>>(), "nothing lost");
    let duplicates = (seen.len() - unique.len()) as u64;
    assert_eq!(duplicates, pages.len() as u64 - 1);
    assert_eq!(h.sandbox.fault_counts(), counts(&[("searchOrders/duplicate", duplicates)]));
}

#[tokio::test]
async fn expired_token_fault_answers_403_and_the_token_stays_expired() {
    let h = Harness::new(lagless()).await;
    let (id, _) = order(&h);
    let token = h.token().await;
    h.sandbox.set_faults(FaultConfig { seed: 4, expire_token_percent: 100, ..FaultConfig::none() });
    let r = h.send(get_order(&h, &token, &id)).await.unwrap();
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.error_code(), "Unauthorized");
    assert!(r.json().unwrap()["errors"][0]["details"].as_str().unwrap().contains("expired"));
    // A forged token is still refused as invalid, not counted as an injected expiry.
    assert_eq!(h.send(get_order(&h, "Atza|forged", &id)).await.unwrap().status, StatusCode::FORBIDDEN);

    h.sandbox.set_faults(FaultConfig::none());
    assert_eq!(h.send(get_order(&h, &token, &id)).await.unwrap().status, StatusCode::FORBIDDEN);
    let fresh = h.token().await;
    assert_eq!(h.send(get_order(&h, &fresh, &id)).await.unwrap().status, StatusCode::OK);
    assert_eq!(h.sandbox.fault_counts(), counts(&[("getOrder/expired_token", 1)]));
}

/// A fixed call sequence against a fresh sandbox with `faults`; returns what the client
/// observed per call, and the fault counts.
async fn scripted_run(faults: FaultConfig) -> (Vec<String>, BTreeMap<String, u64>) {
    let h = Harness::new(lagless()).await;
    let (id, item) = order(&h);
    for _ in 0..4 {
        order(&h);
    }
    h.sandbox.set_faults(faults);
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let observe = |r: &Result<Raw, reqwest::Error>| match r {
        Err(e) if e.is_timeout() => "timeout".to_string(),
        Err(_) => "transport error".to_string(),
        Ok(r) if r.body.is_empty() || r.json().is_ok() => format!("{} {}", r.status.as_u16(), r.error_code()),
        Ok(r) => format!("{} not json", r.status.as_u16()),
    };
    for call in 0..60 {
        let Some(t) = token.clone() else {
            let r = h.send(token_request(&h)).await;
            seen.push(format!("token: {}", observe(&r)));
            token = r
                .ok()
                .and_then(|r| r.json().ok())
                .and_then(|v| v["access_token"].as_str().map(str::to_string));
            continue;
        };
        let r = match call % 3 {
            0 => {
                h.send(search(&h, &h.http, &t, &[("lastUpdatedAfter", LONG_AGO), ("maxResultsPerPage", "2")]))
                    .await
            }
            1 => h.send(get_order(&h, &t, &id)).await,
            _ => h.send(confirm(&h, &t, &id, &package("1", &[(&item, 1)]))).await,
        };
        let observed = observe(&r);
        if observed.starts_with("403") {
            token = None;
        }
        seen.push(observed);
    }
    (seen, h.sandbox.fault_counts())
}

fn short_delays(mut config: FaultConfig) -> FaultConfig {
    for e in
        [&mut config.search_orders, &mut config.get_order, &mut config.confirm_shipment, &mut config.token]
    {
        e.slow_delay = Duration::from_millis(20);
    }
    config.expire_token_percent = 10;
    config
}

#[tokio::test]
async fn the_same_seed_and_calls_give_the_same_faults() {
    let (a, counts_a) = scripted_run(short_delays(FaultConfig::uniform(21, 12))).await;
    let (b, counts_b) = scripted_run(short_delays(FaultConfig::uniform(21, 12))).await;
    assert_eq!(a, b);
    assert_eq!(counts_a, counts_b);
    assert!(counts_a.len() >= 4, "a good mix of faults: {counts_a:?}");
    let (c, counts_c) = scripted_run(short_delays(FaultConfig::uniform(22, 12))).await;
    assert!(a != c || counts_a != counts_c, "another seed, other faults");
}

#[tokio::test]
async fn set_faults_none_turns_everything_off() {
    let h = Harness::new(lagless()).await;
    let (id, item) = order(&h);
    for _ in 0..3 {
        order(&h);
    }
    let token = h.token().await;
    let mut all = FaultConfig::uniform(8, 100);
    all.malformed_order_percent = 100;
    all.duplicate_across_pages_percent = 100;
    all.expire_token_percent = 100;
    h.sandbox.set_faults(all);
    // Throttling comes first, so at 100 % every call is throttled.
    let r = h.send(get_order(&h, &token, &id)).await.unwrap();
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let malformed = h.sandbox.create_order("SANDBOXSELLER1", NewOrder::released(vec![]));
    assert_eq!(h.sandbox.rejectable_order_ids(), vec![malformed.clone()]);

    h.sandbox.set_faults(FaultConfig::none());
    let before = h.sandbox.fault_counts();
    let token = h.token().await;
    for _ in 0..5 {
        let r = h.send(get_order(&h, &token, &id)).await.unwrap();
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.json().is_ok());
    }
    let mut next: Option<String> = None;
    let mut seen = Vec::new();
    loop {
        let mut query =
            vec![("lastUpdatedAfter", LONG_AGO.to_string()), ("maxResultsPerPage", "2".to_string())];
        if let Some(t) = &next {
            query.push(("paginationToken", t.clone()));
        }
        let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = h.send(search(&h, &h.http, &token, &query)).await.unwrap();
        assert_eq!(r.status, StatusCode::OK);
        let body = r.json().unwrap();
        seen.extend(
            body["orders"].as_array().unwrap().iter().map(|o| o["orderId"].as_str().unwrap().to_string()),
        );
        match body["pagination"]["nextToken"].as_str() {
            Some(t) => next = Some(t.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5, "no duplicates");
    let r = h.send(confirm(&h, &token, &id, &package("1", &[(&item, 2)]))).await.unwrap();
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(h.sandbox.create_order("SANDBOXSELLER1", NewOrder::released(vec![])).len() > 1);
    assert_eq!(h.sandbox.rejectable_order_ids(), vec![malformed], "only the one made while faults were on");
    assert_eq!(h.sandbox.fault_counts(), before, "nothing injected since");
}
