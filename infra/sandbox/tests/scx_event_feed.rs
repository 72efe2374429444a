//! The seller event feed: FIFO, at most 100 per call, visibility timeout, reappearance,
//! acknowledgement, filters, one queue per seller account.

mod scx_common;

use std::time::Duration;

use orderbridge_sandbox::{NewScxOrder, SandboxConfig, ScxConfig};
use reqwest::StatusCode;
use scx_common::{ids, item, types, unthrottled, ScxHarness, ADDRESS, KAUFLAND, NEW, OTTO};

#[tokio::test]
async fn events_come_first_in_first_out_each_with_an_id_of_its_own() {
    let h = ScxHarness::new(unthrottled()).await;
    let keys: Vec<_> =
        (0..3).map(|i| h.order(OTTO, NewScxOrder::created(vec![item(&format!("S-{i}"), 1, 999)]))).collect();
    let token = h.token().await;
    let r = h.events(&token, &[]).await;
    let events = r.events();
    assert_eq!(types(&events), vec![NEW; 3]);
    let order_ids: Vec<&str> = events.iter().map(|e| e["event"]["orderId"].as_str().unwrap()).collect();
    assert_eq!(order_ids, keys.iter().map(|k| k.order_id.as_str()).collect::<Vec<_>>());
    let distinct: std::collections::BTreeSet<String> = ids(&events).into_iter().collect();
    assert_eq!(distinct.len(), 3);
    assert_eq!(events, h.emitted(), "delivered exactly as queued");
}

#[tokio::test]
async fn delivered_events_stay_invisible_until_their_visibility_timeout_ends() {
    let h = ScxHarness::new(unthrottled()).await;
    h.order(OTTO, NewScxOrder::created(vec![]));
    h.order(OTTO, NewScxOrder::created(vec![]));
    let token = h.token().await;
    let first = h.events(&token, &[]).await.events();
    assert_eq!(first.len(), 2);
    assert!(h.events(&token, &[]).await.events().is_empty(), "invisible for 5 minutes");

    // An event queued meanwhile is visible at once.
    let third = h.order(OTTO, NewScxOrder::created(vec![]));
    let next = h.events(&token, &[]).await.events();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0]["event"]["orderId"], third.order_id.as_str());

    assert_eq!(h.sandbox.scx_expire_visibility(), 3);
    let again = h.events(&token, &[]).await.events();
    assert_eq!(ids(&again), [ids(&first), ids(&next)].concat(), "all back, in queue order");
}

#[tokio::test]
async fn a_short_visibility_timeout_brings_unacknowledged_events_back_by_itself() {
    let config = SandboxConfig {
        scx: ScxConfig { visibility_timeout: Duration::from_millis(200), ..unthrottled().scx },
        ..unthrottled()
    };
    let h = ScxHarness::new(config).await;
    h.order(KAUFLAND, NewScxOrder::created(vec![]));
    let token = h.token().await;
    let first = h.events(&token, &[]).await.events();
    assert_eq!(first.len(), 1);
    // Waits for the timeout to pass (no assertion on how long anything took).
    let mut again = Vec::new();
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        again = h.events(&token, &[]).await.events();
        if !again.is_empty() {
            break;
        }
    }
    assert_eq!(again, first, "the same event, same id, again");
}

#[tokio::test]
async fn acknowledged_events_never_come_back() {
    let h = ScxHarness::new(unthrottled()).await;
    h.order(OTTO, NewScxOrder::created(vec![]));
    h.order(OTTO, NewScxOrder::created(vec![]));
    let token = h.token().await;
    let events = h.events(&token, &[]).await.events();
    let acked = vec![ids(&events)[0].clone()];
    let r = h.acknowledge(&token, &acked).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    h.sandbox.scx_expire_visibility();
    let back = h.events(&token, &[]).await.events();
    assert_eq!(ids(&back), vec![ids(&events)[1].clone()], "only the unacknowledged one");
    assert_eq!(h.sandbox.scx_acknowledged_event_ids(), acked);

    // Acknowledging again, or an id that never existed, is no error.
    let again = h.acknowledge(&token, &[acked[0].clone(), "000000000000000000000000".to_string()]).await;
    assert_eq!(again.status, StatusCode::NO_CONTENT);
    // An event can be acknowledged without waiting for its redelivery; also under /v1.
    let last = ids(&back);
    let v1 = h
        .call(
            reqwest::Method::DELETE,
            "/v1/seller/event",
            Some(&token),
            Some(&serde_json::json!({ "eventIdList": last })),
        )
        .await;
    assert_eq!(v1.status, StatusCode::NO_CONTENT);
    h.sandbox.scx_expire_visibility();
    assert!(h.events(&token, &[]).await.events().is_empty());
    assert!(h.sandbox.scx_pending_events(&h.seller.account_id).is_empty());
}

#[tokio::test]
async fn an_acknowledgement_names_1_to_100_event_ids() {
    let h = ScxHarness::new(unthrottled()).await;
    let token = h.token().await;
    let empty = h.acknowledge(&token, &[]).await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    assert_eq!(empty.error_code(), "VAL100");
    let too_many: Vec<String> = (0..101).map(|i| format!("{i:024x}")).collect();
    assert_eq!(h.acknowledge(&token, &too_many).await.status, StatusCode::BAD_REQUEST);
    let hundred: Vec<String> = too_many[..100].to_vec();
    assert_eq!(h.acknowledge(&token, &hundred).await.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn one_call_delivers_at_most_100_events() {
    let h = ScxHarness::new(unthrottled()).await;
    for _ in 0..60 {
        let key = h.order(OTTO, NewScxOrder::created(vec![item("A", 1, 100)]));
        h.sandbox.scx_add_address(&key);
    }
    let token = h.token().await;
    let first = h.events(&token, &[]).await.events();
    assert_eq!(first.len(), 100);
    let rest = h.events(&token, &[]).await.events();
    assert_eq!(rest.len(), 20);
    assert_eq!([ids(&first), ids(&rest)].concat(), ids(&h.emitted()));
}

#[tokio::test]
async fn filters_select_by_channel_type_and_creation_time() {
    let h = ScxHarness::new(unthrottled()).await;
    let otto = h.order(OTTO, NewScxOrder::created(vec![]));
    let kaufland = h.order(KAUFLAND, NewScxOrder::created(vec![]));
    h.sandbox.scx_add_address(&otto);
    let token = h.token().await;

    let by_channel = h.events(&token, &[("channel", KAUFLAND)]).await.events();
    assert_eq!(by_channel.len(), 1);
    assert_eq!(by_channel[0]["event"]["orderId"], kaufland.order_id.as_str());

    let by_type =
        h.events(&token, &[("eventTypeFilter", &format!("{ADDRESS},Channel:Offer.Unknown"))]).await.events();
    assert_eq!(types(&by_type), vec![ADDRESS]);

    assert!(h.events(&token, &[("createdAfter", "2999-01-01T00:00:00+00:00")]).await.events().is_empty());
    let old = h.events(&token, &[("createdAfter", "2020-01-01T00:00:00+0000")]).await.events();
    assert_eq!(types(&old), vec![NEW], "the one event neither filter delivered");

    let bad = h.events(&token, &[("createdAfter", "yesterday")]).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.error_code(), "VAL100");
}

#[tokio::test]
async fn each_seller_account_reads_only_its_own_queue() {
    let h = ScxHarness::new(unthrottled()).await;
    let other = h.sandbox.add_scx_seller(&[OTTO]);
    assert_ne!(other.seller_id(OTTO), h.seller.seller_id(OTTO), "each account has its own sellerId");
    let mine = h.order(OTTO, NewScxOrder::created(vec![]));
    let theirs = h.sandbox.create_scx_order(&other.account_id, OTTO, NewScxOrder::created(vec![]));
    assert_eq!(mine.order_id, theirs.order_id, "orderId is unique per sellerId only");

    let my_events = h.events(&h.token().await, &[]).await.events();
    let their_token = h.token_for(&other).await;
    let their_events = h.events(&their_token, &[]).await.events();
    assert_eq!(my_events.len(), 1);
    assert_eq!(my_events[0]["event"]["sellerId"], mine.seller_id.as_str());
    assert_eq!(their_events.len(), 1);
    assert_eq!(their_events[0]["event"]["sellerId"], theirs.seller_id.as_str());
    // Acknowledging another account's event does nothing.
    h.acknowledge(&h.token().await, &ids(&their_events)).await;
    assert_eq!(h.sandbox.scx_pending_events(&other.account_id).len(), 1);
}
