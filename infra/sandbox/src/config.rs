//! Knobs of the simulated marketplace.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Months, Utc};

use crate::fault::FaultConfig;

/// Configuration of a [`crate::Sandbox`].
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    /// Seeds every generated id, name and decision (timestamps still follow the wall clock).
    pub seed: u64,
    /// How far `createdBefore`/`lastUpdatedBefore` must lie in the past (Amazon: 2 minutes).
    /// Also the default end of a search window when no `...Before` is given.
    pub window_lag: Duration,
    /// Lifetime of LWA access tokens.
    pub token_lifetime: Duration,
    /// Marketplace of every seller added (default Amazon.de).
    pub marketplace_id: String,
    /// Currency of every amount.
    pub currency: String,
    /// Per-seller token buckets; `None` never throttles.
    pub rate_limit: Option<RateLimit>,
    /// Background order traffic for [`crate::Sandbox::tick`]; `None` makes `tick` a no-op.
    pub generator: Option<GeneratorConfig>,
    /// Injected failures; the default injects none. Changeable at run time with
    /// [`crate::Sandbox::set_faults`].
    pub faults: FaultConfig,
    /// Where `ORDER_CHANGE` notifications go: the base URL of an SQS endpoint speaking SQS's
    /// JSON protocol (e.g. moto's `http://127.0.0.1:5000`). A destination's queue ARN
    /// `arn:aws:sqs:<region>:<account-id>:<queue-name>` is delivered to the queue URL
    /// `<sqs_endpoint>/<account-id>/<queue-name>` (moto's URL scheme). `None` (the default):
    /// notifications are recorded ([`crate::Sandbox::notifications_sent`]) but not delivered.
    pub sqs_endpoint: Option<String>,
    /// The JTL SCX seller API ([`crate::scx`]): token lifetime, event visibility timeout,
    /// rate limits and the time sellers have to accept an order.
    pub scx: ScxConfig,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            seed: 7,
            window_lag: Duration::from_secs(120),
            token_lifetime: Duration::from_secs(3600),
            marketplace_id: "A1PA6795UKMFR9".to_string(),
            currency: "EUR".to_string(),
            rate_limit: None,
            generator: None,
            faults: FaultConfig::none(),
            sqs_endpoint: None,
            scx: ScxConfig::default(),
        }
    }
}

/// Knobs of the SCX seller API. The defaults are JTL's documented values where JTL documents
/// one (token lifetime, visibility timeout), otherwise the sandbox's assumption.
#[derive(Clone, Debug, PartialEq)]
pub struct ScxConfig {
    /// Lifetime of the session tokens `POST /v1/auth` issues (`expiresIn`). JTL: 3600 s.
    pub token_lifetime: Duration,
    /// How long an event `GET /v2/seller/event` delivered stays invisible unless it is
    /// acknowledged; then it is delivered again. JTL: 5 minutes.
    pub visibility_timeout: Duration,
    /// Every route pattern's limit, per seller account (for `POST /v1/auth`: per refresh
    /// token). JTL publishes no limits for seller routes; its table's "Default" row is 10
    /// requests per 60 s, which is what the sandbox assumes.
    pub rate_limit: ScxRateLimit,
    /// Limits of single route patterns instead of `rate_limit`, keyed by the pattern as
    /// [`crate::scx::ROUTE_PATTERNS`] spells it (e.g. `/v[version]/seller/event`).
    pub route_rate_limits: BTreeMap<String, ScxRateLimit>,
    /// How long after the purchase an `UNACKED` order can be accepted (`orderAcceptUntil`);
    /// JTL documents no value: the sandbox assumes 2 days.
    pub accept_window: Duration,
}

impl Default for ScxConfig {
    fn default() -> Self {
        Self {
            token_lifetime: Duration::from_secs(3600),
            visibility_timeout: Duration::from_secs(5 * 60),
            rate_limit: ScxRateLimit::default(),
            route_rate_limits: BTreeMap::new(),
            accept_window: Duration::from_secs(2 * 24 * 3600),
        }
    }
}

impl ScxConfig {
    pub(crate) fn limit_for(&self, pattern: &str) -> ScxRateLimit {
        self.route_rate_limits.get(pattern).copied().unwrap_or(self.rate_limit)
    }
}

/// A fixed window: `requests` per `interval`, as SCX's `X-RateLimit-Limit` and
/// `X-RateLimit-Interval-Length-Seconds` report it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScxRateLimit {
    pub requests: u32,
    pub interval: Duration,
}

impl ScxRateLimit {
    pub fn new(requests: u32, interval: Duration) -> Self {
        Self { requests, interval }
    }
}

impl Default for ScxRateLimit {
    /// 10 requests per 60 s (JTL's "Default" row).
    fn default() -> Self {
        Self::new(10, Duration::from_secs(60))
    }
}

/// Rate (requests per second) and burst of one operation's usage plan.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Quota {
    pub rate: f64,
    pub burst: u32,
}

impl Quota {
    pub fn new(rate: f64, burst: u32) -> Self {
        Self { rate, burst }
    }
}

/// Usage plans per operation; also what `x-amzn-RateLimit-Limit` reports.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    pub search_orders: Quota,
    pub get_order: Quota,
    pub confirm_shipment: Quota,
    /// Each Notifications API operation, with a bucket of its own.
    pub notifications: Quota,
}

impl RateLimit {
    /// The same quota for every operation (handy in tests).
    pub fn uniform(quota: Quota) -> Self {
        Self { search_orders: quota, get_order: quota, confirm_shipment: quota, notifications: quota }
    }
}

impl Default for RateLimit {
    /// Amazon's documented default usage plans.
    fn default() -> Self {
        Self {
            search_orders: Quota::new(0.0056, 20),
            get_order: Quota::new(0.5, 30),
            confirm_shipment: Quota::new(2.0, 10),
            // The same usage plan for every operation of `notifications.json`.
            notifications: Quota::new(1.0, 5),
        }
    }
}

/// Simulated background traffic.
#[derive(Clone, Debug)]
pub struct GeneratorConfig {
    /// Each seller receives one new order per interval.
    pub new_order_every: Duration,
    /// Share of new orders that start `PENDING` (payment not yet released).
    pub pending_percent: u8,
    /// Age at which an order's fate is decided: pending orders get released, unless the
    /// order is cancelled (`cancel_percent`) instead.
    pub release_after: Duration,
    pub cancel_percent: u8,
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        Self {
            new_order_every: Duration::from_secs(30),
            pending_percent: 50,
            release_after: Duration::from_secs(60),
            cancel_percent: 5,
        }
    }
}

/// Static facts about the marketplaces the sandbox knows by id.
pub(crate) struct Marketplace {
    pub name: &'static str,
    pub country: &'static str,
    pub domain: &'static str,
    /// Orders API data from 2016 on, instead of only the last two years.
    pub history_since_2016: bool,
}

pub(crate) fn marketplace(id: &str) -> Marketplace {
    let (name, country, domain) = match id {
        "A1F83G8C2ARO7P" => ("Amazon.co.uk", "GB", "amazon.co.uk"),
        "A13V1IB3VIYZZH" => ("Amazon.fr", "FR", "amazon.fr"),
        "APJ6JRA9NG5V4" => ("Amazon.it", "IT", "amazon.it"),
        "A1RKKUPIHCS9HS" => ("Amazon.es", "ES", "amazon.es"),
        "A1805IZSGTT6HS" => ("Amazon.nl", "NL", "amazon.nl"),
        "ATVPDKIKX0DER" => ("Amazon.com", "US", "amazon.com"),
        "A1VC38T7YXB528" => ("Amazon.co.jp", "JP", "amazon.co.jp"),
        "A39IBJ37TRP1C6" => ("Amazon.com.au", "AU", "amazon.com.au"),
        "A19VAU5U5O7RUS" => ("Amazon.sg", "SG", "amazon.sg"),
        _ => ("Amazon.de", "DE", "amazon.de"),
    };
    // Orders API: "does not display order data that is more than two years old, except in
    // the JP, AU, and SG marketplaces, for which data from 2016 and after is available".
    let history_since_2016 = matches!(country, "JP" | "AU" | "SG");
    Marketplace { name, country, domain, history_since_2016 }
}

/// Creation time of the oldest order of `marketplace_id` the Orders API still shows at `now`.
pub(crate) fn oldest_visible(marketplace_id: &str, now: DateTime<Utc>) -> DateTime<Utc> {
    if marketplace(marketplace_id).history_since_2016 {
        // 2016-01-01T00:00:00Z
        DateTime::from_timestamp(1_451_606_400, 0).unwrap_or(DateTime::<Utc>::MIN_UTC)
    } else {
        now.checked_sub_months(Months::new(24)).unwrap_or(now)
    }
}

/// Whether the marketplace takes `codCollectionMethod` in `confirmShipment` ("only
/// supported in the JP marketplace").
pub(crate) fn supports_cod_collection(marketplace_id: &str) -> bool {
    marketplace(marketplace_id).country == "JP"
}

/// Digits after the decimal point of a currency's amounts.
pub(crate) fn minor_digits(currency: &str) -> u32 {
    match currency {
        "JPY" | "KRW" | "CLP" | "ISK" => 0,
        _ => 2,
    }
}
