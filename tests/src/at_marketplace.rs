//! What happens at the marketplace, and what it shows, in the words of the tests that run for
//! every marketplace: an order is placed, released, cancelled; a shipment arrives. Each is
//! translated to the sandbox module of the pipeline's marketplace. Orders are named by the id
//! Orderbridge stores: Amazon's order id, or SCX's `CHANNEL:orderId`.

use crate::Pipeline;
use orderbridge::domain::{Marketplace, OrderStatus};
use orderbridge_sandbox::{EndpointFaults, FaultConfig, NewOrder, NewScxOrder, ScxCancelledBy, ScxOrderKey};
use std::time::Duration;

pub const OTTO: &str = "OTTODE";
pub const KAUFLAND: &str = "KAUFLANDDE";

/// Runs each named `async fn name(marketplace: Marketplace)` as two tests, `amazon::name` and
/// `scx::name`: the same test code proves the guarantee for every marketplace.
#[macro_export]
macro_rules! for_each_marketplace {
    ($($test:ident),* $(,)?) => {
        $crate::for_each_marketplace!(@with #[tokio::test] $($test),*);
    };
    (multi_thread: $($test:ident),* $(,)?) => {
        $crate::for_each_marketplace!(
            @with #[tokio::test(flavor = "multi_thread", worker_threads = 2)] $($test),*
        );
    };
    (@with #[$attr:meta] $($test:ident),*) => {
        mod amazon {
            $( #[$attr] async fn $test() { super::$test(orderbridge::domain::Marketplace::Amazon).await } )*
        }
        mod scx {
            $( #[$attr] async fn $test() { super::$test(orderbridge::domain::Marketplace::Scx).await } )*
        }
    };
}

/// One package as the marketplace received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedPackage {
    /// The id Orderbridge stores the order under.
    pub order_id: String,
    /// Amazon's `packageReferenceId` (SCX has none).
    pub reference: Option<String>,
    pub tracking_number: String,
    /// `(line id, quantity)`, in request order.
    pub lines: Vec<(String, u32)>,
    pub shipping_method: Option<String>,
}

impl Pipeline {
    /// An order placed at the marketplace: `NewOrder::pending` not yet released (Amazon:
    /// `PENDING`; SCX: `CREATED`, no address, unpaid), `NewOrder::released` shippable (Amazon:
    /// `UNSHIPPED`; SCX: `ACCEPTED`, addressed and paid). SCX orders go to the account's
    /// channels in turn.
    pub fn place(&self, order: NewOrder) -> String {
        match self.marketplace {
            // A little while ago, so the import window, ending at "now" in whole seconds,
            // already holds it.
            Marketplace::Amazon => self.sandbox.create_order_at(
                &self.seller.amazon().seller_id,
                order,
                chrono::Utc::now() - chrono::Duration::seconds(30),
            ),
            Marketplace::Scx => {
                let new = if order.pending {
                    NewScxOrder::created(order.items)
                } else {
                    NewScxOrder::accepted(order.items).paid()
                };
                let channel = self.scx_channels[self.sandbox.scx_orders().len() % self.scx_channels.len()];
                self.place_scx(channel, new)
            }
        }
    }

    /// An SCX order placed in `channel`; the id Orderbridge stores it under.
    pub fn place_scx(&self, channel: &str, order: NewScxOrder) -> String {
        let key = self.sandbox.create_scx_order(&self.seller.scx().account_id, channel, order);
        stored_id(&key)
    }

    /// The SCX order stored as `order_id`.
    pub fn scx_key(&self, order_id: &str) -> ScxOrderKey {
        let (channel, id) = order_id.split_once(':').expect("an SCX order id is CHANNEL:orderId");
        let seller_id = self.seller.scx().seller_id(channel).expect("the seller sells there");
        ScxOrderKey { channel: channel.into(), seller_id: seller_id.into(), order_id: id.into() }
    }

    /// The marketplace releases the order (Amazon: payment authorized; SCX: the channel adds
    /// the address, accepts the order and marks it paid). False if it was not pending.
    pub fn release(&self, order_id: &str) -> bool {
        match self.marketplace {
            Marketplace::Amazon => self.sandbox.release_payment(order_id),
            Marketplace::Scx => {
                let key = self.scx_key(order_id);
                self.sandbox.scx_add_address(&key);
                let accepted = self.sandbox.scx_accept(&key);
                self.sandbox.scx_mark_paid(&key, &[]);
                accepted
            }
        }
    }

    /// The buyer (or the marketplace) cancels the whole order.
    pub fn cancel(&self, order_id: &str) -> bool {
        match self.marketplace {
            Marketplace::Amazon => self.sandbox.cancel(order_id),
            Marketplace::Scx => self.sandbox.scx_cancel(&self.scx_key(order_id), ScxCancelledBy::Buyer, &[]),
        }
    }

    /// The order's status as the marketplace shows it, in Orderbridge's words. SCX freezes an
    /// accepted order's status; its lines tell what was shipped or cancelled since.
    pub fn status_at_marketplace(&self, order_id: &str) -> Option<OrderStatus> {
        match self.marketplace {
            Marketplace::Amazon => Some(match self.sandbox.order_status(order_id)?.as_str() {
                "PENDING" | "PENDING_AVAILABILITY" => OrderStatus::Pending,
                "UNSHIPPED" => OrderStatus::Deliverable,
                "PARTIALLY_SHIPPED" => OrderStatus::PartiallyShipped,
                "SHIPPED" => OrderStatus::Shipped,
                _ => OrderStatus::Cancelled,
            }),
            Marketplace::Scx => {
                let order = self.sandbox.scx_order_summary(&self.scx_key(order_id))?;
                Some(match order["orderStatus"].as_str()? {
                    "CREATED" | "UNACKED" => OrderStatus::Pending,
                    "CANCELED_BY_BUYER" | "CANCELED_BY_SELLER" => OrderStatus::Cancelled,
                    _ => {
                        let (mut due, mut shipped) = (0, 0);
                        for line in order["lines"].as_array()?.iter().filter(|l| l["type"] == "ITEM") {
                            due += line["quantity"].as_u64()? - line["cancelled"].as_u64()?;
                            shipped += line["shipped"].as_u64()?;
                        }
                        match (due, shipped) {
                            (0, _) => OrderStatus::Cancelled,
                            (d, s) if s >= d => OrderStatus::Shipped,
                            (_, 0) => OrderStatus::Deliverable,
                            _ => OrderStatus::PartiallyShipped,
                        }
                    }
                })
            }
        }
    }

    /// Every package the marketplace received, in order of arrival (repeats too).
    pub fn received_packages(&self) -> Vec<ReceivedPackage> {
        match self.marketplace {
            Marketplace::Amazon => self
                .sandbox
                .confirmations()
                .into_iter()
                .map(|c| ReceivedPackage {
                    order_id: c.order_id,
                    reference: Some(c.package_reference_id),
                    tracking_number: c.tracking_number,
                    lines: c.items,
                    shipping_method: c.shipping_method,
                })
                .collect(),
            Marketplace::Scx => self
                .sandbox
                .scx_shipping_notices()
                .into_iter()
                .flat_map(|notice| {
                    let order_id = stored_id(&notice.order);
                    notice.packages.into_iter().map(move |package| ReceivedPackage {
                        order_id: order_id.clone(),
                        reference: None,
                        tracking_number: package.tracking_number,
                        lines: package.lines,
                        shipping_method: None,
                    })
                })
                .collect(),
        }
    }

    /// Packages the marketplace received again (Amazon: a repeated confirmation it absorbed;
    /// SCX: a shipping notice repeating a tracking number).
    pub fn repeated_packages(&self) -> u64 {
        match self.marketplace {
            Marketplace::Amazon => self.sandbox.duplicate_confirmations(),
            Marketplace::Scx => self.sandbox.scx_duplicate_shipping_notices(),
        }
    }

    /// Requests for new orders and changes (Amazon: `searchOrders`; SCX: the event feed).
    pub fn change_requests(&self) -> u64 {
        match self.marketplace {
            Marketplace::Amazon => self.sandbox.request_count("searchOrders"),
            Marketplace::Scx => self.sandbox.request_count("scxGetEvents"),
        }
    }

    /// Requests reporting a shipment (answered or not; Amazon: `confirmShipment`; SCX: the
    /// shipping notice).
    pub fn shipment_requests(&self) -> u64 {
        match self.marketplace {
            Marketplace::Amazon => self.sandbox.request_count("confirmShipment"),
            Marketplace::Scx => self.sandbox.request_count("scxShipping"),
        }
    }

    /// Access tokens the client asked for.
    pub fn token_requests(&self) -> u64 {
        match self.marketplace {
            Marketplace::Amazon => self.sandbox.request_count("token"),
            Marketplace::Scx => self.sandbox.request_count("scxAuth"),
        }
    }

    /// The orders the marketplace serves malformed (their ids as Orderbridge would store them).
    pub fn rejectable_order_ids(&self) -> Vec<String> {
        match self.marketplace {
            Marketplace::Amazon => self.sandbox.rejectable_order_ids(),
            Marketplace::Scx => self.sandbox.scx_rejectable_orders().iter().map(stored_id).collect(),
        }
    }

    /// The marketplace down: every request for orders and changes answers 500.
    pub fn outage(&self) -> FaultConfig {
        let down = EndpointFaults { server_error_percent: 100, ..EndpointFaults::none() };
        match self.marketplace {
            Marketplace::Amazon => {
                FaultConfig { search_orders: down, get_order: down, ..FaultConfig::none() }
            }
            Marketplace::Scx => FaultConfig { scx_events: down, ..FaultConfig::none() },
        }
    }

    /// Time passes until the marketplace shows again what the last run saw: Amazon's next
    /// window (they end at whole seconds) overlaps the last one; SCX's events that were not
    /// acknowledged come back after their visibility timeout.
    pub async fn time_passes(&self) {
        match self.marketplace {
            Marketplace::Amazon => tokio::time::sleep(Duration::from_millis(1100)).await,
            Marketplace::Scx => {
                self.sandbox.scx_expire_visibility();
            }
        }
    }

    /// SCX: the events delivered but not acknowledged come back now (as after their
    /// visibility timeout). Amazon keeps nothing back.
    pub fn redeliver_unacknowledged(&self) {
        if self.marketplace == Marketplace::Scx {
            self.sandbox.scx_expire_visibility();
        }
    }

    /// Nothing the marketplace still has to deliver (SCX: no event waits for acknowledgement).
    pub fn nothing_left_to_deliver(&self) -> bool {
        match &self.seller {
            crate::Seller::Amazon(_) => true,
            crate::Seller::Scx(seller) => self.sandbox.scx_pending_events(&seller.account_id).is_empty(),
        }
    }
}

/// The id Orderbridge stores an SCX order under.
pub fn stored_id(key: &ScxOrderKey) -> String {
    format!("{}:{}", key.channel, key.order_id)
}

impl Pipeline {
    /// The ids of the SCX events of `kind` about the order the sandbox has emitted, in queue
    /// order (duplicates too).
    pub fn scx_event_ids_of(&self, order_id: &str, kind: &str) -> Vec<String> {
        let key = self.scx_key(order_id);
        self.sandbox
            .scx_events_emitted()
            .iter()
            .filter(|e| e["type"] == kind && e["event"]["orderId"] == key.order_id.as_str())
            .filter(|e| e["event"]["channel"] == key.channel.as_str())
            .map(|e| e["id"].as_str().unwrap().to_string())
            .collect()
    }

    /// The SCX seller account's events still waiting for acknowledgement.
    pub fn scx_pending_events(&self) -> Vec<serde_json::Value> {
        self.sandbox.scx_pending_events(&self.seller.scx().account_id)
    }
}
