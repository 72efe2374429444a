//! Rejected orders reflect the present: an order rejected once and imported later has its
//! rejection resolved, `accounts rejected` shows the open ones, and the kept excerpt holds no
//! buyer data.

use orderbridge::domain::OrderStatus;
use orderbridge_sandbox::{FaultConfig, NewOrder};
use orderbridge_tests::{item, Pipeline};

#[tokio::test]
async fn a_rejection_is_resolved_once_the_order_imports_and_its_excerpt_holds_no_buyer_data() {
    let p = Pipeline::on_moto(orderbridge::domain::Marketplace::Amazon).await;
    p.sandbox.set_faults(FaultConfig { malformed_order_percent: 100, ..FaultConfig::none() });
    let broken = p.place(NewOrder::released(vec![item("MUG-1", 1, 1999)]));
    p.sandbox.set_faults(FaultConfig::none());
    let fine = p.place(NewOrder::released(vec![item("MUG-2", 1, 1999)]));

    p.import_until_caught_up(5).await;
    let open = p.ports.orders.rejections(&p.account, false).await.unwrap();
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0].marketplace_order_id.as_deref(), Some(broken.as_str()));
    assert_eq!(p.order(&fine).await.status(), OrderStatus::Deliverable, "the rest of the page goes on");
    let excerpt = &open[0].raw_excerpt;
    assert!(excerpt.contains(&broken), "the excerpt keeps the order id: {excerpt}");
    for value in p.sandbox.buyer_field_values() {
        assert!(!excerpt.contains(&value), "buyer data {value:?} kept in a rejection excerpt");
    }

    // The seller corrects the order; the next import stores it and resolves the rejection.
    assert!(p.sandbox.repair_order(&broken));
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    p.import_until_caught_up(5).await;
    assert_eq!(p.order(&broken).await.status(), OrderStatus::Deliverable);
    assert!(p.ports.orders.rejections(&p.account, false).await.unwrap().is_empty(), "no open rejection left");
    let history = p.ports.orders.rejections(&p.account, true).await.unwrap();
    assert_eq!(history.len(), 1);
    assert!(history[0].resolved_at.is_some_and(|at| at >= history[0].rejected_at));
}

#[tokio::test]
async fn a_pending_order_without_prices_is_never_rejected() {
    let p = Pipeline::on_moto(orderbridge::domain::Marketplace::Amazon).await;
    let ids: Vec<String> =
        (0..5).map(|i| p.place(NewOrder::pending(vec![item(&format!("S-{i}"), 2, 990)]))).collect();
    p.import_until_caught_up(3).await;
    assert!(p.ports.orders.rejections(&p.account, true).await.unwrap().is_empty());
    for id in &ids {
        let order = p.order(id).await;
        assert_eq!(order.status(), OrderStatus::Pending);
        assert!(order.prices().is_none() && order.customer().is_none() && order.payment().is_none());
    }
}
