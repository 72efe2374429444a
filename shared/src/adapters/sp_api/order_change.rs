//! Reading an `ORDER_CHANGE` notification as Amazon delivers it to the order-change queue (the
//! schema is `OrderChangeNotification.json`). Only what tells which order to look at is read;
//! the order itself is then fetched with `getOrder`, which also brings buyer data once
//! released. The notification's summary is never trusted for state: notifications repeat and
//! arrive out of order.

use crate::domain::{Marketplace, MarketplaceOrderId};
use crate::ports::OrderChangeNotice;
use serde_json::Value;

/// `None` when `body` is not an Amazon notification at all (e.g. a status check); an error
/// naming the field when it is one but can't be read.
pub fn order_change_notice(body: &str) -> Option<Result<OrderChangeNotice, String>> {
    let value: Value = serde_json::from_str(body).ok()?;
    let kind = value.get("NotificationType")?.as_str()?;
    Some(read(&value, kind))
}

fn read(value: &Value, kind: &str) -> Result<OrderChangeNotice, String> {
    if kind != "ORDER_CHANGE" {
        return Err(format!("NotificationType {kind:?} is not ORDER_CHANGE"));
    }
    let text = |pointer: &str| {
        value
            .pointer(pointer)
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .map(str::to_string)
            .ok_or_else(|| {
                format!("field {} missing or not a string", pointer.trim_start_matches('/').replace('/', "."))
            })
    };
    let change = "/Payload/OrderChangeNotification";
    let order_id = MarketplaceOrderId::parse(text(&format!("{change}/AmazonOrderId"))?)
        .map_err(|e| format!("field Payload.OrderChangeNotification.AmazonOrderId: {e}"))?;
    Ok(OrderChangeNotice {
        marketplace: Marketplace::Amazon,
        seller_id: text(&format!("{change}/SellerId"))?,
        order_id,
        notification_id: text("/NotificationMetadata/NotificationId").unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amazons_example_names_seller_and_order() {
        let body = r#"{"NotificationVersion":"1.0","NotificationType":"ORDER_CHANGE","PayloadVersion":"1.0",
            "EventTime":"2020-01-11T00:09:53.109Z","Payload":{"OrderChangeNotification":{"NotificationLevel":"OrderLevel",
            "SellerId":"A3TH9S8BH6GOGM","AmazonOrderId":"903-8868176-2219830","OrderChangeType":"OrderStatusChange",
            "OrderChangeTrigger":{"TimeOfOrderChange":"2022-11-29T19:42:04.284Z","ChangeReason":"Order status changed"},
            "Summary":{"MarketplaceId":"ATVPDKIKX0DER","OrderStatus":"Unshipped"}}},
            "NotificationMetadata":{"ApplicationId":"app","SubscriptionId":"sub","PublishTime":"2020-07-13T19:42:04.284Z",
            "NotificationId":"d0e9e693"}}"#;
        let notice = order_change_notice(body).unwrap().unwrap();
        assert_eq!(notice.seller_id, "A3TH9S8BH6GOGM");
        assert_eq!(notice.order_id.as_str(), "903-8868176-2219830");
        assert_eq!(notice.notification_id, "d0e9e693");
    }

    #[test]
    fn a_status_check_is_not_a_notification() {
        assert!(order_change_notice(r#"{"account_id":"a","marketplace_order_id":"1","attempt":0}"#).is_none());
        assert!(order_change_notice("not json").is_none());
    }

    #[test]
    fn a_broken_notification_names_the_field() {
        let error =
            order_change_notice(r#"{"NotificationType":"ORDER_CHANGE","Payload":{}}"#).unwrap().unwrap_err();
        assert!(error.contains("AmazonOrderId"), "{error}");
    }
}
