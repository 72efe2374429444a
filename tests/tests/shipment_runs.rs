//! Overlapping shipment runs (two schedule deliveries, or a console run during a scheduled one):
//! every package is claimed by one run, sent once, and every accepted one ends Confirmed. Run on
//! the embedded store, which, unlike moto, is safe under concurrent transactions. Each test runs
//! for every marketplace (`amazon::…`, `scx::…`).

use orderbridge::domain::{
    Marketplace, MarketplaceOrderId, OrderStatus, PackageLine, PackageState, ShipmentRequest,
};
use orderbridge::ports::Ports;
use orderbridge::usecases::shipment;
use orderbridge::Deadline;
use orderbridge_sandbox::schema::AmazonModel;
use orderbridge_sandbox::NewOrder;
use orderbridge_tests::{for_each_marketplace, item, unique, EmbeddedStore, Pipeline};
use std::sync::Arc;

for_each_marketplace!(
    two_shipment_runs_started_together_send_each_package_once,
    a_run_that_died_while_sending_leaves_its_packages_to_the_next_run_after_the_lease,
);

const PACKAGES: usize = 100;

/// The pipeline's marketplace and queue, over an embedded store holding the same account.
async fn ports_on_embedded_store(p: &Pipeline, embedded: &EmbeddedStore) -> Ports {
    let store = embedded.orders_table(&unique("orders")).await.unwrap();
    let mut ports = p.ports.clone();
    ports.orders = Arc::new(store.clone());
    ports.accounts = Arc::new(store);
    let account = p.ports.accounts.get_account(&p.account).await.unwrap().unwrap();
    ports.accounts.put_account(&account).await.unwrap();
    ports
}

/// `PACKAGES` released orders imported, each with one recorded, unreported package.
async fn recorded_packages(p: &Pipeline, ports: &Ports) -> Vec<String> {
    let ids: Vec<String> =
        (0..PACKAGES).map(|i| p.place(NewOrder::released(vec![item(&format!("SKU-{i}"), 1, 500)]))).collect();
    let report =
        orderbridge::usecases::import::run(ports, &Default::default(), Deadline::unlimited()).await.unwrap();
    assert!(report.accounts[0].caught_up, "{report:?}");
    for (n, id) in ids.iter().enumerate() {
        let order_id = MarketplaceOrderId::parse(id.clone()).unwrap();
        let order = ports.orders.get_order(&p.key(id)).await.unwrap().unwrap();
        let request = ShipmentRequest {
            carrier: "DHL".into(),
            tracking_ids: vec![format!("TRACK-{n}")],
            return_tracking_id: None,
            ship_date: chrono::Utc::now(),
            shipping_method: Some("Standard".into()),
            items: vec![PackageLine::new(order.lines[0].item_id.clone(), 1)],
        };
        shipment::record(ports, &p.account, &order_id, &request).await.unwrap();
    }
    ids
}

async fn two_shipment_runs_started_together_send_each_package_once(m: Marketplace) {
    let p = Pipeline::on_moto(m).await;
    let embedded = EmbeddedStore::start(None).await.unwrap();
    let ports = ports_on_embedded_store(&p, &embedded).await;
    let ids = recorded_packages(&p, &ports).await;

    let (first, second) = tokio::join!(
        shipment::report(&ports, None, Deadline::unlimited()),
        shipment::report(&ports, None, Deadline::unlimited()),
    );
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_eq!(first.reported + second.reported, PACKAGES as u32, "{first:?} {second:?}");
    assert_eq!(
        first.claimed_elsewhere + second.claimed_elsewhere,
        PACKAGES as u32,
        "each package was left by exactly one run to the other"
    );

    assert_eq!(p.shipment_requests(), PACKAGES as u64, "each package sent once");
    assert_eq!(p.repeated_packages(), 0);
    assert_eq!(p.received_packages().len(), PACKAGES);
    for id in &ids {
        let key = p.key(id);
        let order = ports.orders.get_order(&key).await.unwrap().unwrap();
        assert_eq!(order.status(), OrderStatus::Shipped, "{id}");
        let packages = ports.orders.packages(&key).await.unwrap();
        assert!(matches!(packages[0].state, PackageState::Confirmed { .. }), "{id}: {:?}", packages[0].state);
    }
    assert!(ports.orders.unreported_packages(10).await.unwrap().is_empty());
    for body in p.sandbox.confirmation_request_bodies() {
        AmazonModel::orders_v0()
            .validate_strict("ConfirmShipmentRequest", &body)
            .unwrap_or_else(|errors| panic!("our confirmShipment request breaks Amazon's model: {errors:?}"));
    }
    embedded.stop().await;
}

async fn a_run_that_died_while_sending_leaves_its_packages_to_the_next_run_after_the_lease(m: Marketplace) {
    let p = Pipeline::on_moto(m).await;
    let embedded = EmbeddedStore::start(None).await.unwrap();
    let ports = ports_on_embedded_store(&p, &embedded).await;
    let ids = recorded_packages(&p, &ports).await;

    // A run claims the first package and dies before sending it.
    let package = ports.orders.unreported_packages(1).await.unwrap().remove(0);
    let now = chrono::Utc::now();
    let mut claimed = package.clone();
    let lease_until = now + chrono::Duration::minutes(16);
    assert!(claimed.claim("dead-run", now, lease_until));
    ports
        .orders
        .update_package(&claimed, None, orderbridge::ports::PackageGuard::Claimable { now })
        .await
        .unwrap();

    let report = shipment::report(&ports, None, Deadline::unlimited()).await.unwrap();
    assert_eq!(report.reported, PACKAGES as u32 - 1);
    assert_eq!(report.claimed_elsewhere, 1, "a live claim is respected");
    assert_eq!(ports.orders.unreported_packages(10).await.unwrap().len(), 1, "and not lost");

    // Once the lease has run out, the next run takes it over.
    let later = orderbridge::ports::Ports {
        clock: Arc::new(FixedClock(now + chrono::Duration::minutes(17))),
        ..ports.clone()
    };
    let mut report = shipment::report(&later, None, Deadline::unlimited()).await.unwrap();
    if m == Marketplace::Scx {
        // SCX's shipping notice is not idempotent and the dead run may have sent it: the package
        // waits for the marketplace's record, at most `uncertain_shipment_wait` counted from the
        // end of the dead run's lease (it may have sent until then), then goes out.
        assert_eq!((report.reported, report.retry_later), (0, 1), "{report:?}");
        assert_eq!(p.shipment_requests(), PACKAGES as u64 - 1, "not sent while uncertain");
        let wait = chrono::Duration::from_std(ports.settings.uncertain_shipment_wait).unwrap();
        let after_the_wait = orderbridge::ports::Ports {
            clock: Arc::new(FixedClock(lease_until + wait + chrono::Duration::minutes(1))),
            ..ports.clone()
        };
        report = shipment::report(&after_the_wait, None, Deadline::unlimited()).await.unwrap();
    }
    assert_eq!(report.reported, 1, "{report:?}");
    assert_eq!(p.received_packages().len(), ids.len());
    assert_eq!(p.repeated_packages(), 0);
    embedded.stop().await;
}

struct FixedClock(chrono::DateTime<chrono::Utc>);

impl orderbridge::ports::Clock for FixedClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.0
    }
}
