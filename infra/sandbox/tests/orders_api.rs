//! LWA tokens, searchOrders and getOrder over real HTTP.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use common::{lagless, Harness, LONG_AGO};
use orderbridge_sandbox::{NewItem, NewOrder, Quota, RateLimit, SandboxConfig};
use reqwest::StatusCode;

fn one_item() -> Vec<NewItem> {
    vec![NewItem::new("SKU-1", 1, 1999)]
}

fn ago(secs: i64) -> String {
    (Utc::now() - chrono::Duration::seconds(secs)).to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[tokio::test]
async fn token_grant_issues_a_bearer_token_for_valid_credentials() {
    let h = Harness::new(SandboxConfig::default()).await;
    let s = h.seller.clone();
    let r = h
        .token_request(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &s.refresh_token),
            ("client_id", &s.client_id),
            ("client_secret", &s.client_secret),
        ])
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body["access_token"].as_str().unwrap().starts_with("Atza|"));
    assert_eq!(r.body["token_type"], "bearer");
    assert_eq!(r.body["expires_in"], 3600);
    assert_eq!(r.body["refresh_token"], s.refresh_token.as_str());
    assert_eq!(h.sandbox.request_count("token"), 1);
}

#[tokio::test]
async fn token_grant_rejects_wrong_credentials_the_lwa_way() {
    let h = Harness::new(SandboxConfig::default()).await;
    let s = h.seller.clone();
    let wrong_refresh = h
        .token_request(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "Atzr|nope"),
            ("client_id", &s.client_id),
            ("client_secret", &s.client_secret),
        ])
        .await;
    assert_eq!(wrong_refresh.status, StatusCode::BAD_REQUEST);
    assert_eq!(wrong_refresh.body["error"], "invalid_grant");
    assert!(wrong_refresh.body["error_description"].is_string());

    let wrong_secret = h
        .token_request(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &s.refresh_token),
            ("client_id", &s.client_id),
            ("client_secret", "wrong"),
        ])
        .await;
    assert_eq!(wrong_secret.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_secret.body["error"], "invalid_client");

    let wrong_grant = h
        .token_request(&[
            ("grant_type", "password"),
            ("refresh_token", &s.refresh_token),
            ("client_id", &s.client_id),
            ("client_secret", &s.client_secret),
        ])
        .await;
    assert_eq!(wrong_grant.status, StatusCode::BAD_REQUEST);
    assert_eq!(wrong_grant.body["error"], "unsupported_grant_type");
}

#[tokio::test]
async fn search_orders_requires_a_valid_access_token() {
    let h = Harness::new(lagless()).await;
    let query = [("lastUpdatedAfter", LONG_AGO), ("marketplaceIds", "A1PA6795UKMFR9")];
    for token in [None, Some("Atza|forged")] {
        let r = h.get("/orders/2026-01-01/orders", token, &query).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(r.error_code(), "Unauthorized");
        assert_eq!(r.error_message(), "Access to requested resource is denied.");
        assert!(r.header("x-amzn-requestid").is_some());
    }
    let token = h.token().await;
    assert_eq!(h.search(&token, &query).await.status, StatusCode::OK);
    assert_eq!(h.sandbox.request_count("searchOrders"), 3);
}

#[tokio::test]
async fn expired_access_token_is_refused() {
    let h = Harness::new(SandboxConfig { token_lifetime: Duration::from_millis(300), ..lagless() }).await;
    let token = h.token().await;
    let query = [("lastUpdatedAfter", LONG_AGO)];
    assert_eq!(h.search(&token, &query).await.status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let r = h.search(&token, &query).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.error_code(), "Unauthorized");
}

#[tokio::test]
async fn before_must_lie_two_minutes_back_and_not_before_after() {
    // The default window lag is Amazon's two minutes.
    let h = Harness::new(SandboxConfig::default()).await;
    let token = h.token().await;
    for (after, before) in [("lastUpdatedAfter", "lastUpdatedBefore"), ("createdAfter", "createdBefore")] {
        let too_recent = ago(60);
        let r = h.search(&token, &[(after, LONG_AGO), (before, &too_recent)]).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{before}");
        assert_eq!(r.error_code(), "InvalidInput");
        assert!(r.error_message().contains(before), "{}", r.body);

        let old_enough = ago(180);
        let r = h.search(&token, &[(after, LONG_AGO), (before, &old_enough)]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.body[before], old_enough.as_str(), "the window's end is echoed");

        let before_after = h.search(&token, &[(after, &ago(300)), (before, &ago(600))]).await;
        assert_eq!(before_after.status, StatusCode::BAD_REQUEST);
        assert!(before_after.error_message().contains(before));
    }
}

#[tokio::test]
async fn orders_newer_than_the_window_lag_are_not_yet_visible() {
    let h = Harness::new(SandboxConfig::default()).await;
    let old = h.sandbox.create_order_at(
        "SANDBOXSELLER1",
        NewOrder::released(one_item()),
        Utc::now() - chrono::Duration::minutes(10),
    );
    h.sandbox.create_order("SANDBOXSELLER1", NewOrder::released(one_item()));
    let token = h.token().await;
    let r = h.search(&token, &[("lastUpdatedAfter", LONG_AGO)]).await;
    assert_eq!(r.status, StatusCode::OK);
    let ids: Vec<&str> =
        r.body["orders"].as_array().unwrap().iter().map(|o| o["orderId"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![old.as_str()]);
    // The effective end of the window is echoed so clients can continue from it.
    let echoed = chrono::DateTime::parse_from_rfc3339(r.body["lastUpdatedBefore"].as_str().unwrap()).unwrap();
    assert!(echoed < Utc::now() - chrono::Duration::seconds(119));
}

#[tokio::test]
async fn exactly_one_of_created_after_and_last_updated_after_is_required() {
    let h = Harness::new(lagless()).await;
    let token = h.token().await;
    let refused: [&[(&str, &str)]; 6] = [
        &[],
        &[("createdAfter", LONG_AGO), ("lastUpdatedAfter", LONG_AGO)],
        &[("createdBefore", LONG_AGO)],
        &[("lastUpdatedBefore", LONG_AGO)],
        // Each kind of window excludes the other kind's bounds.
        &[("createdAfter", LONG_AGO), ("lastUpdatedBefore", LONG_AGO)],
        &[("lastUpdatedAfter", LONG_AGO), ("createdBefore", LONG_AGO)],
    ];
    for query in refused {
        let r = h.search(&token, query).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{query:?}");
        assert_eq!(r.error_code(), "InvalidInput");
    }
    let created = h.search(&token, &[("createdAfter", LONG_AGO)]).await;
    assert_eq!(created.status, StatusCode::OK);
    assert!(created.body["createdBefore"].is_string());
    assert!(created.body.get("lastUpdatedBefore").is_none());
}

#[tokio::test]
async fn search_parameters_outside_the_model_are_refused_as_invalid_input() {
    let h = Harness::new(lagless()).await;
    let token = h.token().await;
    let many_marketplaces = vec!["A1PA6795UKMFR9"; 51].join(",");
    let refused: [(&str, &str); 9] = [
        ("createdAfter", "yesterday"),
        ("createdAfter", ""),
        ("maxResultsPerPage", "0"),
        ("maxResultsPerPage", "101"),
        ("maxResultsPerPage", "2.5"),
        ("marketplaceIds", &many_marketplaces),
        ("fulfilledBy", "SELLER"),
        ("fulfillmentStatuses", "LOST"),
        ("includedData", "EVERYTHING"),
    ];
    for (name, value) in refused {
        let mut query = vec![(name, value)];
        if name != "createdAfter" {
            query.push(("createdAfter", LONG_AGO));
        }
        let r = h.search(&token, &query).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{name}={value}");
        assert_eq!(r.error_code(), "InvalidInput");
        assert!(r.error_message().contains(name), "{name}: {}", r.error_message());
    }
}

#[tokio::test]
async fn pages_hold_100_orders_by_default_and_the_last_page_has_no_next_token() {
    let h = Harness::new(lagless()).await;
    for _ in 0..100 {
        h.sandbox.create_order("SANDBOXSELLER1", NewOrder::released(one_item()));
    }
    let token = h.token().await;
    let query = [("createdAfter", LONG_AGO)];
    let exactly_one_page = h.search(&token, &query).await;
    assert_eq!(exactly_one_page.body["orders"].as_array().unwrap().len(), 100);
    assert!(exactly_one_page.body.get("pagination").is_none(), "a full last page has no nextToken");

    h.sandbox.create_order("SANDBOXSELLER1", NewOrder::released(one_item()));
    let first = h.search(&token, &query).await;
    assert_eq!(first.body["orders"].as_array().unwrap().len(), 100);
    let next = first.body["pagination"]["nextToken"].as_str().unwrap();
    let last = h.search(&token, &[query[0], ("paginationToken", next)]).await;
    assert_eq!(last.body["orders"].as_array().unwrap().len(), 1);
    assert!(last.body.get("pagination").is_none());
}

#[tokio::test]
async fn pagination_across_three_pages_returns_each_order_once() {
    let h = Harness::new(lagless()).await;
    let mut created: Vec<String> =
        (0..5).map(|_| h.sandbox.create_order("SANDBOXSELLER1", NewOrder::released(one_item()))).collect();
    let token = h.token().await;
    let mut seen = Vec::new();
    let mut pages = 0;
    let mut next: Option<String> = None;
    loop {
        let mut query = vec![
            ("lastUpdatedAfter", LONG_AGO.to_string()),
            ("marketplaceIds", "A1PA6795UKMFR9".to_string()),
            ("maxResultsPerPage", "2".to_string()),
        ];
        if let Some(t) = &next {
            query.push(("paginationToken", t.clone()));
        }
        let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = h.search(&token, &query).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        pages += 1;
        for o in r.body["orders"].as_array().unwrap() {
            seen.push(o["orderId"].as_str().unwrap().to_string());
        }
        match r.body.get("pagination") {
            Some(p) => {
                let t = p["nextToken"].as_str().unwrap().to_string();
                // Real tokens need percent-encoding; so do ours.
                assert!(t.contains('+') && t.contains('/'));
                next = Some(t);
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 5);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 5);
    created.sort();
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(sorted, created);
}

#[tokio::test]
async fn order_updated_while_paging_moves_to_a_later_window() {
    let h = Harness::new(lagless()).await;
    let ids: Vec<String> = (0..4)
        .map(|i| {
            h.sandbox.create_order_at(
                "SANDBOXSELLER1",
                NewOrder::pending(one_item()),
                Utc::now() - chrono::Duration::minutes(10 - i),
            )
        })
        .collect();
    let token = h.token().await;
    let first = h.search(&token, &[("lastUpdatedAfter", LONG_AGO), ("maxResultsPerPage", "2")]).await;
    let next = first.body["pagination"]["nextToken"].as_str().unwrap().to_string();
    let window_end = first.body["lastUpdatedBefore"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(5)).await;
    // The last order changes while the client pages.
    assert!(h.sandbox.release_payment(&ids[3]));
    let second = h
        .search(
            &token,
            &[("lastUpdatedAfter", LONG_AGO), ("paginationToken", &next), ("maxResultsPerPage", "2")],
        )
        .await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    let page: Vec<&str> =
        second.body["orders"].as_array().unwrap().iter().map(|o| o["orderId"].as_str().unwrap()).collect();
    assert_eq!(page, vec![ids[2].as_str()]);
    assert!(second.body.get("pagination").is_none());
    assert_eq!(second.body["lastUpdatedBefore"], window_end.as_str());

    let later = h.search(&token, &[("lastUpdatedAfter", &window_end), ("includedData", "FULFILLMENT")]).await;
    let orders = later.body["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0]["orderId"], ids[3].as_str());
    assert_eq!(orders[0]["fulfillment"]["fulfillmentStatus"], "UNSHIPPED");
}

#[tokio::test]
async fn pagination_token_needs_the_issuing_requests_parameters_unchanged() {
    let h = Harness::new(lagless()).await;
    for _ in 0..3 {
        h.sandbox.create_order("SANDBOXSELLER1", NewOrder::released(one_item()));
    }
    let token = h.token().await;
    let filters = [("lastUpdatedAfter", LONG_AGO), ("marketplaceIds", "A1PA6795UKMFR9")];
    let first = h.search(&token, &[filters[0], filters[1], ("maxResultsPerPage", "1")]).await;
    let next = first.body["pagination"]["nextToken"].as_str().unwrap().to_string();

    // maxResultsPerPage and includedData may change between pages.
    let repeated = h
        .search(
            &token,
            &[
                filters[0],
                filters[1],
                ("maxResultsPerPage", "2"),
                ("includedData", "FULFILLMENT"),
                ("paginationToken", &next),
            ],
        )
        .await;
    assert_eq!(repeated.status, StatusCode::OK, "{}", repeated.body);
    assert_eq!(repeated.body["orders"].as_array().unwrap().len(), 2);
    assert!(repeated.body["orders"][0]["fulfillment"].is_object());

    let ago_an_hour = ago(3600);
    let cases: [(&str, Vec<(&str, &str)>); 4] = [
        ("lastUpdatedAfter", vec![("paginationToken", &next)]),
        ("marketplaceIds", vec![filters[0], ("paginationToken", &next)]),
        (
            "lastUpdatedAfter",
            vec![("lastUpdatedAfter", &ago_an_hour), filters[1], ("paginationToken", &next)],
        ),
        (
            "fulfillmentStatuses",
            vec![filters[0], filters[1], ("fulfillmentStatuses", "UNSHIPPED"), ("paginationToken", &next)],
        ),
    ];
    for (param, query) in cases {
        let r = h.search(&token, &query).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{query:?}");
        assert_eq!(r.error_code(), "InvalidInput");
        assert!(r.error_message().starts_with(param), "{query:?}: {}", r.error_message());
    }
}

#[tokio::test]
async fn invalid_pagination_token_is_rejected() {
    let h = Harness::new(lagless()).await;
    let token = h.token().await;
    for bad in ["garbage", "AAAA", "+/+/e30="] {
        let r = h.search(&token, &[("paginationToken", bad)]).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(r.error_code(), "InvalidInput");
    }
    // An unencoded token ('+' read as space) is invalid too.
    h.sandbox.create_order("SANDBOXSELLER1", NewOrder::released(one_item()));
    h.sandbox.create_order("SANDBOXSELLER1", NewOrder::released(one_item()));
    let first = h.search(&token, &[("lastUpdatedAfter", LONG_AGO), ("maxResultsPerPage", "1")]).await;
    let next = first.body["pagination"]["nextToken"].as_str().unwrap();
    let url = format!("{}/orders/2026-01-01/orders?paginationToken={next}", h.running.base_url);
    let r = h.get_url(&url, Some(&token)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn included_data_gates_optional_sections() {
    let h = Harness::new(lagless()).await;
    let id = h.sandbox.create_order("SANDBOXSELLER1", NewOrder::released(one_item()));
    let token = h.token().await;

    let bare = h.get_order(&token, &id, "").await;
    assert_eq!(bare.status, StatusCode::OK);
    let order = &bare.body["order"];
    assert_eq!(order["orderId"], id.as_str());
    for section in ["buyer", "recipient", "proceeds", "payment", "fulfillment", "packages"] {
        assert!(order.get(section).is_none(), "{section} leaked: {order}");
    }
    assert!(order["orderItems"][0].get("proceeds").is_none());
    assert!(order["orderItems"][0]["product"]["sellerSku"] == "SKU-1");

    let buyer_only = h.get_order(&token, &id, "BUYER").await;
    let order = &buyer_only.body["order"];
    assert!(order["buyer"]["buyerName"].is_string());
    assert!(order.get("recipient").is_none());

    let r = h
        .search(
            &token,
            &[
                ("lastUpdatedAfter", LONG_AGO),
                ("includedData", "RECIPIENT,PROCEEDS"),
                ("includedData", "FULFILLMENT"),
            ],
        )
        .await;
    let order = &r.body["orders"][0];
    assert!(order.get("buyer").is_none());
    assert_eq!(order["recipient"]["deliveryAddress"]["addressType"], "RESIDENTIAL");
    assert_eq!(order["proceeds"]["grandTotal"]["amount"], "19.99");
    assert_eq!(order["fulfillment"]["fulfillmentStatus"], "UNSHIPPED");
    assert_eq!(order["orderItems"][0]["fulfillment"]["quantityUnfulfilled"], 1);

    let bad = h.get_order(&token, &id, "EVERYTHING").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.error_code(), "InvalidInput");
}

#[tokio::test]
async fn money_is_a_decimal_string_with_the_currency_minor_digits() {
    let h = Harness::new(lagless()).await;
    let id = h.sandbox.create_order(
        "SANDBOXSELLER1",
        NewOrder::released(vec![NewItem::new("A", 3, 1999), NewItem::new("B", 1, 5)]),
    );
    let order = h.sandbox.order_json(&id).unwrap();
    let item = &order["orderItems"][0];
    assert_eq!(
        item["product"]["price"]["unitPrice"],
        serde_json::json!({"amount": "19.99", "currencyCode": "EUR"})
    );
    assert_eq!(item["proceeds"]["proceedsTotal"]["amount"], "59.97");
    assert_eq!(order["orderItems"][1]["product"]["price"]["unitPrice"]["amount"], "0.05");
    assert_eq!(order["proceeds"]["grandTotal"]["amount"], "60.02");
    assert_eq!(order["payment"]["paymentExecutions"][0]["paymentAmount"]["amount"], "60.02");
    let ts = order["createdTime"].as_str().unwrap();
    assert!(ts.ends_with('Z') && ts.len() == "2026-01-01T00:00:00.000Z".len(), "{ts}");
}

#[tokio::test]
async fn orders_of_unknown_ids_or_other_sellers_are_not_found() {
    let h = Harness::new(lagless()).await;
    let other = h.sandbox.add_seller();
    let theirs = h.sandbox.create_order(&other.seller_id, NewOrder::released(one_item()));
    let token = h.token().await;
    for id in ["999-0000000-0000000", theirs.as_str()] {
        let r = h.get_order(&token, id, "").await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        assert_eq!(r.error_code(), "NotFound");
    }
    let search = h.search(&token, &[("lastUpdatedAfter", LONG_AGO)]).await;
    assert_eq!(search.body["orders"].as_array().unwrap().len(), 0);
    let their_token = h.token_for(&other).await;
    assert_eq!(h.get_order(&their_token, &theirs, "").await.status, StatusCode::OK);
}

#[tokio::test]
async fn search_filters_by_marketplace_and_fulfillment_status() {
    let h = Harness::new(lagless()).await;
    let pending = h.sandbox.create_order("SANDBOXSELLER1", NewOrder::pending(one_item()));
    h.sandbox.create_order("SANDBOXSELLER1", NewOrder::released(one_item()));
    let token = h.token().await;
    let r = h.search(&token, &[("lastUpdatedAfter", LONG_AGO), ("fulfillmentStatuses", "PENDING")]).await;
    let orders = r.body["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0]["orderId"], pending.as_str());
    let uk = h.search(&token, &[("lastUpdatedAfter", LONG_AGO), ("marketplaceIds", "A1F83G8C2ARO7P")]).await;
    assert_eq!(uk.body["orders"].as_array().unwrap().len(), 0);
    let bad = h.search(&token, &[("lastUpdatedAfter", LONG_AGO), ("fulfillmentStatuses", "LOST")]).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn responses_carry_request_id_and_operation_rate_limit_headers() {
    let h = Harness::new(lagless()).await;
    let id = h.sandbox.create_order("SANDBOXSELLER1", NewOrder::released(one_item()));
    let token = h.token().await;
    let search = h.search(&token, &[("lastUpdatedAfter", LONG_AGO)]).await;
    assert_eq!(search.header("x-amzn-ratelimit-limit"), Some("0.0056"));
    let get = h.get_order(&token, &id, "").await;
    assert_eq!(get.header("x-amzn-ratelimit-limit"), Some("0.5"));
    let item_id = get.body["order"]["orderItems"][0]["orderItemId"].as_str().unwrap().to_string();
    let confirm = h.confirm(&token, &id, &common::package("1", &[(&item_id, 1)])).await;
    assert_eq!(confirm.status, StatusCode::NO_CONTENT);
    assert_eq!(confirm.header("x-amzn-ratelimit-limit"), Some("2.0"));
    let ids: HashSet<&str> =
        [&search, &get, &confirm].iter().map(|r| r.header("x-amzn-requestid").unwrap()).collect();
    assert_eq!(ids.len(), 3);
}

#[tokio::test]
async fn rate_limit_answers_429_quota_exceeded_with_the_limit_header() {
    let h = Harness::new(SandboxConfig {
        rate_limit: Some(RateLimit::uniform(Quota::new(0.01, 2))),
        ..lagless()
    })
    .await;
    let token = h.token().await;
    let query = [("lastUpdatedAfter", LONG_AGO)];
    assert_eq!(h.search(&token, &query).await.status, StatusCode::OK);
    assert_eq!(h.search(&token, &query).await.status, StatusCode::OK);
    let throttled = h.search(&token, &query).await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(throttled.error_code(), "QuotaExceeded");
    assert_eq!(throttled.error_message(), "You exceeded your quota for the requested resource.");
    assert_eq!(throttled.header("x-amzn-ratelimit-limit"), Some("0.01"));
    // Buckets are per operation.
    let get = h.get_order(&token, "302-0000000-0000000", "").await;
    assert_eq!(get.status, StatusCode::NOT_FOUND);
}
