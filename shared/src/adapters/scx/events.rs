//! SCX seller events as deliveries: one [`Delivery`] per event, its changes or why it could not
//! be read. The event id is the receipt that acknowledges it.

use super::order::{self, item_id, order_ref, order_state, ItemStatus};
use super::wire::{parse_time, Fields, Invalid};
use crate::domain::{AccountId, ChangeKind, LineQuantity, OrderChange};
use crate::ports::{Delivery, RawDelivery, RejectedOrder};
use chrono::{DateTime, Utc};
use serde_json::Value;

pub const ORDER_NEW: &str = "Channel:Order.New";
pub const ORDER_STATUS_UPDATE: &str = "Channel:Order.StatusUpdate";
pub const ORDER_ADDRESS_UPDATE: &str = "Channel:Order.AddressUpdate";
pub const ORDER_CANCELLATION_REQUEST: &str = "Channel:Order.Cancellation.Request";
pub const ORDER_RETURN: &str = "Channel:Order.Return";

/// The event types Orderbridge reads (`eventTypeFilter`); listing results and other events are
/// left in the feed for whoever reads them.
pub const ORDER_EVENT_TYPES: [&str; 5] =
    [ORDER_NEW, ORDER_STATUS_UPDATE, ORDER_ADDRESS_UPDATE, ORDER_CANCELLATION_REQUEST, ORDER_RETURN];

/// Start of a rejected event's JSON kept for the operator.
const RAW_EXCERPT_CHARS: usize = 2000;

/// One event of `GET /v2/seller/event`'s `eventList` as a delivery.
pub fn delivery(account: &AccountId, envelope: &Value, now: DateTime<Utc>) -> Delivery {
    let fields = Fields::new(envelope, "");
    let receipt = fields.opt_str("id").ok().flatten().filter(|id| !id.trim().is_empty()).map(str::to_string);
    let kind = fields.opt_str("type").ok().flatten().unwrap_or_default().to_string();
    let created_at = fields.opt_str("createdAt").ok().flatten().and_then(parse_time);
    let order_id = envelope.get("event").and_then(|e| order_ref(Fields::new(e, "event")).ok()).map(|o| o.id);
    let raw = receipt.as_ref().map(|id| RawDelivery {
        id: id.clone(),
        marketplace_order_id: order_id.as_ref().map(ToString::to_string),
        kind: kind.clone(),
        created_at: created_at.unwrap_or(now),
        body: envelope.to_string(),
    });
    let content = changes(envelope).map_err(|invalid| RejectedOrder {
        account_id: account.clone(),
        marketplace_order_id: order_id.map(|id| id.to_string()),
        reason: format!("{} event: {invalid}", if kind.is_empty() { "an" } else { &kind }),
        raw_excerpt: crate::adapters::redact::redacted_excerpt(envelope, RAW_EXCERPT_CHARS),
        rejected_at: now,
        resolved_at: None,
    });
    Delivery { receipt, content, raw }
}

/// What one event says, as changes of its order.
pub fn changes(envelope: &Value) -> Result<Vec<OrderChange>, Invalid> {
    let fields = Fields::new(envelope, "");
    // Every event has an id (what acknowledges it), even if no change names it.
    fields.str("id")?;
    let created_at = fields.time("createdAt")?;
    let kind = fields.str("type")?;
    let payload = fields
        .get("event")
        .filter(|e| e.is_object())
        .ok_or_else(|| Invalid::new("event", "is not an object"))?;
    let event = Fields::new(payload, "event");
    if kind == ORDER_NEW {
        return Ok(vec![order::parse_order(event)?.into()]);
    }
    let order = order_ref(event)?;
    let change = |kind: ChangeKind| OrderChange {
        order_id: order.id.clone(),
        sales_channel: order.channel.clone(),
        changed_at: created_at,
        kind,
    };
    let kinds = match kind {
        ORDER_STATUS_UPDATE => status_update(event)?,
        ORDER_ADDRESS_UPDATE => {
            let customer = order::customer(event)?
                .ok_or_else(|| Invalid::new(event.field("shippingAddress"), "is missing"))?;
            vec![ChangeKind::BuyerChanged(customer)]
        }
        ORDER_CANCELLATION_REQUEST => vec![ChangeKind::CancellationRequested {
            request_id: event.str("orderCancellationRequestId")?.to_string(),
            units: units(event)?,
            reason: event.opt_str("cancelReason")?.map(str::to_string),
            respond_until: None,
        }],
        ORDER_RETURN => {
            // Each return counts once: by the channel's id.
            // Without the channel's id, the announcement's own content identifies it: a
            // duplicate (same payload, maybe another event id) counts once.
            let return_id = match event.opt_str("channelReturnId")? {
                Some(id) => id.to_string(),
                None => format!("content-{:016x}", fnv1a(payload.to_string().as_bytes())),
            };
            vec![ChangeKind::Returned { units: units(event)?, return_id: Some(return_id) }]
        }
        _ => return Err(Invalid::new("type", "is not an order event Orderbridge reads")),
    };
    Ok(kinds.into_iter().map(change).collect())
}

/// JTL's `OrderStatusUpdate`: the order's status and the named lines' statuses. Line statuses
/// carry no quantities, so they apply to the whole line (as far as its units allow).
fn status_update(event: Fields<'_>) -> Result<Vec<ChangeKind>, Invalid> {
    let mut kinds = Vec::new();
    if let Some(state) = order_state(event, "orderStatus")? {
        kinds.push(ChangeKind::StatusChanged(state));
    }
    let mut paid = Vec::new();
    let path = event.field("orderItems");
    for (n, raw) in event.array("orderItems")?.iter().enumerate() {
        let path = format!("{path}[{n}]");
        let item = Fields::new(raw, &path);
        let id = item_id(item)?;
        let whole = || vec![LineQuantity::whole_line(id.clone())];
        match order::item_status(item)? {
            None | Some(ItemStatus::Unshipped) => {}
            Some(ItemStatus::Cancelled) => kinds.push(ChangeKind::Cancelled { units: Some(whole()) }),
            Some(ItemStatus::Shipped) => kinds.push(ChangeKind::Shipped { units: whole() }),
            Some(ItemStatus::Returned) => {
                kinds.push(ChangeKind::Returned { units: whole(), return_id: None })
            }
        }
        match item.opt_str("paymentStatus")? {
            Some("PAID") => paid.push(id),
            None | Some("PENDING") => {}
            Some(_) => return Err(Invalid::new(item.field("paymentStatus"), "is neither PENDING nor PAID")),
        }
    }
    if !paid.is_empty() {
        kinds.push(ChangeKind::PaymentChanged { paid });
    }
    Ok(kinds)
}

/// `orderItem: [{orderItemId, quantity}]` of cancellation requests and returns.
fn units(event: Fields<'_>) -> Result<Vec<LineQuantity>, Invalid> {
    let path = event.field("orderItem");
    let items = event.array("orderItem")?;
    if items.is_empty() {
        return Err(Invalid::new(path, "names no order item"));
    }
    items
        .iter()
        .enumerate()
        .map(|(n, raw)| {
            let path = format!("{path}[{n}]");
            let item = Fields::new(raw, &path);
            Ok(LineQuantity::new(item_id(item)?, item.quantity("quantity")?))
        })
        .collect()
}

/// FNV-1a, 64 bit: a digest that stays the same across Rust releases, since it is stored.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(0xcbf2_9ce4_8422_2325, |hash, b| (hash ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3))
}
