//! The traits use cases talk to. Adapters implement them for DynamoDB, SQS, Secrets Manager and
//! the marketplaces; tests and the local run plug in the same adapters against local servers.

use crate::domain::{
    AccountId, Decision, Marketplace, MarketplaceAccount, MarketplaceOrder, MarketplaceOrderId, OrderChange,
    OrderKey, OrderStatus, Package, SalesOrder,
};
use crate::Deadline;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// Whether an error is worth retrying (throttling, timeouts, outages) or needs someone to act.
pub trait Retryable {
    fn is_retryable(&self) -> bool;
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Someone else changed the item since it was read; reload and decide again.
    #[error("{what} was changed concurrently")]
    Conflict { what: String },
    #[error("{what} already exists")]
    AlreadyExists { what: String },
    /// The item is no longer in the state the write expected (e.g. a package already reported).
    #[error("{what} is no longer in the expected state")]
    NotInExpectedState { what: String },
    #[error("store is throttling or unavailable ({operation}): {message}")]
    Unavailable { operation: &'static str, message: String },
    #[error("store request {operation} failed: {message}")]
    Failed { operation: &'static str, message: String },
    #[error("stored item {what} is unreadable: {message}")]
    Corrupt { what: String, message: String },
}

impl Retryable for StoreError {
    fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Conflict { .. } | StoreError::Unavailable { .. })
    }
}

/// A page of results and where the next one starts.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// Where an account's import stands, in the marketplace's own terms (an Amazon time window and
/// page token, an event feed's offset, …). Opaque to everything but the marketplace adapter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedPosition(pub String);

/// An order the marketplace sent that could not be accepted, kept for the operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedOrder {
    pub account_id: AccountId,
    /// The marketplace's id when it could be read at all.
    pub marketplace_order_id: Option<String>,
    pub reason: String,
    /// The start of the raw payload with buyer fields redacted, for diagnosis. Never logged.
    pub raw_excerpt: String,
    pub rejected_at: DateTime<Utc>,
    /// Set once the same order was later stored successfully; the rejection is history then.
    #[serde(default)]
    pub resolved_at: Option<DateTime<Utc>>,
}

/// Which stored state a package write expects, so runs that overlap never undo each other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PackageGuard {
    /// Waiting, or claimed by a run whose lease ran out before `now`: taking the claim.
    Claimable { now: DateTime<Utc> },
    /// Still claimed by this run: settling a failed attempt.
    ClaimedBy(String),
    /// Anything but Confirmed: recording the marketplace's acceptance, which wins over any
    /// other run's state.
    NotConfirmed,
}

#[async_trait]
pub trait AccountStore: Send + Sync {
    async fn put_account(&self, account: &MarketplaceAccount) -> Result<(), StoreError>;
    async fn get_account(&self, id: &AccountId) -> Result<Option<MarketplaceAccount>, StoreError>;
    async fn list_accounts(&self) -> Result<Vec<MarketplaceAccount>, StoreError>;
    async fn load_position(&self, id: &AccountId) -> Result<Option<FeedPosition>, StoreError>;
    /// Compare-and-set: succeeds only if the stored position still equals `expected`, so two
    /// overlapping runs can never move an account's cursor backwards.
    async fn save_position(
        &self,
        id: &AccountId,
        expected: Option<&FeedPosition>,
        new: &FeedPosition,
    ) -> Result<(), StoreError>;
}

#[async_trait]
pub trait OrderStore: Send + Sync {
    async fn get_order(&self, key: &OrderKey) -> Result<Option<SalesOrder>, StoreError>;
    /// Creates the order unless one with the same key exists (`AlreadyExists`).
    async fn insert_order(&self, order: &SalesOrder) -> Result<(), StoreError>;
    /// Writes `order` if the stored version is still `order.version`; stores it as version + 1.
    async fn update_order(&self, order: &SalesOrder) -> Result<(), StoreError>;
    async fn orders_by_status(
        &self,
        status: OrderStatus,
        limit: u32,
        start: Option<String>,
    ) -> Result<Page<SalesOrder>, StoreError>;
    /// Atomically: the order (version-checked, with the package counted) and the new package.
    async fn record_package(&self, order: &SalesOrder, package: &Package) -> Result<(), StoreError>;
    async fn packages(&self, key: &OrderKey) -> Result<Vec<Package>, StoreError>;
    async fn unreported_packages(&self, limit: u32) -> Result<Vec<Package>, StoreError>;
    async fn failed_packages(&self, limit: u32) -> Result<Vec<Package>, StoreError>;
    /// Saves a package's report state if the stored one passes `guard` (`NotInExpectedState`
    /// otherwise); with `order`, atomically with the order (version-checked, `Conflict`).
    async fn update_package(
        &self,
        package: &Package,
        order: Option<&SalesOrder>,
        guard: PackageGuard,
    ) -> Result<(), StoreError>;
    /// Shipped or Cancelled orders that still hold buyer data and settled before `settled_before`,
    /// oldest first.
    async fn orders_holding_buyer_data(
        &self,
        settled_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<SalesOrder>, StoreError>;
    /// Keeps a delivery exactly as received until `keep_until` (the buyer-data retention; the
    /// store drops it then). Keeping the same delivery again changes nothing.
    async fn keep_delivery(
        &self,
        account: &AccountId,
        delivery: &RawDelivery,
        keep_until: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// The deliveries kept for an account (of one order, or all), oldest first; none whose
    /// retention has ended.
    async fn kept_deliveries(
        &self,
        account: &AccountId,
        marketplace_order_id: Option<&str>,
    ) -> Result<Vec<RawDelivery>, StoreError>;
    /// Deletes the deliveries kept of an order (its buyer data is being erased); how many.
    async fn forget_deliveries(
        &self,
        account: &AccountId,
        marketplace_order_id: &str,
    ) -> Result<u32, StoreError>;
    /// Records (or re-records) an open rejection of an order.
    async fn record_rejection(&self, rejection: &RejectedOrder) -> Result<(), StoreError>;
    /// Marks the open rejection of this order resolved at `at`; does nothing if there is none.
    async fn resolve_rejection(
        &self,
        account: &AccountId,
        marketplace_order_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// The account's rejections: open ones only, or with `include_resolved` the whole history.
    async fn rejections(
        &self,
        account: &AccountId,
        include_resolved: bool,
    ) -> Result<Vec<RejectedOrder>, StoreError>;
}

/// A request for the status function to look at an order again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCheck {
    pub account_id: AccountId,
    pub marketplace_order_id: MarketplaceOrderId,
    /// How many times the order was found still pending; drives the growing delay.
    #[serde(default)]
    pub attempt: u32,
    /// How many times the status function itself sent this check on (re-checks, throttled or
    /// deferred checks). Bounded, so that no status-queue chain perpetuates itself.
    #[serde(default)]
    pub hops: u32,
}

impl StatusCheck {
    pub fn new(account_id: AccountId, marketplace_order_id: MarketplaceOrderId) -> Self {
        Self { account_id, marketplace_order_id, attempt: 0, hops: 0 }
    }
}

/// A marketplace's push that one of its orders changed. It names the order, nothing more: the
/// status function reads the order itself, since pushes repeat and arrive out of order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderChangeNotice {
    pub marketplace: Marketplace,
    /// The marketplace's id of the seller (Amazon: the selling partner id).
    pub seller_id: String,
    pub order_id: MarketplaceOrderId,
    pub notification_id: String,
}

#[derive(Debug, thiserror::Error)]
#[error("status queue unavailable: {message}")]
pub struct QueueError {
    pub message: String,
}

#[async_trait]
pub trait StatusQueue: Send + Sync {
    async fn enqueue(&self, check: &StatusCheck, delay: Duration) -> Result<(), QueueError>;
}

#[derive(Debug, thiserror::Error)]
pub enum MarketplaceError {
    #[error("marketplace throttled {operation} for account {account}; retry after {retry_after:?}")]
    Throttled { account: AccountId, operation: &'static str, retry_after: Duration },
    #[error("marketplace unavailable for {operation} (account {account}): {message}")]
    Unavailable { account: AccountId, operation: &'static str, message: String },
    #[error("marketplace refused {operation} for account {account}: {message}")]
    Refused { account: AccountId, operation: &'static str, message: String },
    #[error("marketplace credentials of account {account} are missing or invalid: {message}")]
    Credentials { account: AccountId, message: String },
    #[error("marketplace answered {operation} for account {account} with an unreadable response: {message}")]
    BadResponse { account: AccountId, operation: &'static str, message: String },
    #[error("order {order} of account {account}: {reason}")]
    InvalidOrder { account: AccountId, order: String, reason: String },
}

impl MarketplaceError {
    /// Whether the failed request may have been carried out by the marketplace after all (a
    /// timeout, a server error, an unreadable answer), as opposed to refused before (throttled,
    /// refused, credentials).
    pub fn may_have_been_carried_out(&self) -> bool {
        matches!(self, MarketplaceError::Unavailable { .. } | MarketplaceError::BadResponse { .. })
    }
}

impl Retryable for MarketplaceError {
    fn is_retryable(&self) -> bool {
        matches!(
            self,
            MarketplaceError::Throttled { .. }
                | MarketplaceError::Unavailable { .. }
                | MarketplaceError::BadResponse { .. }
        )
    }
}

/// What one marketplace delivery (an SCX event; one order of a polled list) said: its changes,
/// or why it could not be read. Acknowledged as a whole once its changes are stored.
#[derive(Debug)]
pub struct Delivery {
    /// What acknowledges it at the marketplace (SCX: the event id); None for polled lists.
    pub receipt: Option<String>,
    pub content: Result<Vec<OrderChange>, RejectedOrder>,
    /// The delivery as received, for marketplaces whose past can't be read again (SCX has no
    /// order query): kept with the order under the buyer-data rules, so it can be replayed.
    pub raw: Option<RawDelivery>,
}

/// A delivery exactly as the marketplace sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawDelivery {
    /// The marketplace's id of the delivery (SCX: the event id).
    pub id: String,
    /// The marketplace's order id, when the delivery names one.
    pub marketplace_order_id: Option<String>,
    /// The marketplace's event type (SCX: `Channel:Order.New`, …).
    pub kind: String,
    pub created_at: DateTime<Utc>,
    /// The JSON body as received; holds buyer data, so it is never logged.
    pub body: String,
}

/// One batch of deliveries from a marketplace, and where the feed continues after it.
#[derive(Debug)]
pub struct ChangeBatch {
    pub deliveries: Vec<Delivery>,
    /// Where to continue once everything in this batch is stored; None for feeds without a
    /// cursor (SCX: what is acknowledged is gone from the feed).
    pub next_position: Option<FeedPosition>,
    /// False when the feed is caught up for now.
    pub more: bool,
    /// Once this batch is stored: every change the marketplace made up to this time is stored
    /// (None for feeds that can't tell). Now minus this is the import lag.
    pub imported_until: Option<DateTime<Utc>>,
}

impl ChangeBatch {
    /// Deliveries of whole orders from a polled list, which need no acknowledgement.
    pub fn polled(
        orders: Vec<Result<MarketplaceOrder, RejectedOrder>>,
        next_position: FeedPosition,
        more: bool,
        imported_until: Option<DateTime<Utc>>,
    ) -> Self {
        let deliveries = orders
            .into_iter()
            .map(|order| Delivery { receipt: None, content: order.map(|o| vec![o.into()]), raw: None })
            .collect();
        Self { deliveries, next_position: Some(next_position), more, imported_until }
    }
}

/// One connected marketplace account. Covers both a polled order list (Amazon: a time window
/// and page tokens in the position) and an acknowledged event feed (position = offset, and
/// `acknowledge` after the batch is durably stored).
#[async_trait]
pub trait MarketplaceClient: Send + Sync {
    /// The changes after `position` (None: the account's first import).
    async fn fetch_changes(
        &self,
        position: Option<&FeedPosition>,
        deadline: Deadline,
    ) -> Result<ChangeBatch, MarketplaceError>;
    /// Acknowledges deliveries whose changes are stored (their receipts). Polled
    /// marketplaces have nothing to acknowledge.
    async fn acknowledge(&self, _receipts: &[String], _deadline: Deadline) -> Result<(), MarketplaceError> {
        Ok(())
    }
    /// Reads a kept delivery again (see [`RawDelivery`]) into its changes, for a replay.
    /// None for marketplaces that keep no deliveries (their orders can be read again).
    fn reread_delivery(&self, _raw: &RawDelivery) -> Option<Result<Vec<OrderChange>, RejectedOrder>> {
        None
    }
    /// Whether [`Self::get_order`] can read an order (SCX's seller side has no order query:
    /// its orders change only through the feed).
    fn reads_orders(&self) -> bool {
        true
    }
    /// The order as the marketplace reports it now, including customer data once released.
    async fn get_order(
        &self,
        id: &MarketplaceOrderId,
        deadline: Deadline,
    ) -> Result<Option<MarketplaceOrder>, MarketplaceError>;
    /// Whether a repeated [`Self::confirm_shipment`] of the same package is harmless at the
    /// marketplace (Amazon: `packageReferenceId`). Where it is not, a package whose sending
    /// ended uncertain is sent again only after [`Self::shipment_on_record`] says it is not
    /// on record.
    fn confirms_idempotently(&self) -> bool {
        true
    }
    /// Whether the marketplace has the package on record as shipped; None when it can't tell
    /// yet. Only asked for marketplaces that don't confirm idempotently.
    async fn shipment_on_record(
        &self,
        _order: &SalesOrder,
        _package: &Package,
        _deadline: Deadline,
    ) -> Result<Option<bool>, MarketplaceError> {
        Ok(None)
    }
    /// Reports one package as shipped (see [`SalesOrder::completed_by`] for whether it
    /// completes the order).
    async fn confirm_shipment(
        &self,
        order: &SalesOrder,
        package: &Package,
        deadline: Deadline,
    ) -> Result<(), MarketplaceError>;
    /// Sends the seller's answer to a decision the marketplace left open (accept or refuse an
    /// order, agree to or deny a cancellation request). Marketplaces that leave none refuse.
    async fn answer_decision(
        &self,
        order: &SalesOrder,
        decision: &Decision,
        accept: bool,
        _deadline: Deadline,
    ) -> Result<(), MarketplaceError> {
        let _ = (decision, accept);
        Err(MarketplaceError::Refused {
            account: order.key.account_id.clone(),
            operation: "answerDecision",
            message: format!("{} leaves no decisions to the seller", order.key.marketplace),
        })
    }
    /// One cheap call proving the account's credentials work, which also tells whether the
    /// marketplace pushes this account's order changes.
    async fn check_access(&self, deadline: Deadline) -> Result<AccessCheck, MarketplaceError>;
    /// Asks the marketplace to push the account's order changes to `destination` (Amazon: the
    /// ARN of an SQS queue). Idempotent: an existing subscription is kept. Marketplaces that
    /// push nothing (event feeds) answer `NotSupported`.
    async fn subscribe_order_changes(
        &self,
        destination: &str,
        deadline: Deadline,
    ) -> Result<Subscription, MarketplaceError>;
    /// Stops pushing the account's order changes; does nothing if there is no subscription.
    async fn unsubscribe_order_changes(&self, deadline: Deadline) -> Result<(), MarketplaceError>;
}

/// What [`MarketplaceClient::check_access`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessCheck {
    /// The subscription pushing order changes, if there is one.
    pub order_change_subscription: Option<String>,
}

/// A marketplace's push of order changes to Orderbridge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Subscription {
    /// Subscribed (now or before), with the marketplace's subscription id.
    Active { subscription_id: String, destination_id: String },
    /// The marketplace has nothing to push; its changes are read from its feed.
    NotSupported,
}

/// Builds a client for an account; clients (and their access tokens) are cached per account.
#[async_trait]
pub trait MarketplaceConnector: Send + Sync {
    async fn connect(
        &self,
        account: &MarketplaceAccount,
    ) -> Result<Arc<dyn MarketplaceClient>, MarketplaceError>;
}

/// A marketplace's documented usage plan for one operation: a token bucket refilled at `rate`
/// requests per second, holding at most `burst` requests.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quota {
    pub rate_per_second: f64,
    pub burst: u32,
}

/// Paces marketplace calls per account and operation, shared by every concurrent invocation, so
/// that Orderbridge never causes a throttle itself.
#[async_trait]
pub trait CallPacer: Send + Sync {
    /// Reserves one call of `operation` for `account` under `quota` and answers how long the
    /// caller must wait before making it (zero: at once). The reservation is taken either way,
    /// so callers that wait don't overtake one another.
    async fn reserve(
        &self,
        account: &AccountId,
        operation: &str,
        quota: Quota,
    ) -> Result<Duration, StoreError>;
}

/// The business and health figures an operator watches, per marketplace and account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    OrdersImported,
    OrdersRejected,
    OrdersReleased,
    OrdersCancelled,
    PackagesConfirmed,
    PackagesRefused,
    MarketplaceThrottles,
    /// Gauge: orders Pending now.
    PendingOrders,
    /// Gauge: age of the oldest Pending order.
    OldestPendingAgeSeconds,
    /// Gauge: now − the time up to which every change of the account is stored.
    ImportLagSeconds,
    BuyerDataErased,
    /// Gauge: seller decisions (accept/refuse) waiting for the operator.
    OpenDecisions,
}

impl Metric {
    pub const ALL: [Metric; 12] = [
        Metric::OrdersImported,
        Metric::OrdersRejected,
        Metric::OrdersReleased,
        Metric::OrdersCancelled,
        Metric::PackagesConfirmed,
        Metric::PackagesRefused,
        Metric::MarketplaceThrottles,
        Metric::PendingOrders,
        Metric::OldestPendingAgeSeconds,
        Metric::ImportLagSeconds,
        Metric::BuyerDataErased,
        Metric::OpenDecisions,
    ];

    pub fn name(&self) -> &'static str {
        match self {
            Metric::OrdersImported => "OrdersImported",
            Metric::OrdersRejected => "OrdersRejected",
            Metric::OrdersReleased => "OrdersReleased",
            Metric::OrdersCancelled => "OrdersCancelled",
            Metric::PackagesConfirmed => "PackagesConfirmed",
            Metric::PackagesRefused => "PackagesRefused",
            Metric::MarketplaceThrottles => "MarketplaceThrottles",
            Metric::PendingOrders => "PendingOrders",
            Metric::OldestPendingAgeSeconds => "OldestPendingAgeSeconds",
            Metric::ImportLagSeconds => "ImportLagSeconds",
            Metric::BuyerDataErased => "BuyerDataErased",
            Metric::OpenDecisions => "OpenDecisions",
        }
    }

    /// Counts add up within an invocation; gauges keep the last value.
    pub fn is_gauge(&self) -> bool {
        matches!(
            self,
            Metric::PendingOrders
                | Metric::OldestPendingAgeSeconds
                | Metric::ImportLagSeconds
                | Metric::OpenDecisions
        )
    }

    pub fn unit(&self) -> &'static str {
        match self {
            Metric::OldestPendingAgeSeconds | Metric::ImportLagSeconds => "Seconds",
            _ => "Count",
        }
    }
}

/// Where metrics go: CloudWatch (embedded metric format) in Lambda, memory in tests. Values
/// carry no customer data by construction: a metric, a marketplace, an account id, a number.
pub trait MetricsSink: Send + Sync {
    fn record(&self, marketplace: Marketplace, account: &AccountId, metric: Metric, value: f64);
    /// Writes what was recorded since the last flush; called at the end of each invocation.
    fn flush(&self);
}

/// Drops every metric (command-line runs that publish none).
pub struct NoMetrics;

impl MetricsSink for NoMetrics {
    fn record(&self, _: Marketplace, _: &AccountId, _: Metric, _: f64) {}
    fn flush(&self) {}
}

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Everything the use cases need, built once per process.
#[derive(Clone)]
pub struct Ports {
    pub accounts: Arc<dyn AccountStore>,
    pub orders: Arc<dyn OrderStore>,
    pub status_queue: Arc<dyn StatusQueue>,
    pub marketplaces: Arc<dyn MarketplaceConnector>,
    pub metrics: Arc<dyn MetricsSink>,
    pub clock: Arc<dyn Clock>,
    pub settings: PipelineSettings,
}

/// Timing of the pending-order checks.
#[derive(Debug, Clone, Copy)]
pub struct PipelineSettings {
    /// Delay before a newly imported Pending order is first checked.
    pub first_status_check_delay: Duration,
    /// Delay after the first check that still finds the order pending; doubles each time.
    pub pending_recheck_base: Duration,
    /// Upper bound of that delay (SQS allows at most 15 minutes).
    pub pending_recheck_max: Duration,
    /// How long a shipment run holds a package it is sending. The run stops trying to send it
    /// before the lease runs out; after that another run may take the package over.
    pub shipment_claim_lease: Duration,
    /// How long after Shipped or Cancelled an order keeps the buyer's name, address, e-mail and
    /// phone (Amazon's data protection policy: 30 days).
    pub buyer_data_retention: Duration,
    /// A Pending order older than this is checked by the housekeeping sweep.
    pub pending_sweep_after: Duration,
    /// Where a repeated shipment confirmation is not harmless and an earlier try may have
    /// reached the marketplace, how long to wait for the marketplace's record of it (SCX: the
    /// shipped status in its feed) before sending it again.
    pub uncertain_shipment_wait: Duration,
}

impl Default for PipelineSettings {
    fn default() -> Self {
        Self {
            first_status_check_delay: Duration::from_secs(60),
            pending_recheck_base: Duration::from_secs(120),
            pending_recheck_max: Duration::from_secs(900),
            shipment_claim_lease: Duration::from_secs(120),
            buyer_data_retention: Duration::from_secs(30 * 24 * 3600),
            pending_sweep_after: Duration::from_secs(3600),
            uncertain_shipment_wait: Duration::from_secs(1800),
        }
    }
}

impl PipelineSettings {
    /// Growing delay for an order found pending `attempt` times already.
    pub fn recheck_delay(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.min(16));
        self.pending_recheck_base.saturating_mul(factor).min(self.pending_recheck_max)
    }
}
