//! The local run: the whole pipeline on embedded defaults, no AWS account.

use orderbridge::domain::OrderStatus;
use orderbridge_cli::commands::{Session, StoreTarget};
use orderbridge_cli::local_run::{run, LocalRunOptions, SCX_ACCOUNT};
use orderbridge_tests::unique;

#[tokio::test]
async fn local_run_imports_releases_and_ships_every_account() {
    let dir = std::env::temp_dir().join(unique("orderbridge-local"));
    let path = dir.join("store.db");
    let options = LocalRunOptions { accounts: 2, orders_per_account: 6, seed: 11, store: Some(path.clone()) };
    let summary = run(&options).await.unwrap();

    assert_eq!(summary.accounts.len(), 3, "two Amazon accounts and one SCX account");
    let mut confirmed = 0;
    let scx = &summary.accounts[SCX_ACCOUNT];
    assert_eq!(scx.imported, 6, "SCX: every order of both channels once");
    assert_eq!(scx.imported_pending, 6, "SCX: channels create orders without address, not accepted");
    assert_eq!(scx.released, 5);
    assert_eq!(scx.cancelled, 1);
    assert_eq!(scx.final_status.get(&OrderStatus::Shipped), Some(&5));
    assert_eq!(scx.final_status.get(&OrderStatus::Cancelled), Some(&1));
    confirmed += scx.packages_confirmed as usize;
    for (account, run) in summary.accounts.iter().filter(|(id, _)| id.starts_with("amazon-local")) {
        assert_eq!(run.imported, 6, "{account}");
        assert_eq!(run.imported_pending, 4, "{account}: two of three orders arrive pending");
        assert_eq!(run.released, 2, "{account}");
        assert_eq!(run.final_status.get(&OrderStatus::Pending), Some(&1), "{account}");
        assert_eq!(run.final_status.get(&OrderStatus::Cancelled), Some(&1), "{account}");
        assert_eq!(run.final_status.get(&OrderStatus::Shipped), Some(&4), "{account}");
        assert_eq!(run.final_status.values().sum::<u32>(), 6, "{account}: every order exactly once");
        confirmed += run.packages_confirmed as usize;
    }
    assert_eq!(summary.marketplace_confirmations, confirmed, "every recorded package confirmed once");

    // The store file outlives the run; the command line reads it.
    let session = Session::open(&StoreTarget::Local(path)).await.unwrap();
    assert_eq!(session.orders(OrderStatus::Shipped).await.unwrap().len(), 8 + 5);
    assert_eq!(session.accounts().await.unwrap().len(), 3);
    session.close().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn command_line_manages_accounts_and_ships_against_a_real_table() {
    use orderbridge::domain::{AccountId, OrderItemId, PackageLine, ShipmentRequest};
    use orderbridge_cli::commands::amazon_account;
    use orderbridge_sandbox::{NewItem, NewOrder};

    // The pipeline's table on moto, then the command line pointed at it by name and endpoint.
    let p = orderbridge_tests::Pipeline::on_moto(orderbridge::domain::Marketplace::Amazon).await;
    let id = p.place(NewOrder::released(vec![NewItem::new("MUG", 2, 990)]));
    p.import().await.unwrap();
    let target = StoreTarget::Table {
        name: p.store.table().to_string(),
        endpoint_url: Some(orderbridge_tests::moto_url()),
    };
    let session = Session::open(&target).await.unwrap();
    assert!(!session.init_table().await.unwrap(), "the table exists already");

    let second = amazon_account(
        AccountId::parse("amazon-fr").unwrap(),
        "orderbridge/amazon-fr".into(),
        vec!["A13V1IB3VIYZZH".into()],
        "https://sellingpartnerapi-eu.amazon.com".into(),
        "https://api.amazon.com/auth/o2/token".into(),
    );
    session.add_account(&second).await.unwrap();
    assert!(session.add_account(&second).await.is_err(), "an account is added once");
    session.set_account_enabled(&second.id, false).await.unwrap();
    let listed = session.accounts().await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(!listed.iter().find(|a| a.id == second.id).unwrap().enabled);

    let deliverable = session.orders(OrderStatus::Deliverable).await.unwrap();
    assert_eq!(deliverable.len(), 1);
    let key = session.order_key(&p.account, &id).await.unwrap();
    let item = deliverable[0].lines[0].item_id.clone();
    let request = ShipmentRequest {
        carrier: "DHL".into(),
        tracking_ids: vec!["CLI-1".into()],
        return_tracking_id: None,
        ship_date: chrono::Utc::now(),
        shipping_method: None,
        items: vec![PackageLine::new(OrderItemId::parse(item.as_str()).unwrap(), 2)],
    };
    let recorded = session.record_shipment(&key, &request).await.unwrap();
    assert!(recorded.newly_recorded);
    let shown = session.show_order(&key).await.unwrap();
    assert_eq!(shown["packages"].as_array().unwrap().len(), 1);
    assert_eq!(shown["order"]["state"]["status"], "Deliverable");
    session.close().await;

    // The shipment function reports it; the disabled account is left alone.
    p.shipment(serde_json::json!({})).await.unwrap();
    assert_eq!(p.order(&id).await.status(), OrderStatus::Shipped);
    assert_eq!(p.sandbox.confirmations().len(), 1);
}
