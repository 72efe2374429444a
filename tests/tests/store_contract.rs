//! The DynamoDB store adapter against both moto and the embedded store: the same guarantees on
//! each (create once, versioned updates, cursor compare-and-set, package transactions, sparse
//! index, paging by status).

use chrono::{TimeZone, Utc};
use orderbridge::adapters::dynamodb::DynamoStore;
use orderbridge::domain::account::AmazonSettings;
use orderbridge::domain::{
    AccountId, AccountSettings, Address, Currency, Customer, Marketplace, MarketplaceAccount,
    MarketplaceOrder, MarketplaceOrderId, MarketplaceOrderState, Money, OrderItemId, OrderLine, OrderStatus,
    PackageLine, Payment, SalesOrder, ShipmentRequest,
};
use orderbridge::ports::{AccountStore, FeedPosition, OrderStore, RejectedOrder, StoreError};
use orderbridge_tests::{moto_table, unique, EmbeddedStore};

fn account_id() -> AccountId {
    AccountId::parse("amazon-de").unwrap()
}

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
            2,
            Some(Money::new(500, eur)),
        )],
        currency: eur,
        total: Some(Money::new(1000, eur)),
        paid_amount: None,
        customer: None,
    };
    SalesOrder::from_marketplace(Marketplace::Amazon, account_id(), &marketplace_order, Utc::now())
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
    stored.release(Payment { amount: fresh.total.unwrap(), paid_at: Utc::now() }, customer()).unwrap();
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
    deliverable
        .release(Payment { amount: deliverable.total.unwrap(), paid_at: Utc::now() }, customer())
        .unwrap();
    store.insert_order(&deliverable).await.unwrap();
    let mut stored = store.get_order(&deliverable.key).await.unwrap().unwrap();
    let request = ShipmentRequest {
        carrier: "DHL".into(),
        tracking_id: "T1".into(),
        ship_date: Utc::now(),
        shipping_method: None,
        items: vec![PackageLine { item_id: OrderItemId::parse("11111111111111").unwrap(), quantity: 2 }],
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
    package.mark_reported(Utc::now());
    order_now.confirm_package(&package).unwrap();
    store.update_package(&package, Some(&order_now)).await.unwrap();
    assert!(
        store.unreported_packages(100).await.unwrap().is_empty(),
        "a reported package leaves the sparse index"
    );
    assert_eq!(store.get_order(&deliverable.key).await.unwrap().unwrap().status(), OrderStatus::Shipped);

    // A second run saving the same report finds it settled.
    assert!(matches!(store.update_package(&package, None).await, Err(StoreError::NotInExpectedState { .. })));
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
    };
    store.record_rejection(&rejection).await.unwrap();
    store.record_rejection(&rejection).await.unwrap();
    assert_eq!(
        store.rejections(&account_id()).await.unwrap(),
        vec![rejection],
        "one record per rejected order"
    );
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
