//! [`MarketplaceClient`] for SCX: the event feed, shipping notices and decisions.

use super::events::{self, ORDER_EVENT_TYPES};
use super::http::ScxClient;
use super::shipping;
use crate::adapters::outbound::{is_token_rejection, ApiRequest};
use crate::domain::{
    Decision, DecisionKind, MarketplaceOrder, MarketplaceOrderId, OrderChange, Package, SalesOrder,
};
use crate::ports::{
    AccessCheck, ChangeBatch, FeedPosition, MarketplaceClient, MarketplaceError, RawDelivery, RejectedOrder,
    Subscription,
};
use crate::Deadline;
use async_trait::async_trait;
use chrono::Utc;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

/// Fetched events become invisible for 5 minutes and then come again unless acknowledged. A
/// batch (up to 100 events) is fetched only when the invocation has at least this long left to
/// store every event and acknowledge them; with less, fetching would only hide the events and
/// have them delivered twice. Generous: a batch is up to 100 store writes plus the `DELETE`,
/// each of which may be retried.
pub const MIN_TIME_FOR_A_BATCH: Duration = Duration::from_secs(60);

/// Events per `GET /v2/seller/event` (JTL: at most 100), and ids per `DELETE` (1 to 100).
const PAGE_SIZE: usize = 100;

impl ScxClient {
    /// The `sellerId` the order came under (each channel gives the seller its own), or the
    /// account's for orders stored before it was kept.
    fn seller_id_of<'o>(&'o self, order: &'o SalesOrder) -> &'o str {
        order.marketplace_seller_id.as_deref().unwrap_or(&self.settings.seller_id)
    }

    fn unreadable_kept(&self, raw: &RawDelivery, reason: String) -> RejectedOrder {
        RejectedOrder {
            account_id: self.account.clone(),
            marketplace_order_id: raw.marketplace_order_id.clone(),
            reason: format!("kept {} event {}: {reason}", raw.kind, raw.id),
            raw_excerpt: String::new(),
            rejected_at: Utc::now(),
            resolved_at: None,
        }
    }

    fn bad_response(&self, operation: &'static str, message: impl Into<String>) -> MarketplaceError {
        MarketplaceError::BadResponse { account: self.account.clone(), operation, message: message.into() }
    }

    fn refused(&self, operation: &'static str, message: impl Into<String>) -> MarketplaceError {
        MarketplaceError::Refused { account: self.account.clone(), operation, message: message.into() }
    }

    /// One `GET /v2/seller/event` of the order event types, for one channel or all.
    async fn events(
        &self,
        channel: Option<&str>,
        deadline: Deadline,
    ) -> Result<Vec<Value>, MarketplaceError> {
        const OPERATION: &str = "getEvents";
        let mut request = ApiRequest::new(OPERATION, Method::GET, self.url(&["v2", "seller", "event"])?)
            .query("eventTypeFilter", ORDER_EVENT_TYPES.join(","));
        if let Some(channel) = channel {
            request = request.query("channel", channel);
        }
        let response = self.send(&request, deadline).await?;
        if response.status != StatusCode::OK {
            return Err(self.bad_response(OPERATION, format!("unexpected HTTP {}", response.status)));
        }
        match response.body.get("eventList") {
            Some(Value::Array(list)) => Ok(list.clone()),
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(_) => Err(self.bad_response(OPERATION, "eventList is not a list")),
        }
    }

    /// Whether this account reads the channel's events (JTL-Wawi may own the others).
    fn reads_channel(&self, channel: Option<&str>) -> bool {
        self.settings.channels.is_empty()
            || channel.is_some_and(|c| self.settings.channels.iter().any(|o| o == c))
    }

    /// The channel and the channel's `orderId` of an order of this account.
    fn order_address<'o>(&self, order: &'o SalesOrder) -> Result<(&'o str, &'o str), MarketplaceError> {
        let id = order.key.marketplace_order_id.as_str();
        let channel = order.sales_channel.as_str();
        id.strip_prefix(channel)
            .and_then(|rest| rest.strip_prefix(':'))
            .map(|order_id| (channel, order_id))
            .ok_or_else(|| MarketplaceError::InvalidOrder {
                account: self.account.clone(),
                order: id.to_string(),
                reason: format!("is not an SCX order id of channel {channel}"),
            })
    }

    /// A seller call JTL answers 201 when it took it; sent once (see [`ScxClient::send_once`]).
    async fn put(
        &self,
        operation: &'static str,
        route: &str,
        body: Value,
        deadline: Deadline,
    ) -> Result<(), MarketplaceError> {
        let url = self.url(&["v1", "seller", "order", route])?;
        let response =
            self.send_once(&ApiRequest::new(operation, Method::PUT, url).json(body), deadline).await?;
        match response.status {
            status if status.is_success() => Ok(()),
            status if is_token_rejection(status) => Err(MarketplaceError::Credentials {
                account: self.account.clone(),
                message: format!("the hub rejected fresh session tokens for {operation}"),
            }),
            StatusCode::NOT_FOUND => {
                Err(self.refused(operation, "the hub does not know the order or request"))
            }
            status => Err(self.refused(operation, format!("HTTP {status}"))),
        }
    }
}

#[async_trait]
impl MarketplaceClient for ScxClient {
    async fn fetch_changes(
        &self,
        _position: Option<&FeedPosition>,
        deadline: Deadline,
    ) -> Result<ChangeBatch, MarketplaceError> {
        let channels: Vec<Option<&str>> = if self.settings.channels.is_empty() {
            vec![None]
        } else {
            self.settings.channels.iter().map(|c| Some(c.as_str())).collect()
        };
        let mut deliveries = Vec::new();
        let mut more = false;
        for channel in channels {
            if deadline.remaining() < MIN_TIME_FOR_A_BATCH {
                tracing::info!(account = %self.account, "too little invocation time left to store and acknowledge a batch of events; not fetching");
                // Not looked at, so not known to be empty: the next run goes on.
                more = true;
                break;
            }
            let listed = self.events(channel, deadline).await?;
            more |= listed.len() >= PAGE_SIZE;
            let now = Utc::now();
            for envelope in &listed {
                let event_channel = envelope.pointer("/event/channel").and_then(Value::as_str);
                if !self.reads_channel(event_channel) || (channel.is_some() && event_channel != channel) {
                    // Never acknowledged here: another reader of the seller account owns it.
                    tracing::warn!(account = %self.account, "an event of a channel this account does not read was listed; left alone");
                    continue;
                }
                deliveries.push(events::delivery(&self.account, envelope, now));
            }
        }
        Ok(ChangeBatch { deliveries, next_position: None, more, imported_until: None })
    }

    async fn acknowledge(&self, receipts: &[String], deadline: Deadline) -> Result<(), MarketplaceError> {
        const OPERATION: &str = "ackEvents";
        for chunk in receipts.chunks(PAGE_SIZE) {
            let url = self.url(&["v2", "seller", "event"])?;
            let request =
                ApiRequest::new(OPERATION, Method::DELETE, url).json(json!({ "eventIdList": chunk }));
            let response = self.send(&request, deadline).await?;
            if !response.status.is_success() {
                return Err(self.bad_response(OPERATION, format!("unexpected HTTP {}", response.status)));
            }
        }
        Ok(())
    }

    fn reads_orders(&self) -> bool {
        false
    }

    fn reread_delivery(&self, raw: &RawDelivery) -> Option<Result<Vec<OrderChange>, RejectedOrder>> {
        // The kept body is the event envelope as received: read exactly as the feed's.
        let Ok(envelope) = serde_json::from_str::<Value>(&raw.body) else {
            return Some(Err(self.unreadable_kept(raw, "the kept body is not JSON".into())));
        };
        Some(events::changes(&envelope).map_err(|invalid| self.unreadable_kept(raw, invalid.to_string())))
    }

    async fn get_order(
        &self,
        _id: &MarketplaceOrderId,
        _deadline: Deadline,
    ) -> Result<Option<MarketplaceOrder>, MarketplaceError> {
        Err(self.refused("getOrder", "SCX has no order query"))
    }

    /// Every shipping notice becomes an event at the channel, repeats included.
    fn confirms_idempotently(&self) -> bool {
        false
    }

    /// The channel confirms completely shipped lines with a `SHIPPED` item status, which the
    /// feed brings into the stored order; partly shipped lines say nothing.
    async fn shipment_on_record(
        &self,
        order: &SalesOrder,
        package: &Package,
        _deadline: Deadline,
    ) -> Result<Option<bool>, MarketplaceError> {
        let shipped = package.lines.iter().all(|unit| {
            order.lines.iter().any(|line| {
                line.item_id == unit.item_id && line.quantity_open() == 0 && line.quantity_shipped > 0
            })
        });
        Ok(shipped.then_some(true))
    }

    async fn confirm_shipment(
        &self,
        order: &SalesOrder,
        package: &Package,
        deadline: Deadline,
    ) -> Result<(), MarketplaceError> {
        let (channel, order_id) = self.order_address(order)?;
        let left_out = shipping::unsendable_tracking_ids(package);
        if left_out > 0 {
            tracing::warn!(account = %self.account, order = %order.key.marketplace_order_id, left_out, "more tracking numbers than units: the surplus is not sent");
        }
        let body = shipping::shipping_body(self.seller_id_of(order), channel, order_id, order, package);
        self.put("shipping", "shipping", body, deadline).await
    }

    async fn answer_decision(
        &self,
        order: &SalesOrder,
        decision: &Decision,
        accept: bool,
        deadline: Deadline,
    ) -> Result<(), MarketplaceError> {
        let (channel, order_id) = self.order_address(order)?;
        let seller_id = self.seller_id_of(order);
        match &decision.kind {
            DecisionKind::AcceptOrder => {
                let body = json!({ "orderList": [{
                    "sellerId": seller_id,
                    "channel": channel,
                    "orderId": order_id,
                    "orderAccepted": accept,
                }]});
                self.put("acceptOrder", "accept", body, deadline).await
            }
            DecisionKind::Cancellation { .. } => {
                let body = json!({
                    "sellerId": seller_id,
                    "channel": channel,
                    "orderCancellationRequestId": decision.id,
                });
                if accept {
                    self.put("acceptCancellation", "cancellation-accept", body, deadline).await
                } else {
                    self.put("denyCancellation", "cancellation-deny", body, deadline).await
                }
            }
        }
    }

    /// A session token proves the credentials. The feed is not read: listed events would hide
    /// for 5 minutes.
    async fn check_access(&self, deadline: Deadline) -> Result<AccessCheck, MarketplaceError> {
        self.new_session(deadline).await?;
        Ok(AccessCheck { order_change_subscription: None })
    }

    async fn subscribe_order_changes(
        &self,
        _destination: &str,
        _deadline: Deadline,
    ) -> Result<Subscription, MarketplaceError> {
        Ok(Subscription::NotSupported)
    }

    async fn unsubscribe_order_changes(&self, _deadline: Deadline) -> Result<(), MarketplaceError> {
        Ok(())
    }
}
