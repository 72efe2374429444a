//! Status checks driven by the marketplace: the account subscribes to Amazon's `ORDER_CHANGE`
//! notifications, the sandbox delivers them to an SQS queue on moto as Amazon would (duplicated,
//! delayed, and before the import has seen the order), and the status function turns them into
//! stored, promoted and cancelled orders.

use orderbridge::domain::OrderStatus;
use orderbridge::ports::Subscription;
use orderbridge::Deadline;
use orderbridge_sandbox::{FaultConfig, NewOrder};
use orderbridge_tests::{create_queue, item, lambda_message, moto_url, sqs_event, Pipeline, PipelineOptions};
use std::time::Duration;

struct Notifications {
    queue_url: String,
    arn: String,
}

async fn order_change_queue(p: &Pipeline) -> Notifications {
    let (queue_url, arn) = create_queue(&p.sqs, "order-change").await;
    Notifications { queue_url, arn }
}

/// Delivers what is on the order-change queue to the status function, as the event source
/// would, until it is empty; returns how many messages it delivered.
async fn deliver_notifications(p: &Pipeline, queue: &Notifications) -> usize {
    p.sandbox.deliveries_settled().await;
    let mut delivered = 0;
    loop {
        let out = p
            .sqs
            .receive_message()
            .queue_url(&queue.queue_url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            return delivered;
        }
        for m in &messages {
            p.sqs
                .delete_message()
                .queue_url(&queue.queue_url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
        delivered += messages.len();
        let event = sqs_event(messages.iter().map(lambda_message).collect());
        let response = orderbridge::handlers::status::handle(&p.ports, event, Deadline::unlimited()).await;
        assert!(response.batch_item_failures.is_empty(), "{:?}", response.batch_item_failures);
    }
}

async fn subscribed_pipeline(faults: FaultConfig) -> (Pipeline, Notifications) {
    let mut options = PipelineOptions::default();
    options.sandbox.sqs_endpoint = Some(moto_url());
    options.sandbox.faults = faults;
    let p = Pipeline::on_moto_with(orderbridge::domain::Marketplace::Amazon, options).await;
    let queue = order_change_queue(&p).await;
    let account = p.ports.accounts.get_account(&p.account).await.unwrap().unwrap();
    let client = p.ports.marketplaces.connect(&account).await.unwrap();
    let subscription = client.subscribe_order_changes(&queue.arn, Deadline::unlimited()).await.unwrap();
    assert!(matches!(subscription, Subscription::Active { .. }), "{subscription:?}");
    // Subscribing again keeps the subscription.
    assert_eq!(
        client.subscribe_order_changes(&queue.arn, Deadline::unlimited()).await.unwrap(),
        subscription
    );
    let access = client.check_access(Deadline::unlimited()).await.unwrap();
    assert!(access.order_change_subscription.is_some());
    (p, queue)
}

#[tokio::test]
async fn notifications_store_pending_orders_before_the_import_and_promote_them_on_release() {
    let (p, queue) = subscribed_pipeline(FaultConfig::none()).await;
    let id = p.place(NewOrder::pending(vec![item("MUG-1", 2, 1999)]));

    // The push arrives before any import ran: the order is stored Pending from it.
    assert!(deliver_notifications(&p, &queue).await >= 1);
    let pending = p.order(&id).await;
    assert_eq!(pending.status(), OrderStatus::Pending);
    assert!(pending.prices().is_none() && pending.customer().is_none());
    assert!(p.status_messages().await.is_empty(), "a pushed Pending order starts no re-check chain");

    p.sandbox.release_payment(&id);
    deliver_notifications(&p, &queue).await;
    let released = p.order(&id).await;
    assert_eq!(released.status(), OrderStatus::Deliverable);
    assert!(released.prices().is_some() && released.customer().is_some());

    // The import later sees the same order and changes nothing.
    let report = p.import().await.unwrap();
    assert_eq!(report.accounts[0].created_pending + report.accounts[0].created_deliverable, 0);
    assert_eq!(p.order(&id).await.version, released.version);
}

#[tokio::test]
async fn duplicated_and_delayed_notifications_promote_and_cancel_each_order_once() {
    let faults = FaultConfig {
        duplicate_notification_percent: 50,
        delayed_notification_percent: 30,
        notification_delay: Duration::from_millis(300),
        ..FaultConfig::none()
    };
    let (p, queue) = subscribed_pipeline(faults).await;
    let ids: Vec<String> =
        (0..8).map(|i| p.place(NewOrder::pending(vec![item(&format!("S-{i}"), 1, 500)]))).collect();
    deliver_notifications(&p, &queue).await;
    for (n, id) in ids.iter().enumerate() {
        if n % 4 == 3 {
            p.sandbox.cancel(id);
        } else {
            p.sandbox.release_payment(id);
        }
    }
    deliver_notifications(&p, &queue).await;
    assert!(
        p.sandbox.fault_counts().get("delivery/duplicate").copied().unwrap_or_default() > 0,
        "the sandbox duplicated some notifications: {:?}",
        p.sandbox.fault_counts()
    );
    for (n, id) in ids.iter().enumerate() {
        let order = p.order(id).await;
        let expected = if n % 4 == 3 { OrderStatus::Cancelled } else { OrderStatus::Deliverable };
        assert_eq!(order.status(), expected, "{id}");
        let releases =
            order.history.iter().filter(|h| h.event == orderbridge::domain::OrderEvent::Released).count();
        assert!(releases <= 1, "{id} released {releases} times");
    }
}

#[tokio::test]
async fn a_disabled_account_is_unsubscribed_and_its_notifications_are_dropped() {
    let (p, queue) = subscribed_pipeline(FaultConfig::none()).await;
    let mut account = p.ports.accounts.get_account(&p.account).await.unwrap().unwrap();
    let client = p.ports.marketplaces.connect(&account).await.unwrap();
    client.unsubscribe_order_changes(Deadline::unlimited()).await.unwrap();
    assert!(client.check_access(Deadline::unlimited()).await.unwrap().order_change_subscription.is_none());
    assert!(p.sandbox.subscriptions().is_empty());

    // A notification already on its way for an account now disabled is dropped, not failed.
    account.enabled = false;
    p.ports.accounts.put_account(&account).await.unwrap();
    let body = serde_json::json!({"NotificationVersion": "1.0", "NotificationType": "ORDER_CHANGE", "PayloadVersion": "1.0",
        "EventTime": "2026-12-01T10:00:00Z", "Payload": {"OrderChangeNotification": {"NotificationLevel": "OrderLevel",
        "SellerId": p.seller.amazon().seller_id, "AmazonOrderId": "302-0000000-0000001", "OrderChangeType": "OrderStatusChange"}},
        "NotificationMetadata": {"NotificationId": "n-1"}});
    p.sqs.send_message().queue_url(&queue.queue_url).message_body(body.to_string()).send().await.unwrap();
    assert_eq!(deliver_notifications(&p, &queue).await, 1);
    assert_eq!(p.sandbox.request_count("getOrder"), 0);
}
