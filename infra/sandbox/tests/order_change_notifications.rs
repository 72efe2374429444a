//! `ORDER_CHANGE` notifications: one per status change, shaped as Amazon's schema says
//! (checked by the harness for every notification read), delivered to SQS over HTTP, at
//! least once and not in order.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use common::{lagless, package, Harness, LONG_AGO, QUEUE_ARN};
use orderbridge_sandbox::{FaultConfig, NewItem, NewOrder, SandboxConfig};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const SELLER: &str = "SANDBOXSELLER1";

fn statuses(notifications: &[Value]) -> Vec<String> {
    notifications
        .iter()
        .map(|n| {
            n["Payload"]["OrderChangeNotification"]["Summary"]["OrderStatus"].as_str().unwrap().to_string()
        })
        .collect()
}

fn notification_id(n: &Value) -> &str {
    n["NotificationMetadata"]["NotificationId"].as_str().unwrap()
}

fn item_ids(h: &Harness, order_id: &str) -> Vec<String> {
    h.sandbox.order_json(order_id).unwrap()["orderItems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["orderItemId"].as_str().unwrap().to_string())
        .collect()
}

fn two_items() -> Vec<NewItem> {
    vec![NewItem::new("OB-MUG-350", 2, 1299), NewItem::new("OB-BOOK-DE", 1, 2400)]
}

/// One `SendMessage` request as the fake queue received it.
#[derive(Clone, Debug)]
struct Received {
    target: Option<String>,
    content_type: Option<String>,
    authorization: Option<String>,
    body: Value,
}

/// A stand-in for SQS's JSON protocol that records what it is sent.
struct FakeSqs {
    endpoint: String,
    received: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeSqs {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Clone)]
struct Queue {
    received: Arc<Mutex<Vec<Received>>>,
    /// Answer every request with SQS's error for an unavailable service.
    refuse: bool,
}

/// The body is read by hand: axum's `Json` wants `application/json`, SQS's protocol is
/// `application/x-amz-json-1.0`.
async fn send_message(State(queue): State<Queue>, headers: HeaderMap, body: Bytes) -> Response {
    let body: Value = serde_json::from_slice(&body).expect("SendMessage body is JSON");
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    queue.received.lock().unwrap().push(Received {
        target: header("x-amz-target"),
        content_type: header("content-type"),
        authorization: header("authorization"),
        body,
    });
    if queue.refuse {
        let error = json!({ "__type": "com.amazonaws.sqs#ServiceUnavailable", "message": "unavailable" });
        return (StatusCode::SERVICE_UNAVAILABLE, Json(error)).into_response();
    }
    Json(json!({ "MessageId": "5fea7756-0ea4-451a-a703-a558b933e274", "MD5OfMessageBody": "0" }))
        .into_response()
}

impl FakeSqs {
    async fn start() -> Self {
        Self::serve(false).await
    }

    /// A queue that answers every `SendMessage` with 503.
    async fn refusing() -> Self {
        Self::serve(true).await
    }

    async fn serve(refuse: bool) -> Self {
        let received = Arc::new(Mutex::new(Vec::new()));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let queue = Queue { received: received.clone(), refuse };
        let app = Router::new().route("/", post(send_message)).with_state(queue);
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { endpoint: format!("http://{addr}"), received, task }
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// The notifications in the order the queue got them.
    fn messages(&self) -> Vec<Value> {
        self.received()
            .iter()
            .map(|r| serde_json::from_str(r.body["MessageBody"].as_str().unwrap()).unwrap())
            .collect()
    }
}

#[tokio::test]
async fn every_status_change_sends_one_notification_per_subscription() {
    let h = Harness::new(lagless()).await;
    let subscription_id = h.subscribe_seller(QUEUE_ARN).await;
    let token = h.token().await;

    let order = h.sandbox.create_order(SELLER, NewOrder::pending(two_items()));
    assert!(h.sandbox.release_payment(&order));
    let items = item_ids(&h, &order);
    let partial = h.confirm(&token, &order, &package("1", &[(&items[0], 2)])).await;
    assert_eq!(partial.status, StatusCode::NO_CONTENT);
    let rest = h.confirm(&token, &order, &package("2", &[(&items[1], 1)])).await;
    assert_eq!(rest.status, StatusCode::NO_CONTENT);
    // A retried confirmation changes nothing, so it tells nothing.
    assert_eq!(
        h.confirm(&token, &order, &package("2", &[(&items[1], 1)])).await.status,
        StatusCode::NO_CONTENT
    );

    let preorder = h.sandbox.create_order(SELLER, NewOrder::preorder(two_items()));
    assert!(h.sandbox.begin_payment_authorization(&preorder));
    let cancelled = h.sandbox.create_order(SELLER, NewOrder::released(two_items()));
    assert!(h.sandbox.cancel(&cancelled));

    let sent = h.notifications().await;
    assert_eq!(
        statuses(&sent),
        [
            "Pending",
            "Unshipped",
            "PartiallyShipped",
            "Shipped",
            "PendingAvailability",
            "Pending",
            "Unshipped",
            "Canceled"
        ]
    );
    let order_ids: Vec<&str> = sent
        .iter()
        .map(|n| n["Payload"]["OrderChangeNotification"]["AmazonOrderId"].as_str().unwrap())
        .collect();
    assert_eq!(order_ids, [&order, &order, &order, &order, &preorder, &preorder, &cancelled, &cancelled]);
    for n in &sent {
        assert_eq!(n["NotificationType"], "ORDER_CHANGE");
        assert_eq!(n["NotificationMetadata"]["SubscriptionId"], subscription_id.as_str());
        let change = &n["Payload"]["OrderChangeNotification"];
        assert_eq!(change["SellerId"], SELLER);
        assert_eq!(change["OrderChangeType"], "OrderStatusChange");
        assert_eq!(change["NotificationLevel"], "OrderLevel");
        assert_eq!(change["Summary"]["MarketplaceId"], "A1PA6795UKMFR9");
    }
    let mut ids: Vec<&str> = sent.iter().map(notification_id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), sent.len(), "each change is a notification of its own");

    let shipped = &sent[3]["Payload"]["OrderChangeNotification"]["Summary"];
    assert_eq!(
        (shipped["NumberOfItemsShipped"].as_u64(), shipped["NumberOfItemsUnshipped"].as_u64()),
        (Some(3), Some(0))
    );
    let partially = &sent[2]["Payload"]["OrderChangeNotification"]["Summary"];
    assert_eq!(partially["OrderItems"][0]["OrderItemStatus"], "Shipped");
    assert_eq!(partially["OrderItems"][1]["OrderItemStatus"], "Unshipped");
    assert_eq!(sent[4]["Payload"]["OrderChangeNotification"]["Summary"]["OrderType"], "Preorder");
}

#[tokio::test]
async fn a_pending_orders_notification_carries_no_buyer_or_price_data() {
    let h = Harness::new(lagless()).await;
    h.subscribe_seller(QUEUE_ARN).await;
    let order = h.sandbox.create_order(SELLER, NewOrder::pending(two_items()));
    let pending = h.notifications().await.remove(0);
    let summary = &pending["Payload"]["OrderChangeNotification"]["Summary"];
    assert_eq!(summary["DestinationPostalCode"], Value::Null);
    assert!(summary.get("LatestDeliveryDate").is_none(), "no latest delivery date while pending");

    h.sandbox.release_payment(&order);
    let released = h.notifications().await.remove(1);
    let postal_code =
        h.sandbox.order_json(&order).unwrap()["recipient"]["deliveryAddress"]["postalCode"].clone();
    let summary = &released["Payload"]["OrderChangeNotification"]["Summary"];
    assert_eq!(summary["DestinationPostalCode"], postal_code);
    assert!(summary["LatestDeliveryDate"].is_string());

    // Neither notification names the buyer or carries money; the pending one not even the
    // postal code.
    for n in [&pending, &released] {
        let text = n.to_string();
        for value in h.sandbox.buyer_field_values() {
            assert!(!text.contains(&value), "a notification shows {value}");
        }
        for money in ["Amount", "Currency", "Price", "Total", "EUR"] {
            assert!(!text.contains(money), "a notification shows {money}");
        }
    }
    assert!(!leaves(&pending).contains(&postal_code), "the pending notification shows the postal code");
}

/// Every scalar in `v`.
fn leaves(v: &Value) -> Vec<Value> {
    match v {
        Value::Object(m) => m.values().flat_map(leaves).collect(),
        Value::Array(a) => a.iter().flat_map(leaves).collect(),
        scalar => vec![scalar.clone()],
    }
}

#[tokio::test]
async fn a_notification_goes_out_before_search_orders_shows_the_order() {
    // Amazon's two-minute window lag.
    let h = Harness::new(SandboxConfig::default()).await;
    h.subscribe_seller(QUEUE_ARN).await;
    let order = h.sandbox.create_order(SELLER, NewOrder::released(two_items()));
    let sent = h.notifications().await;
    assert_eq!(sent[0]["Payload"]["OrderChangeNotification"]["AmazonOrderId"], order.as_str());

    let token = h.token().await;
    let search =
        h.search(&token, &[("lastUpdatedAfter", LONG_AGO), ("marketplaceIds", "A1PA6795UKMFR9")]).await;
    assert_eq!(search.status, StatusCode::OK);
    assert_eq!(search.body["orders"], json!([]), "not searchable inside the window lag yet");
    assert_eq!(h.get_order(&token, &order, "").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_duplicated_notification_carries_the_same_notification_id() {
    let faults = FaultConfig { seed: 1, duplicate_notification_percent: 100, ..FaultConfig::none() };
    let h = Harness::new(SandboxConfig { faults, ..lagless() }).await;
    h.subscribe_seller(QUEUE_ARN).await;
    h.sandbox.create_order(SELLER, NewOrder::pending(two_items()));
    let sent = h.notifications().await;
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0], sent[1], "a duplicate is the same message");
    assert_eq!(notification_id(&sent[0]), notification_id(&sent[1]));
    assert_eq!(h.sandbox.fault_counts().get("delivery/duplicate"), Some(&1));
}

#[tokio::test]
async fn notifications_reach_the_queue_as_sqs_send_message_requests() {
    let sqs = FakeSqs::start().await;
    let h = Harness::new(SandboxConfig { sqs_endpoint: Some(sqs.endpoint.clone()), ..lagless() }).await;
    h.subscribe_seller(QUEUE_ARN).await;
    let order = h.sandbox.create_order(SELLER, NewOrder::pending(two_items()));
    h.sandbox.release_payment(&order);

    let sent = h.notifications().await;
    let received = sqs.received();
    assert_eq!(received.len(), 2);
    for r in &received {
        assert_eq!(r.target.as_deref(), Some("AmazonSQS.SendMessage"));
        assert_eq!(r.content_type.as_deref(), Some("application/x-amz-json-1.0"));
        assert!(r.authorization.as_deref().unwrap().contains("/eu-central-1/sqs/aws4_request"));
        assert_eq!(
            r.body["QueueUrl"].as_str(),
            Some(format!("{}/123456789012/orderbridge-order-changes", sqs.endpoint).as_str())
        );
    }
    assert_eq!(sqs.messages(), sent, "the message body is the notification as sent");
    assert_eq!(statuses(&sqs.messages()), ["Pending", "Unshipped"]);
    assert_eq!(h.sandbox.notification_delivery_failures(), 0);
}

#[tokio::test]
async fn a_delayed_notification_arrives_after_a_later_one() {
    let sqs = FakeSqs::start().await;
    let delayed = FaultConfig {
        seed: 2,
        delayed_notification_percent: 100,
        notification_delay: Duration::from_millis(300),
        ..FaultConfig::none()
    };
    let config = SandboxConfig { sqs_endpoint: Some(sqs.endpoint.clone()), faults: delayed, ..lagless() };
    let h = Harness::new(config).await;
    h.subscribe_seller(QUEUE_ARN).await;

    // No await between the two changes: the payment release is in line before the held
    // back placement can be, however fast the clock runs.
    let order = h.sandbox.create_order(SELLER, NewOrder::pending(two_items()));
    h.sandbox.set_faults(FaultConfig::none());
    h.sandbox.release_payment(&order);

    let sent = h.notifications().await;
    assert_eq!(statuses(&sent), ["Unshipped", "Pending"]);
    assert_eq!(statuses(&sqs.messages()), ["Unshipped", "Pending"]);
    assert_eq!(h.sandbox.fault_counts().get("delivery/delayed"), Some(&1));
}

#[tokio::test]
async fn a_refusing_queue_never_fails_the_call_that_changed_the_order() {
    let sqs = FakeSqs::refusing().await;
    let h = Harness::new(SandboxConfig { sqs_endpoint: Some(sqs.endpoint.clone()), ..lagless() }).await;
    h.subscribe_seller(QUEUE_ARN).await;
    let order = h.sandbox.create_order(SELLER, NewOrder::released(two_items()));
    let items = item_ids(&h, &order);
    let token = h.token().await;
    let r = h.confirm(&token, &order, &package("1", &[(&items[0], 2), (&items[1], 1)])).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(statuses(&h.notifications().await), ["Unshipped", "Shipped"]);
    assert_eq!(h.sandbox.notification_delivery_failures(), 2);
    assert_eq!(sqs.received().len(), 6, "each notification was tried three times");
}

#[tokio::test]
async fn event_filters_and_deleted_subscriptions_hold_notifications_back() {
    let h = Harness::new(lagless()).await;
    let grantless = h.grantless_token().await;
    let seller = h.token().await;
    let destination = h.create_destination(&grantless, "q", QUEUE_ARN).await;
    let destination_id = destination.body["payload"]["destinationId"].clone();
    let subscribe = |filter: Value| {
        json!({
            "payloadVersion": "1.0",
            "destinationId": destination_id,
            "processingDirective": { "eventFilter": filter }
        })
    };
    let only_buyer_requests =
        subscribe(json!({ "eventFilterType": "ORDER_CHANGE", "orderChangeTypes": ["BuyerRequestedChange"] }));
    let path = "/notifications/v1/subscriptions/ORDER_CHANGE";
    let created = h.call(Method::POST, path, &seller, Some(&only_buyer_requests)).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    h.sandbox.create_order(SELLER, NewOrder::released(two_items()));
    assert!(h.notifications().await.is_empty(), "status changes were filtered out");

    let id = created.body["payload"]["subscriptionId"].as_str().unwrap();
    let by_id = format!("{path}/{id}");
    assert_eq!(h.call(Method::DELETE, &by_id, &grantless, None).await.status, StatusCode::OK);
    let other_marketplace =
        subscribe(json!({ "eventFilterType": "ORDER_CHANGE", "marketplaceIds": ["ATVPDKIKX0DER"] }));
    let created = h.call(Method::POST, path, &seller, Some(&other_marketplace)).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    h.sandbox.create_order(SELLER, NewOrder::released(two_items()));
    assert!(h.notifications().await.is_empty(), "orders of another marketplace");

    let id = created.body["payload"]["subscriptionId"].as_str().unwrap();
    assert_eq!(
        h.call(Method::DELETE, &format!("{path}/{id}"), &grantless, None).await.status,
        StatusCode::OK
    );
    h.sandbox.create_order(SELLER, NewOrder::released(two_items()));
    assert!(h.notifications().await.is_empty(), "no subscription, no notification");
}

#[tokio::test]
async fn the_generator_notifies_of_the_orders_it_places_and_settles() {
    use orderbridge_sandbox::GeneratorConfig;
    let generator = GeneratorConfig {
        new_order_every: Duration::from_secs(3600),
        pending_percent: 100,
        release_after: Duration::ZERO,
        cancel_percent: 0,
    };
    let h = Harness::new(SandboxConfig { generator: Some(generator), ..lagless() }).await;
    h.subscribe_seller(QUEUE_ARN).await;
    h.sandbox.tick();
    h.sandbox.tick();
    assert_eq!(statuses(&h.notifications().await), ["Pending", "Unshipped"]);
}
