//! The local run: the whole pipeline on embedded defaults, no AWS account.

use orderbridge::domain::OrderStatus;
use orderbridge_cli::commands::{Session, StoreTarget};
use orderbridge_cli::local_run::{run, LocalRunOptions};
use orderbridge_tests::unique;

#[tokio::test]
async fn local_run_imports_releases_and_ships_every_account() {
    let dir = std::env::temp_dir().join(unique("orderbridge-local"));
    let path = dir.join("store.db");
    let options = LocalRunOptions { accounts: 2, orders_per_account: 6, seed: 11, store: Some(path.clone()) };
    let summary = run(&options).await.unwrap();

    assert_eq!(summary.accounts.len(), 2);
    let mut confirmed = 0;
    for (account, run) in &summary.accounts {
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
    assert_eq!(session.orders(OrderStatus::Shipped).await.unwrap().len(), 8);
    assert_eq!(session.accounts().await.unwrap().len(), 2);
    session.close().await;
    let _ = std::fs::remove_dir_all(dir);
}
