//! A local stand-in for Amazon's Selling Partner API: Orders API 2026-01-01
//! (`searchOrders`, `getOrder`), Orders v0 `confirmShipment`, the Notifications API v1
//! (destinations and subscriptions) with `ORDER_CHANGE` notifications delivered to SQS, and
//! a Login-with-Amazon token endpoint (seller tokens and grantless tokens), serving
//! simulated sellers and orders. The same server serves JTL's sales-channel hub SCX, seller
//! side ([`scx`]): session tokens, the seller event feed and the seller's order calls, for
//! seller accounts selling on several channels.
//!
//! It is written from the official models, independently of the project's client, so
//! the project's tests catch client bugs rather than mirror them: it sends, omits and
//! refuses what Amazon documents (see `render` and `search` for the rules, `notifications`
//! and `order_change` for the Notifications API's), and with the `schema` feature,
//! `schema::AmazonModel` validates JSON against Amazon's own models, vendored under
//! `specs/amazon-sp-api/`.
//!
//! # Notifications
//!
//! An application (each simulated seller's `client_id`) creates an SQS destination with a
//! grantless token (`grant_type=client_credentials`, `scope=sellingpartnerapi::notifications`)
//! and subscribes a seller to `ORDER_CHANGE` with that seller's token. From then on, every
//! status change of the seller's orders (placing one included) sends one notification per
//! subscription, at once and in the background, before the order is visible to
//! `searchOrders` (window lag). With [`SandboxConfig::sqs_endpoint`] set, it is put into the
//! destination's queue with SQS's `SendMessage` (JSON protocol; queue ARN
//! `arn:aws:sqs:<region>:<account-id>:<queue-name>` -> `<sqs_endpoint>/<account-id>/<queue-name>`,
//! moto's URL scheme). As Amazon, the sandbox delivers at least once and not in order:
//! [`FaultConfig`]'s `duplicate_notification_percent` and `delayed_notification_percent`.
//! [`Sandbox::notifications_sent`] lists what was sent, [`Sandbox::deliveries_settled`] waits
//! for what is still on its way.

mod api;
mod codec;
mod config;
mod confirm;
mod control;
mod delivery;
mod fake;
mod fault;
mod generator;
mod lwa;
mod model;
mod notifications;
mod order_change;
mod ratelimit;
mod render;
mod rng;
#[cfg(feature = "schema")]
pub mod schema;
pub mod scx;
mod search;
mod server;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};

pub use config::{GeneratorConfig, Quota, RateLimit, SandboxConfig, ScxConfig, ScxRateLimit};
pub use fault::{EndpointFaults, FaultConfig};
pub use model::{Confirmation, NewItem, NewOrder, SellerCredentials};
pub use notifications::{NotificationDestination, NotificationSubscription};
pub use scx::{
    NewScxOrder, ScxCancelReason, ScxCancelledBy, ScxChannelAccount, ScxInitialStatus, ScxOrderKey,
    ScxReturnReason, ScxSellerCredentials, ScxShippedPackage, ScxShippingNotice,
};

use model::State;
use render::Included;

/// Handle to one simulated marketplace; clones share the same state.
#[derive(Clone)]
pub struct Sandbox {
    inner: Arc<Mutex<State>>,
}

/// A sandbox served on `127.0.0.1`; the server stops when this is dropped.
pub struct RunningSandbox {
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT`, the SP-API endpoint.
    pub base_url: String,
    /// `base_url` + `/auth/o2/token`, the LWA endpoint. (The SCX seller API, its
    /// `POST /v1/auth` included, is served at `base_url` too.)
    pub token_url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RunningSandbox {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Sandbox {
    pub fn new(config: SandboxConfig) -> Self {
        Self { inner: Arc::new(Mutex::new(State::new(config))) }
    }

    /// A poisoned lock only means a test panicked mid-call; the state is still usable.
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds the next seller (`SANDBOXSELLER1`, `SANDBOXSELLER2`, ...).
    pub fn add_seller(&self) -> SellerCredentials {
        self.state().add_seller()
    }

    pub fn sellers(&self) -> Vec<SellerCredentials> {
        self.state().sellers.clone()
    }

    /// The HTTP API as an axum router (what `serve` runs).
    pub fn router(&self) -> axum::Router {
        api::router(self.clone())
    }

    /// Serves on `listener` until the future is dropped or its task aborted (which also
    /// closes every open connection).
    ///
    /// Serve the sandbox this way rather than with `axum::serve(listener, router())`: only
    /// here can the `reset` fault reset a connection cleanly (elsewhere the handler panics,
    /// which closes the connection too, noisily).
    pub async fn serve(&self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        server::serve(listener, self.router()).await
    }

    /// Binds `127.0.0.1:0` and serves in a background task.
    pub async fn start(&self) -> std::io::Result<RunningSandbox> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let sandbox = self.clone();
        let task = tokio::spawn(async move {
            if let Err(e) = sandbox.serve(listener).await {
                tracing::error!(error = %e, "sandbox server stopped");
            }
        });
        let base_url = format!("http://{addr}");
        Ok(RunningSandbox { addr, token_url: format!("{base_url}/auth/o2/token"), base_url, task })
    }

    /// Replaces the fault configuration at run time, e.g. `FaultConfig::none()` for a final
    /// healing phase. The fault streams restart from `faults.seed`; the counters of
    /// [`Sandbox::fault_counts`] carry on, and orders already malformed stay malformed.
    pub fn set_faults(&self, faults: FaultConfig) {
        let mut st = self.state();
        st.faults.set(faults.clone());
        st.config.faults = faults;
    }

    /// How many faults of each kind were injected since the sandbox was created, keyed
    /// `"<endpoint>/<kind>"`: endpoints `token`, `searchOrders`, `getOrder`,
    /// `confirmShipment`, `notifications` (the whole Notifications API), `scxAuth`,
    /// `scxEvents`, `scxOrders`; kinds `throttle`, `server_error`, `reset` (before
    /// processing), `reset_after_record` (`confirmShipment`, `scxEvents`, `scxOrders`), `slow`,
    /// `truncated`, `garbage`, `expired_token`; plus `searchOrders/duplicate`,
    /// `delivery/duplicate` and `delivery/delayed` (notifications), `scxEvents/duplicate`,
    /// `scxEvents/reordered` and `scxEvents/lost_ack` (the SCX event feed) and, per malformed
    /// order, `orders/<missing_order_item_id|negative_quantity|unknown_currency|bad_timestamp|huge_title>`.
    /// Kinds never injected are absent.
    pub fn fault_counts(&self) -> BTreeMap<String, u64> {
        self.state().faults.counts()
    }

    /// Ids of the orders served malformed (in creation order): a client should record
    /// each of them as rejected rather than import it.
    pub fn rejectable_order_ids(&self) -> Vec<String> {
        self.state().orders.iter().filter(|o| o.malformed.is_some()).map(|o| o.id.clone()).collect()
    }

    /// Places an order now. Panics on an unknown seller or a zero item quantity.
    pub fn create_order(&self, seller_id: &str, order: NewOrder) -> String {
        self.state().create_order(seller_id, order, codec::now())
    }

    /// Places an order as if it had been created at `created` (e.g. older than the
    /// search window lag).
    pub fn create_order_at(&self, seller_id: &str, order: NewOrder, created: DateTime<Utc>) -> String {
        self.state().create_order(seller_id, order, created.trunc_subsecs(3))
    }

    /// Payment authorized: `PENDING` -> `UNSHIPPED`, and buyer, address and prices appear.
    /// False if the order is unknown or not `PENDING` (a pre-order still
    /// `PENDING_AVAILABILITY` needs [`Sandbox::begin_payment_authorization`] first).
    pub fn release_payment(&self, order_id: &str) -> bool {
        self.state().release(order_id, codec::now())
    }

    /// The seller corrected an order that was served malformed: from now on it is served as
    /// the model says, with a new `lastUpdatedTime` so that an import notices the change.
    /// False if the order is unknown or was not malformed.
    pub fn repair_order(&self, order_id: &str) -> bool {
        self.state().repair(order_id, codec::now())
    }

    /// A pre-order's release date has come: `PENDING_AVAILABILITY` -> `PENDING`, as Amazon
    /// moves a pre-order "when payment authorization begins". False if the order is unknown
    /// or not `PENDING_AVAILABILITY`.
    pub fn begin_payment_authorization(&self, order_id: &str) -> bool {
        self.state().begin_authorization(order_id, codec::now())
    }

    /// -> `CANCELLED`; false if the order is unknown, shipped or already cancelled.
    pub fn cancel(&self, order_id: &str) -> bool {
        self.state().cancel(order_id, codec::now())
    }

    /// The order as `getOrder` returns it now with every `includedData` section (so without
    /// what Amazon withholds, e.g. prices and buyer while the order is pending). Also orders
    /// past the API's two-year history, which `getOrder` no longer finds.
    pub fn order_json(&self, order_id: &str) -> Option<serde_json::Value> {
        let st = self.state();
        st.order(order_id).map(|o| render::order(o, Included::all(), &st.config.currency, codec::now()))
    }

    /// All order ids, in creation order.
    pub fn order_ids(&self) -> Vec<String> {
        self.state().orders.iter().map(|o| o.id.clone()).collect()
    }

    /// `fulfillmentStatus`, e.g. `"UNSHIPPED"`.
    pub fn order_status(&self, order_id: &str) -> Option<String> {
        self.state().order(order_id).map(|o| o.status.as_str().to_string())
    }

    /// Accepted shipment confirmations (idempotent repeats are not included).
    pub fn confirmations(&self) -> Vec<Confirmation> {
        self.state().confirmations.clone()
    }

    /// The JSON bodies of the `confirmShipment` requests answered 204, exactly as received
    /// and in arrival order: every recorded confirmation and every idempotent repeat (also
    /// those whose response a fault then broke). For checking what a client sends against
    /// Amazon's model, e.g. with `schema::AmazonModel::orders_v0` (feature `schema`).
    pub fn confirmation_request_bodies(&self) -> Vec<serde_json::Value> {
        self.state().confirmation_bodies.clone()
    }

    /// Repeats of an already recorded confirmation that were answered 204 and ignored.
    pub fn duplicate_confirmations(&self) -> u64 {
        self.state().duplicate_confirmations
    }

    /// Requests received for `"searchOrders"`, `"getOrder"`, `"confirmShipment"`, `"token"`
    /// or a Notifications API operation (`"createDestination"`, `"getDestinations"`,
    /// `"getDestination"`, `"deleteDestination"`, `"createSubscription"`,
    /// `"getSubscription"`, `"getSubscriptions"`, `"getSubscriptionById"`,
    /// `"deleteSubscriptionById"`), or an SCX call (`"scxAuth"`, `"scxGetEvents"`,
    /// `"scxAckEvents"`, `"scxShipping"`, `"scxAccept"`, `"scxPayment"`,
    /// `"scxCancellationAccept"`, `"scxCancellationDeny"`), including refused ones (4xx).
    pub fn request_count(&self, operation: &str) -> u64 {
        self.state().request_count(operation)
    }

    /// Buyer names, emails, company names, phones and address lines of every order (SCX
    /// orders too), for asserting that none of them reaches a log.
    pub fn buyer_field_values(&self) -> Vec<String> {
        self.state().buyer_field_values()
    }

    /// Every `ORDER_CHANGE` notification sent so far, exactly as sent (the `MessageBody` put
    /// into the queue), in send order: a duplicate twice, a delayed one where it finally
    /// went. Also recorded without an SQS endpoint, and also when the queue refused it.
    pub fn notifications_sent(&self) -> Vec<serde_json::Value> {
        self.state().delivery.sent()
    }

    /// Waits until every notification handed over so far has been sent (delayed ones
    /// included) and, with an SQS endpoint, its `SendMessage` answered or given up on.
    pub async fn deliveries_settled(&self) {
        let delivery = self.state().delivery.clone();
        delivery.settled().await;
    }

    /// Notifications the SQS endpoint did not take after retrying (or that could not be
    /// sent for want of a tokio runtime).
    pub fn notification_delivery_failures(&self) -> u64 {
        self.state().delivery.failures()
    }

    /// Notification subscriptions of every seller, in creation order.
    pub fn subscriptions(&self) -> Vec<NotificationSubscription> {
        self.state().subscription_views()
    }

    /// Notification destinations of every application, in creation order.
    pub fn destinations(&self) -> Vec<NotificationDestination> {
        self.state().destination_views()
    }

    /// One generator step at the current time (no-op without `config.generator`).
    pub fn tick(&self) {
        self.state().tick(codec::now());
    }

    /// Ticks periodically while `config.generator` is set; otherwise returns at once.
    pub fn spawn_generator(&self) -> tokio::task::JoinHandle<()> {
        let sandbox = self.clone();
        let period = self.state().config.generator.as_ref().map(|g| {
            g.new_order_every.min(g.release_after).clamp(Duration::from_millis(50), Duration::from_secs(1))
        });
        tokio::spawn(async move {
            let Some(period) = period else {
                return;
            };
            let mut interval = tokio::time::interval(period);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                interval.tick().await;
                sandbox.tick();
            }
        })
    }
}
