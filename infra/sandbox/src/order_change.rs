//! `ORDER_CHANGE` notifications, built as `OrderChangeNotification.json` describes them.
//!
//! One notification per change of an order's status (placing an order counts), per
//! subscription of its seller whose event filter lets it through; order level, so one
//! payload carries all items. The summary holds what the schema lists and nothing that
//! Amazon withholds elsewhere: no prices or buyer at all (the schema has no field for them),
//! and the destination postal code only once the delivery address would be shown by the
//! Orders API (payment authorized, status `Unshipped`, `PartiallyShipped` or `Shipped`;
//! `null`, as the schema allows, before). Ship and delivery dates only for seller-fulfilled
//! orders, the latest delivery date not while pending or once cancelled, as the schema's
//! descriptions say.
//!
//! The notification leaves at once, while the order only reaches `searchOrders` after the
//! window lag: a client gets notified of orders it cannot find by searching yet.

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::codec::{self, timestamp};
use crate::delivery::{Outgoing, SqsTarget};
use crate::fake;
use crate::model::{Channel, Order, State, Status};
use crate::notifications::{Subscription, ORDER_CHANGE, ORDER_STATUS_CHANGE};
use crate::render;

impl State {
    /// `order_id`'s status just changed (or it was just placed): notifies every subscription
    /// that wants it. Never fails: delivery happens in the background.
    pub(crate) fn order_changed(&mut self, order_id: &str) {
        let Some(order) = self.order(order_id).cloned() else {
            return;
        };
        let wanting: Vec<usize> =
            (0..self.subscriptions.len()).filter(|&i| self.subscriptions[i].wants(&order)).collect();
        for i in wanting {
            let subscription = &self.subscriptions[i];
            let application_id = self.application_id(&subscription.application);
            let sqs = self
                .destination(&subscription.application, &subscription.destination_id)
                .map(|d| d.sqs.clone());
            let notification_id = fake::uuid(&mut self.notification_rng);
            let subscription = &self.subscriptions[i];
            let notification =
                notification(&order, subscription, &application_id, notification_id, codec::now());
            let target = match (&self.config.sqs_endpoint, sqs) {
                (Some(endpoint), Some(sqs)) => Some(SqsTarget {
                    endpoint: endpoint.clone(),
                    queue_url: sqs.queue_url(endpoint),
                    region: sqs.region,
                }),
                _ => None,
            };
            let decision = self.faults.delivery();
            tracing::info!(
                order_id,
                subscription_id = %subscription.id,
                status = order.status.as_str(),
                duplicate = decision.duplicate,
                delayed = decision.delay.is_some(),
                "ORDER_CHANGE notification"
            );
            self.delivery.send(Outgoing {
                notification,
                target,
                copies: if decision.duplicate { 2 } else { 1 },
                delay: decision.delay,
            });
        }
    }
}

/// `OrderStatus` spells the statuses its own way (`Canceled` with one `l`).
fn order_status(status: Status) -> &'static str {
    match status {
        Status::PendingAvailability => "PendingAvailability",
        Status::Pending => "Pending",
        Status::Unshipped => "Unshipped",
        Status::PartiallyShipped => "PartiallyShipped",
        Status::Shipped => "Shipped",
        Status::Cancelled => "Canceled",
        Status::Unfulfillable => "Unfulfillable",
    }
}

fn put(map: &mut Map<String, Value>, key: &str, value: impl Into<Value>) {
    map.insert(key.to_string(), value.into());
}

/// The notification of `o`'s current state for `subscription`, published at `now`.
pub(crate) fn notification(
    o: &Order,
    subscription: &Subscription,
    application_id: &str,
    notification_id: String,
    now: DateTime<Utc>,
) -> Value {
    let status = order_status(o.status);
    json!({
        "NotificationVersion": "1.0",
        "NotificationType": ORDER_CHANGE,
        "PayloadVersion": subscription.payload_version,
        "EventTime": timestamp(now),
        "Payload": {
            "OrderChangeNotification": {
                "NotificationLevel": "OrderLevel",
                "SellerId": o.seller_id,
                "AmazonOrderId": o.id,
                "OrderChangeType": ORDER_STATUS_CHANGE,
                "OrderChangeTrigger": {
                    "TimeOfOrderChange": timestamp(o.updated),
                    // Free text in the schema; the sandbox names the new status.
                    "ChangeReason": format!("Order status changed to {status}"),
                },
                "Summary": summary(o),
            }
        },
        "NotificationMetadata": {
            "ApplicationId": application_id,
            "SubscriptionId": subscription.id,
            "PublishTime": timestamp(now),
            "NotificationId": notification_id,
        }
    })
}

fn summary(o: &Order) -> Value {
    let mut m = Map::new();
    put(&mut m, "MarketplaceId", o.marketplace_id.clone());
    put(&mut m, "OrderStatus", order_status(o.status));
    put(&mut m, "PurchaseDate", timestamp(o.created));
    let address_shown =
        o.released && matches!(o.status, Status::Unshipped | Status::PartiallyShipped | Status::Shipped);
    put(
        &mut m,
        "DestinationPostalCode",
        if address_shown { json!(o.buyer.postal_code) } else { Value::Null },
    );
    put(&mut m, "FulfillmentType", if o.channel == Channel::Amazon { "AFN" } else { "MFN" });
    put(&mut m, "OrderType", if o.preorder { "Preorder" } else { "StandardOrder" });
    let shipped: u32 = o.items.iter().map(|i| i.shipped).sum();
    let ordered: u32 = o.items.iter().map(|i| i.quantity).sum();
    put(&mut m, "NumberOfItemsShipped", shipped);
    put(&mut m, "NumberOfItemsUnshipped", ordered - shipped);
    if o.is_fbm() {
        let promise = render::promise(o);
        put(&mut m, "EarliestShipDate", timestamp(promise.ship_from));
        put(&mut m, "LatestShipDate", timestamp(promise.ship_by));
        put(&mut m, "EarliestDeliveryDate", timestamp(promise.deliver_from));
        if let Some(latest) = promise.deliver_by {
            put(&mut m, "LatestDeliveryDate", timestamp(latest));
        }
    }
    // "Will display it when items' status are different."
    let item_status = |shipped: bool| if shipped { "Shipped" } else { "Unshipped" };
    let mixed =
        o.items.iter().any(|i| i.shipped == i.quantity) && o.items.iter().any(|i| i.shipped < i.quantity);
    let items: Vec<Value> = o
        .items
        .iter()
        .map(|i| {
            let mut item = Map::new();
            put(&mut item, "OrderItemId", i.id.clone());
            put(&mut item, "SellerSKU", i.sku.clone());
            // Required but nullable: the sandbox has no supply sources.
            put(&mut item, "SupplySourceId", Value::Null);
            if mixed {
                put(&mut item, "OrderItemStatus", item_status(i.shipped == i.quantity));
            }
            put(&mut item, "Quantity", i.quantity);
            put(&mut item, "QuantityShipped", i.shipped);
            Value::Object(item)
        })
        .collect();
    put(&mut m, "OrderItems", items);
    Value::Object(m)
}
