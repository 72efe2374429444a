//! The DynamoDB store adapter against both moto and the embedded store: the same guarantees on
//! each (create once, versioned updates, cursor compare-and-set, package transactions, sparse
//! index, paging by status).

use chrono::{TimeZone, Utc};
use orderbridge::adapters::dynamodb::DynamoStore;
use orderbridge::domain::account::AmazonSettings;
use orderbridge::domain::{
    AccountId, AccountSettings, Address, Currency, Customer, LinePrice, Marketplace, MarketplaceAccount,
    MarketplaceOrder, MarketplaceOrderId, MarketplaceOrderState, Money, OrderItemId, OrderLine, OrderStatus,
    PackageLine, PackageState, Payment, Prices, Release, SalesOrder, ShipmentRequest,
};
use orderbridge::ports::{AccountStore, FeedPosition, OrderStore, PackageGuard, RejectedOrder, StoreError};
use orderbridge_tests::{moto_table, unique, EmbeddedStore};

fn account_id() -> AccountId {
    AccountId::parse("amazon-de").unwrap()
}

/// A Pending order as Amazon sends it: no prices, no payment, no buyer.
fn order(n: u32) -> SalesOrder {
    let eur = Currency::parse("EUR").unwrap();
    let marketplace_order = MarketplaceOrder {
        id: MarketplaceOrderId::parse(format!("302-0000000-{n:07}")).unwrap(),
        sales_channel: "A1PA6795UKMFR9".into(),
        created_at: Utc.with_ymd_and_hms(2026, 11, 28, 10, 0, 0).unwrap()
            + chrono::Duration::seconds(i64::from(n)),
        updated_at: Utc.with_ymd_and_hms(2026, 11, 28, 10, 5, 0).unwrap(),
        state: MarketplaceOrderState::Pending,
        lines: vec![OrderLine::new(
            OrderItemId::parse("11111111111111").unwrap(),
            Some("SKU".into()),
            None,
            Some("B000000001".into()),
            2,
        )],
        currency: Some(eur),
        prices: None,
        paid_amount: None,
        customer: None,
        accept_until: None,
        seller_id: None,
    };
    SalesOrder::from_marketplace(Marketplace::Amazon, account_id(), &marketplace_order, Utc::now())
}

fn release(order: &SalesOrder) -> Release {
    let eur = Currency::parse("EUR").unwrap();
    let unit_prices = vec![LinePrice {
        item_id: OrderItemId::parse("11111111111111").unwrap(),
        unit_price: Money::new(500, eur),
    }];
    let prices = Prices::new(&order.lines, Money::new(1000, eur), unit_prices).unwrap();
    Release { payment: Payment { amount: prices.total, paid_at: Utc::now() }, prices, customer: customer() }
}

fn customer() -> Customer {
    Customer {
        buyer_name: Some("Erika Mustermann".into()),
        buyer_email: None,
        company: None,
        shipping_address: Address {
            name: "Erika Mustermann".into(),
            company: None,
            lines: vec!["Heidestraße 17".into()],
            city: "Köln".into(),
            postal_code: Some("51147".into()),
            region: None,
            country_code: "DE".into(),
            phone: None,
        },
    }
}

async fn order_is_created_once_and_updated_only_over_the_version_read(store: DynamoStore) {
    let fresh = order(1);
    store.insert_order(&fresh).await.unwrap();
    assert!(matches!(store.insert_order(&fresh).await, Err(StoreError::AlreadyExists { .. })));

    let mut stored = store.get_order(&fresh.key).await.unwrap().unwrap();
    assert_eq!(stored.version, 1);
    let stale = stored.clone();
    stored.release(release(&stored), Utc::now()).unwrap();
    store.update_order(&stored).await.unwrap();
    assert!(
        matches!(store.update_order(&stale).await, Err(StoreError::Conflict { .. })),
        "a stale write must be refused"
    );

    let reread = store.get_order(&fresh.key).await.unwrap().unwrap();
    assert_eq!(reread.version, 2);
    assert_eq!(reread.status(), OrderStatus::Deliverable);
    assert_eq!(reread.customer(), Some(&customer()));
}

async fn cursor_moves_only_from_the_position_it_was_read_at(store: DynamoStore) {
    let id = account_id();
    assert_eq!(store.load_position(&id).await.unwrap(), None);
    let first = FeedPosition("one".into());
    store.save_position(&id, None, &first).await.unwrap();
    assert!(matches!(store.save_position(&id, None, &first).await, Err(StoreError::Conflict { .. })));
    let second = FeedPosition("two".into());
    store.save_position(&id, Some(&first), &second).await.unwrap();
    assert!(
        matches!(
            store.save_position(&id, Some(&first), &FeedPosition("old".into())).await,
            Err(StoreError::Conflict { .. })
        ),
        "a run that read an older position must not move the cursor"
    );
    assert_eq!(store.load_position(&id).await.unwrap(), Some(second));
}

async fn packages_are_recorded_with_the_order_and_leave_the_unreported_index_once_reported(
    store: DynamoStore,
) {
    let mut deliverable = order(2);
    deliverable.release(release(&deliverable), Utc::now()).unwrap();
    store.insert_order(&deliverable).await.unwrap();
    let mut stored = store.get_order(&deliverable.key).await.unwrap().unwrap();
    let request = ShipmentRequest {
        carrier: "DHL".into(),
        tracking_ids: vec!["T1".into()],
        return_tracking_id: None,
        ship_date: Utc::now(),
        shipping_method: None,
        items: vec![PackageLine::new(OrderItemId::parse("11111111111111").unwrap(), 2)],
    };
    let stale = stored.clone();
    let mut package = stored.record_package(&request, Utc::now()).unwrap();
    store.record_package(&stored, &package).await.unwrap();

    // Recording against the order as it was before fails as a whole: no second package 1.
    let mut stale_copy = stale.clone();
    let duplicate = stale_copy.record_package(&request, Utc::now()).unwrap();
    assert!(store.record_package(&stale_copy, &duplicate).await.is_err());
    assert_eq!(store.packages(&deliverable.key).await.unwrap().len(), 1);

    let unreported = store.unreported_packages(100).await.unwrap();
    assert_eq!(unreported, vec![package.clone()]);

    let mut order_now = store.get_order(&deliverable.key).await.unwrap().unwrap();
    package.mark_confirmed(Utc::now());
    order_now.confirm_package(&package, Utc::now()).unwrap();
    store.update_package(&package, Some(&order_now), PackageGuard::NotConfirmed).await.unwrap();
    assert!(
        store.unreported_packages(100).await.unwrap().is_empty(),
        "a reported package leaves the sparse index"
    );
    assert_eq!(store.get_order(&deliverable.key).await.unwrap().unwrap().status(), OrderStatus::Shipped);

    // A second run saving the same confirmation finds it settled.
    assert!(matches!(
        store.update_package(&package, None, PackageGuard::NotConfirmed).await,
        Err(StoreError::NotInExpectedState { .. })
    ));
}

async fn deliverable_order_with_one_package(
    store: &DynamoStore,
    n: u32,
) -> (SalesOrder, orderbridge::domain::Package) {
    let mut order = order(n);
    order.release(release(&order), Utc::now()).unwrap();
    store.insert_order(&order).await.unwrap();
    let mut stored = store.get_order(&order.key).await.unwrap().unwrap();
    let request = ShipmentRequest {
        carrier: "DHL".into(),
        tracking_ids: vec![format!("T{n}")],
        return_tracking_id: None,
        ship_date: Utc::now(),
        shipping_method: None,
        items: vec![PackageLine::new(OrderItemId::parse("11111111111111").unwrap(), 2)],
    };
    let package = stored.record_package(&request, Utc::now()).unwrap();
    store.record_package(&stored, &package).await.unwrap();
    (store.get_order(&order.key).await.unwrap().unwrap(), package)
}

async fn a_package_is_claimed_by_one_run_and_taken_over_only_after_its_lease(store: DynamoStore) {
    let (_, package) = deliverable_order_with_one_package(&store, 20).await;
    let now = Utc::now();
    let lease = now + chrono::Duration::minutes(16);

    let mut first = package.clone();
    assert!(first.claim("run-1", now, lease));
    store.update_package(&first, None, PackageGuard::Claimable { now }).await.unwrap();

    let mut second = package.clone();
    assert!(second.claim("run-2", now, lease));
    assert!(
        matches!(
            store.update_package(&second, None, PackageGuard::Claimable { now }).await,
            Err(StoreError::NotInExpectedState { .. })
        ),
        "a package claimed by a live run can't be claimed again"
    );
    // Still listed, so that it isn't lost if the first run dies.
    assert_eq!(store.unreported_packages(100).await.unwrap().len(), 1);

    let later = lease + chrono::Duration::seconds(1);
    let mut takeover = first.clone();
    assert!(takeover.claim("run-3", later, later + chrono::Duration::minutes(16)));
    store.update_package(&takeover, None, PackageGuard::Claimable { now: later }).await.unwrap();

    // The first run, overtaken, can no longer settle its attempt.
    first.note_failed_attempt("timeout".into(), None);
    assert!(matches!(
        store.update_package(&first, None, PackageGuard::ClaimedBy("run-1".into())).await,
        Err(StoreError::NotInExpectedState { .. })
    ));
}

async fn an_accepted_confirmation_is_never_overwritten_by_another_runs_failure(store: DynamoStore) {
    let (mut order_now, package) = deliverable_order_with_one_package(&store, 21).await;
    let now = Utc::now();
    let mut claimed = package.clone();
    claimed.claim("run-1", now, now + chrono::Duration::minutes(16));
    store.update_package(&claimed, None, PackageGuard::Claimable { now }).await.unwrap();

    let mut confirmed = claimed.clone();
    confirmed.mark_confirmed(now);
    order_now.confirm_package(&confirmed, now).unwrap();
    store.update_package(&confirmed, Some(&order_now), PackageGuard::NotConfirmed).await.unwrap();

    let mut failed = claimed.clone();
    failed.mark_failed("refused".into(), now);
    assert!(matches!(
        store.update_package(&failed, None, PackageGuard::ClaimedBy("run-1".into())).await,
        Err(StoreError::NotInExpectedState { .. })
    ));
    let stored = store.packages(&package.order).await.unwrap();
    assert!(matches!(stored[0].state, PackageState::Confirmed { .. }), "{:?}", stored[0].state);
    assert!(store.failed_packages(10).await.unwrap().is_empty());
}

async fn a_failed_package_is_confirmed_when_the_marketplace_accepted_it_after_all(store: DynamoStore) {
    let (mut order_now, package) = deliverable_order_with_one_package(&store, 22).await;
    let now = Utc::now();
    let mut failed = package.clone();
    failed.mark_failed("refused by a run whose answer came late".into(), now);
    store.update_package(&failed, None, PackageGuard::Claimable { now }).await.unwrap();

    let mut confirmed = package.clone();
    confirmed.mark_confirmed(now);
    order_now.confirm_package(&confirmed, now).unwrap();
    store.update_package(&confirmed, Some(&order_now), PackageGuard::NotConfirmed).await.unwrap();
    assert!(store.failed_packages(10).await.unwrap().is_empty());
    assert_eq!(store.get_order(&package.order).await.unwrap().unwrap().status(), OrderStatus::Shipped);
}

async fn orders_are_found_by_status_page_by_page(store: DynamoStore) {
    for n in 10..17 {
        store.insert_order(&order(n)).await.unwrap();
    }
    let mut seen = Vec::new();
    let mut start = None;
    loop {
        let page = store.orders_by_status(OrderStatus::Pending, 3, start).await.unwrap();
        assert!(page.items.len() <= 3);
        seen.extend(page.items.into_iter().map(|o| o.key.marketplace_order_id.to_string()));
        match page.next {
            Some(next) => start = Some(next),
            None => break,
        }
    }
    let expected: Vec<String> = (10..17).map(|n| format!("302-0000000-{n:07}")).collect();
    assert_eq!(seen, expected, "oldest first, each once");
    assert!(store.orders_by_status(OrderStatus::Shipped, 10, None).await.unwrap().items.is_empty());
}

async fn accounts_and_rejections_are_listed(store: DynamoStore) {
    let account = MarketplaceAccount {
        id: account_id(),
        enabled: true,
        settings: AccountSettings::Amazon(AmazonSettings {
            api_base_url: "https://sellingpartnerapi-eu.amazon.com".into(),
            token_url: "https://api.amazon.com/auth/o2/token".into(),
            credentials_secret: "orderbridge/amazon-de".into(),
            marketplace_ids: vec!["A1PA6795UKMFR9".into()],
            window_lag_secs: 120,
            overlap_secs: 300,
            initial_lookback_hours: 72,
            seller_id: None,
            quota_overrides: Vec::new(),
        }),
    };
    store.put_account(&account).await.unwrap();
    assert_eq!(store.list_accounts().await.unwrap(), vec![account.clone()]);
    assert_eq!(store.get_account(&account.id).await.unwrap(), Some(account));

    let rejection = RejectedOrder {
        account_id: account_id(),
        marketplace_order_id: Some("302-1".into()),
        reason: "field orderItems[0].quantityOrdered: -1 is not between 1 and 100000".into(),
        raw_excerpt: "{\"orderId\":\"302-1\"}".into(),
        rejected_at: Utc::now(),
        resolved_at: None,
    };
    store.record_rejection(&rejection).await.unwrap();
    store.record_rejection(&rejection).await.unwrap();
    assert_eq!(
        store.rejections(&account_id(), false).await.unwrap(),
        vec![rejection.clone()],
        "one record per rejected order"
    );

    let resolved_at = Utc::now();
    store.resolve_rejection(&account_id(), "302-1", resolved_at).await.unwrap();
    assert!(store.rejections(&account_id(), false).await.unwrap().is_empty(), "resolved ones are not open");
    let history = store.rejections(&account_id(), true).await.unwrap();
    assert_eq!(history.len(), 1);
    assert!(history[0].resolved_at.is_some());
    // Resolving an order that was never rejected does nothing.
    store.resolve_rejection(&account_id(), "302-unknown", resolved_at).await.unwrap();
    // Rejected again later: open again.
    store.record_rejection(&RejectedOrder { rejected_at: Utc::now(), ..rejection }).await.unwrap();
    assert_eq!(store.rejections(&account_id(), false).await.unwrap().len(), 1);
}

/// An order item as the previous version wrote it (prices on the lines, no `schema`).
/// Puts an order item as an earlier version wrote it (`schema` None: before schema 2).
async fn put_stored_order(
    store: &DynamoStore,
    order_id: &str,
    status: &str,
    version: u64,
    schema: Option<u32>,
    order: aws_sdk_dynamodb::types::AttributeValue,
) -> orderbridge::domain::OrderKey {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    let pk = format!("ORDER#amazon#amazon-de#{order_id}");
    let mut put = store
        .client()
        .put_item()
        .table_name(store.table())
        .item("pk", A::S(pk.clone()))
        .item("sk", A::S("ORDER".into()))
        .item("gsi1pk", A::S(format!("STATUS#{status}")))
        .item("gsi1sk", A::S(format!("2026-11-28T10:00:00+00:00#{pk}")))
        .item("status", A::S(status.into()))
        .item("account_id", A::S("amazon-de".into()))
        .item("version", A::N(version.to_string()))
        .item("order", order);
    if let Some(schema) = schema {
        put = put.item("schema", A::N(schema.to_string()));
    }
    put.send().await.unwrap();
    orderbridge::domain::OrderKey::new(
        Marketplace::Amazon,
        account_id(),
        MarketplaceOrderId::parse(order_id).unwrap(),
    )
}

async fn orders_stored_by_the_previous_version_still_read(store: DynamoStore) {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    use std::collections::HashMap;
    let s = |v: &str| A::S(v.into());
    let n = |v: &str| A::N(v.into());
    let money =
        |cents: &str| A::M(HashMap::from([("minor_units".into(), n(cents)), ("currency".into(), s("EUR"))]));
    let line = A::M(HashMap::from([
        ("item_id".into(), s("11111111111111")),
        ("sku".into(), s("SKU")),
        ("title".into(), A::Null(true)),
        ("quantity".into(), n("2")),
        ("unit_price".into(), money("500")),
        ("quantity_recorded".into(), n("0")),
        ("quantity_confirmed".into(), n("0")),
    ]));
    let key = A::M(HashMap::from([
        ("marketplace".into(), s("amazon")),
        ("account_id".into(), s("amazon-de")),
        ("marketplace_order_id".into(), s("302-0000000-0000099")),
    ]));
    let order = A::M(HashMap::from([
        ("key".into(), key),
        ("sales_channel".into(), s("A1PA6795UKMFR9")),
        ("created_at".into(), s("2026-11-28T10:00:00Z")),
        ("marketplace_updated_at".into(), s("2026-11-28T10:05:00Z")),
        ("imported_at".into(), s("2026-11-28T10:06:00Z")),
        ("currency".into(), s("EUR")),
        ("total".into(), money("1000")),
        ("lines".into(), A::L(vec![line])),
        ("state".into(), A::M(HashMap::from([("status".into(), s("Pending"))]))),
        ("packages_recorded".into(), n("0")),
        ("version".into(), n("4")),
    ]));
    let key = put_stored_order(&store, "302-0000000-0000099", "Pending", 4, None, order).await;
    let mut stored = store.get_order(&key).await.unwrap().unwrap();
    assert_eq!(stored.version, 4);
    assert_eq!(stored.status(), OrderStatus::Pending);
    assert_eq!(stored.prices().map(|p| p.total.minor_units), Some(1000));
    // The next change writes it in the current shape.
    stored.release(release(&stored), Utc::now()).unwrap();
    store.update_order(&stored).await.unwrap();
    assert_eq!(store.get_order(&key).await.unwrap().unwrap().status(), OrderStatus::Deliverable);
}

async fn cancelled_orders_stored_by_schema_2_stay_cancelled(store: DynamoStore) {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    use std::collections::HashMap;
    let s = |v: &str| A::S(v.into());
    let n = |v: &str| A::N(v.into());
    // Schema 2: lines without cancelled units; the state alone said Cancelled.
    let line = A::M(HashMap::from([
        ("item_id".into(), s("11111111111111")),
        ("sku".into(), s("SKU")),
        ("title".into(), A::Null(true)),
        ("quantity".into(), n("2")),
        ("quantity_recorded".into(), n("0")),
        ("quantity_confirmed".into(), n("0")),
    ]));
    let key = A::M(HashMap::from([
        ("marketplace".into(), s("amazon")),
        ("account_id".into(), s("amazon-de")),
        ("marketplace_order_id".into(), s("302-0000000-0000098")),
    ]));
    let order = A::M(HashMap::from([
        ("key".into(), key),
        ("sales_channel".into(), s("A1PA6795UKMFR9")),
        ("created_at".into(), s("2026-11-28T10:00:00Z")),
        ("marketplace_updated_at".into(), s("2026-11-28T10:05:00Z")),
        ("imported_at".into(), s("2026-11-28T10:06:00Z")),
        ("currency".into(), s("EUR")),
        ("lines".into(), A::L(vec![line])),
        (
            "state".into(),
            A::M(HashMap::from([
                ("status".into(), s("Cancelled")),
                ("payment".into(), A::Null(true)),
                ("customer".into(), A::Null(true)),
            ])),
        ),
        ("packages_recorded".into(), n("0")),
        ("history".into(), A::L(vec![])),
        ("version".into(), n("2")),
    ]));
    let key = put_stored_order(&store, "302-0000000-0000098", "Cancelled", 2, Some(2), order).await;
    let mut stored = store.get_order(&key).await.unwrap().unwrap();
    assert_eq!(stored.status(), OrderStatus::Cancelled);
    assert_eq!(stored.lines[0].quantity_cancelled, 2, "a whole-order cancellation counts every unit");
    // A later report of the order changes nothing that would bring it back.
    assert!(stored.cancel(Utc::now()).is_err());
    store.update_order(&stored).await.unwrap();
    assert_eq!(store.get_order(&key).await.unwrap().unwrap().status(), OrderStatus::Cancelled);
}

async fn deliveries_are_kept_until_their_retention_or_the_erasure_of_their_order(store: DynamoStore) {
    use orderbridge::ports::RawDelivery;
    let delivery = |id: &str, order: &str, minute: u32| RawDelivery {
        id: id.into(),
        marketplace_order_id: Some(order.into()),
        kind: "Channel:Order.New".into(),
        created_at: Utc.with_ymd_and_hms(2026, 12, 1, 9, minute, 0).unwrap(),
        body: format!(r#"{{"orderId":"{order}"}}"#),
    };
    let keep_until = Utc::now() + chrono::Duration::days(30);
    let account = account_id();
    for kept in
        [delivery("e-2", "OTTODE:2", 2), delivery("e-1", "OTTODE:1", 1), delivery("e-1", "OTTODE:1", 1)]
    {
        store.keep_delivery(&account, &kept, keep_until).await.unwrap();
    }
    store.keep_delivery(&account, &delivery("e-3", "OTTODE:1", 3), keep_until).await.unwrap();
    let all = store.kept_deliveries(&account, None).await.unwrap();
    assert_eq!(all.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(), ["e-1", "e-2", "e-3"]);
    let of_one = store.kept_deliveries(&account, Some("OTTODE:1")).await.unwrap();
    assert_eq!(of_one.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(), ["e-1", "e-3"]);
    assert_eq!(of_one[0], delivery("e-1", "OTTODE:1", 1));

    // Past its retention a delivery is not read, even before the store has deleted it.
    let expired = Utc::now() - chrono::Duration::seconds(1);
    store.keep_delivery(&account, &delivery("e-4", "OTTODE:1", 4), expired).await.unwrap();
    assert_eq!(store.kept_deliveries(&account, Some("OTTODE:1")).await.unwrap().len(), 2);

    // Erasing an order's buyer data forgets its deliveries, and only its.
    assert_eq!(store.forget_deliveries(&account, "OTTODE:1").await.unwrap(), 3);
    assert!(store.kept_deliveries(&account, Some("OTTODE:1")).await.unwrap().is_empty());
    let left = store.kept_deliveries(&account, None).await.unwrap();
    assert_eq!(left.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(), ["e-2"]);
    assert_eq!(store.forget_deliveries(&account, "OTTODE:1").await.unwrap(), 0);
}

macro_rules! on_both_stores {
    ($($behaviour:ident),* $(,)?) => {
        mod on_moto {
            use super::*;
            $(#[tokio::test]
            async fn $behaviour() {
                super::$behaviour(moto_table().await).await;
            })*
        }
        mod on_embedded_store {
            use super::*;
            $(#[tokio::test]
            async fn $behaviour() {
                let embedded = EmbeddedStore::start(None).await.unwrap();
                super::$behaviour(embedded.orders_table(&unique("orders")).await.unwrap()).await;
                embedded.stop().await;
            })*
        }
    };
}

on_both_stores!(
    order_is_created_once_and_updated_only_over_the_version_read,
    cursor_moves_only_from_the_position_it_was_read_at,
    packages_are_recorded_with_the_order_and_leave_the_unreported_index_once_reported,
    orders_are_found_by_status_page_by_page,
    accounts_and_rejections_are_listed,
    a_package_is_claimed_by_one_run_and_taken_over_only_after_its_lease,
    an_accepted_confirmation_is_never_overwritten_by_another_runs_failure,
    a_failed_package_is_confirmed_when_the_marketplace_accepted_it_after_all,
    orders_stored_by_the_previous_version_still_read,
    cancelled_orders_stored_by_schema_2_stay_cancelled,
    deliveries_are_kept_until_their_retention_or_the_erasure_of_their_order,
);

#[tokio::test]
async fn embedded_store_keeps_its_data_across_restarts() {
    let dir = std::env::temp_dir().join(unique("orderbridge-store"));
    let path = dir.join("store.db");
    let first = EmbeddedStore::start(Some(&path)).await.unwrap();
    let store = first.orders_table("orders").await.unwrap();
    store.insert_order(&order(1)).await.unwrap();
    first.stop().await;

    let second = EmbeddedStore::start(Some(&path)).await.unwrap();
    let store = second.orders_table("orders").await.unwrap();
    assert!(store.get_order(&order(1).key).await.unwrap().is_some());
    second.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}
