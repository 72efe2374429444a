//! The seller event feed: every seller account has one queue of channel events, delivered
//! first in, first out, at least once.
//!
//! What JTL documents for `GET /v2/seller/event`: up to 100 unacknowledged events in FIFO
//! order; "Each event is delivered At-Least-Once. There is no guarantee about uniqueness. You
//! may see Events with an identical payload multiple times"; events are acknowledged by id with
//! `DELETE /v2/seller/event`; an unacknowledged event becomes invisible for 5 minutes, then
//! visible again. Filters: `createdAfter`, `eventTypeFilter` (comma-separated), `channel`.
//!
//! What the sandbox assumes where JTL says nothing: acknowledging an unknown or already
//! acknowledged id is no error (the id is skipped and the call answered `204`); an event is
//! redelivered any number of times (the Channel API's "at most 10 deliveries, then dead
//! letter" is documented for channels only); a type or channel in the filters that the
//! sandbox does not know simply matches nothing; `createdAt` has whole seconds (as in JTL's
//! examples) and `createdAfter` lists events created strictly later, so events of the same
//! second as `createdAfter` are not listed.

use std::time::Instant;

use chrono::{DateTime, SubsecRound, Utc};
use serde_json::{json, Value};

use crate::model::State;
use crate::rng::Rng;

/// A new order, the channel's whole order (JTL: "New Orders"). Type name assumed.
pub(crate) const ORDER_NEW: &str = "Channel:Order.New";
/// Order or line status changes, payment status included (JTL: "Order status changes"; the
/// payload is the Channel API's `OrderStatus`). Type name assumed.
pub(crate) const ORDER_STATUS_UPDATE: &str = "Channel:Order.StatusUpdate";
/// Billing/shipping address and buyer (JTL: "Order Address changes"; the payload is the
/// Channel API's `OrderAddressUpdate`). Type name assumed.
pub(crate) const ORDER_ADDRESS_UPDATE: &str = "Channel:Order.AddressUpdate";
/// A buyer's or marketplace's cancellation request the seller has to accept or deny (the
/// payload is the Channel API's `OrderCancellationRequest`). Type name assumed, after the
/// channel side's `Seller:Order.Cancellation.Request`.
pub(crate) const ORDER_CANCELLATION_REQUEST: &str = "Channel:Order.Cancellation.Request";
/// A return announced by the channel (named so in JTL's developer guide; the payload is the
/// Channel API's `ReturnAnnouncement`).
pub(crate) const ORDER_RETURN: &str = "Channel:Order.Return";

/// The event types the sandbox sends (all but `Channel:Order.Return` named by assumption).
pub const EVENT_TYPES: [&str; 5] =
    [ORDER_NEW, ORDER_STATUS_UPDATE, ORDER_ADDRESS_UPDATE, ORDER_CANCELLATION_REQUEST, ORDER_RETURN];

/// Events per `GET /v2/seller/event` ("Maximum array length: 100").
pub(crate) const MAX_EVENTS_PER_CALL: usize = 100;

/// An event in a seller account's queue, not yet acknowledged.
#[derive(Clone, Debug)]
pub(crate) struct QueuedEvent {
    pub id: String,
    /// Queue position: delivery order.
    pub seq: u64,
    pub account_id: String,
    pub channel: String,
    pub kind: &'static str,
    pub created: DateTime<Utc>,
    pub payload: Value,
    /// Delivered and not yet visible again.
    pub invisible_until: Option<Instant>,
    pub deliveries: u32,
}

impl QueuedEvent {
    /// `{id, createdAt, type, event}`, as `GET /v2/seller/event` lists it.
    pub(crate) fn envelope(&self) -> Value {
        json!({
            "id": self.id,
            "createdAt": event_time(self.created),
            "type": self.kind,
            "event": self.payload,
        })
    }
}

/// An event's `createdAt` as JTL's seller-event example writes it:
/// `2020-08-06T06:40:18+0000` (offset without colon; no fractional seconds).
pub(crate) fn event_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%z").to_string()
}

/// Timestamps inside payloads and token answers, as JTL's examples write them:
/// `2019-01-13T12:00:00+00:00`.
pub(crate) fn wire_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// RFC 3339, or JTL's `+0000` variant.
pub(crate) fn parse_wire_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    DateTime::parse_from_rfc3339(s)
        .or_else(|_| DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%z"))
        .or_else(|_| DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// 24 hex digits, like the ids in JTL's examples (`5cde84164d811d00144581f8`): a MongoDB
/// ObjectId, whose first 4 bytes are the creation time.
pub(crate) fn event_id(rng: &mut Rng, now: DateTime<Utc>) -> String {
    const HEX: &[u8] = b"0123456789abcdef";
    format!("{:08x}{}", now.timestamp().max(0) as u32, rng.string(HEX, 16))
}

/// `GET /v2/seller/event`'s filters.
#[derive(Debug, Default)]
pub(crate) struct Filter {
    pub created_after: Option<DateTime<Utc>>,
    pub types: Option<Vec<String>>,
    pub channel: Option<String>,
}

impl Filter {
    fn matches(&self, e: &QueuedEvent) -> bool {
        self.created_after.is_none_or(|after| e.created > after)
            && self.types.as_ref().is_none_or(|types| types.iter().any(|t| t == e.kind))
            && self.channel.as_ref().is_none_or(|c| *c == e.channel)
    }
}

impl State {
    /// Puts a channel event into the account's queue (twice, with the duplicate fault).
    pub(crate) fn scx_emit(
        &mut self,
        account_id: &str,
        channel: &str,
        kind: &'static str,
        payload: Value,
        now: DateTime<Utc>,
    ) {
        let copies = if self.faults.scx_duplicate_event() { 2 } else { 1 };
        // Whole seconds, as `createdAt` shows it, so that `createdAfter` compares what the
        // seller saw.
        let now = now.trunc_subsecs(0);
        for _ in 0..copies {
            let scx = &mut self.scx;
            let event = QueuedEvent {
                id: event_id(&mut scx.id_rng, now),
                seq: scx.next_seq(),
                account_id: account_id.to_string(),
                channel: channel.to_string(),
                kind,
                created: now,
                payload: payload.clone(),
                invisible_until: None,
                deliveries: 0,
            };
            tracing::info!(event_id = %event.id, event_type = kind, channel, "channel event queued");
            scx.emitted.push(event.envelope());
            scx.queue.push(event);
        }
    }

    /// Delivers up to 100 visible events of the account that match `filter`, oldest queue
    /// position first, and hides them for the visibility timeout.
    pub(crate) fn scx_deliver(&mut self, account_id: &str, filter: &Filter, now: Instant) -> Vec<Value> {
        let timeout = self.config.scx.visibility_timeout;
        // Events whose timeout ended are visible again; some go to the back (reordering).
        let mut back = Vec::new();
        for e in self.scx.queue.iter_mut().filter(|e| e.account_id == account_id) {
            if e.invisible_until.is_some_and(|until| now >= until) {
                e.invisible_until = None;
                if self.faults.scx_reordered_redelivery() {
                    back.push(e.id.clone());
                }
            }
        }
        for id in back {
            if let Some(pos) = self.scx.queue.iter().position(|e| e.id == id) {
                let mut e = self.scx.queue.remove(pos);
                e.seq = self.scx.next_seq();
                self.scx.queue.push(e);
            }
        }
        let mut delivered = Vec::new();
        for e in self.scx.queue.iter_mut() {
            if delivered.len() == MAX_EVENTS_PER_CALL {
                break;
            }
            if e.account_id != account_id || e.invisible_until.is_some() || !filter.matches(e) {
                continue;
            }
            e.invisible_until = Some(now + timeout);
            e.deliveries += 1;
            delivered.push(e.envelope());
        }
        delivered
    }

    /// Removes the account's events with these ids; unknown ids are skipped. The number
    /// removed.
    pub(crate) fn scx_acknowledge(&mut self, account_id: &str, ids: &[String]) -> usize {
        let scx = &mut self.scx;
        let removed: Vec<String> = scx
            .queue
            .iter()
            .filter(|e| e.account_id == account_id && ids.contains(&e.id))
            .map(|e| e.id.clone())
            .collect();
        scx.queue.retain(|e| !removed.contains(&e.id));
        let count = removed.len();
        scx.acknowledged.extend(removed);
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_as_jtl_writes_them_and_both_forms_are_read() {
        let t = DateTime::parse_from_rfc3339("2020-08-06T06:40:18Z").unwrap().with_timezone(&Utc);
        assert_eq!(event_time(t), "2020-08-06T06:40:18+0000");
        assert_eq!(wire_time(t), "2020-08-06T06:40:18+00:00");
        assert_eq!(parse_wire_time("2020-08-06T06:40:18+0000"), Some(t));
        assert_eq!(parse_wire_time("2020-08-06T08:40:18+02:00"), Some(t));
        assert_eq!(parse_wire_time("06.08.2020"), None);
    }

    #[test]
    fn event_ids_are_24_hex_digits_starting_with_the_time() {
        let t = DateTime::from_timestamp(0x5cde_8416, 0).unwrap();
        let id = event_id(&mut Rng::stream(1, 1), t);
        assert_eq!(id.len(), 24);
        assert!(id.starts_with("5cde8416") && id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    }
}
