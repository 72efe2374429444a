//! Amazon's usage plans for the SP-API operations Orderbridge calls, and the plan each call is
//! paced at. Amazon counts per selling partner and application, per operation, as a token
//! bucket: `rate` requests per second, up to `burst` at once. A seller whose limits Amazon raised
//! is configured with `AmazonSettings::quota_overrides`, which replace the documented plan of
//! their operation. Login with Amazon token calls are not paced (they are not SP-API
//! operations and are cached for an hour).

use crate::domain::account::AmazonSettings;
use crate::ports::Quota;
use std::time::Duration;

const fn plan(rate_per_second: f64, burst: u32) -> Quota {
    Quota { rate_per_second, burst }
}

/// The documented default plans, by operation name (as passed to `SpApiClient::call`).
const DOCUMENTED: &[(&str, Quota)] = &[
    // Orders API 2026-01-01: the "Usage Plan" tables of `searchOrders` and `getOrder` in
    // Amazon's model (infra/sandbox/specs/amazon-sp-api/orders_2026-01-01.json).
    ("searchOrders", plan(0.0056, 20)),
    ("getOrder", plan(0.5, 30)),
    // Orders API v0: the "Usage Plan" table of `confirmShipment`
    // (infra/sandbox/specs/amazon-sp-api/ordersV0.json).
    ("confirmShipment", plan(2.0, 10)),
    // Notifications API v1: rate 1, burst 5 for every operation, from the "Usage Plan" tables
    // of Amazon's model (developer-docs.amazon.com/sp-api/docs/notifications-api-v1-model,
    // vendored as infra/sandbox/specs/amazon-sp-api/notifications.json). The destination
    // operations are grantless: Amazon counts them per application rather than per seller, so
    // pacing them per account is optimistic when one application serves several accounts; they
    // run only when an account is set up.
    ("getSubscription", plan(1.0, 5)),
    ("createSubscription", plan(1.0, 5)),
    ("deleteSubscriptionById", plan(1.0, 5)),
    ("getDestinations", plan(1.0, 5)),
    ("createDestination", plan(1.0, 5)),
];

/// How late a call may reach Amazon after its slot (network latency, scheduling, clock skew
/// between hosts) without the bucket at Amazon running dry. A call that arrives late while the
/// bucket is full loses refill that the pacer counted on; keeping this much of the burst in
/// reserve absorbs it.
const LATENCY_ALLOWANCE: Duration = Duration::from_millis(100);

/// The plan Amazon applies to `operation` for this seller: the override if there is a usable
/// one, else the documented default. None for an operation not in the table.
pub(super) fn usage_plan(settings: &AmazonSettings, operation: &str) -> Option<Quota> {
    let overridden = settings
        .quota_overrides
        .iter()
        .find(|o| o.operation == operation && o.requests_per_hour > 0)
        .map(|o| plan(f64::from(o.requests_per_hour) / 3600.0, o.burst.max(1)));
    overridden.or_else(|| DOCUMENTED.iter().find(|(name, _)| *name == operation).map(|(_, q)| *q))
}

/// The plan a call of `operation` is paced at: the usage plan, with enough of the burst held
/// back to cover [`LATENCY_ALLOWANCE`] (at least one request when the burst allows it).
pub(super) fn pacing_plan(settings: &AmazonSettings, operation: &str) -> Option<Quota> {
    usage_plan(settings, operation).map(with_headroom)
}

fn with_headroom(quota: Quota) -> Quota {
    let reserve = (LATENCY_ALLOWANCE.as_secs_f64() * quota.rate_per_second).ceil().max(1.0);
    let reserve = (reserve.min(f64::from(u32::MAX)) as u32).min(quota.burst.saturating_sub(1));
    Quota { burst: quota.burst - reserve, ..quota }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::account::QuotaOverride;

    fn settings(overrides: Vec<QuotaOverride>) -> AmazonSettings {
        AmazonSettings {
            api_base_url: "https://sellingpartnerapi-eu.amazon.com".into(),
            token_url: "https://api.amazon.com/auth/o2/token".into(),
            credentials_secret: "orderbridge/amazon-de".into(),
            marketplace_ids: vec!["A1PA6795UKMFR9".into()],
            window_lag_secs: 120,
            overlap_secs: 300,
            initial_lookback_hours: 72,
            seller_id: None,
            quota_overrides: overrides,
        }
    }

    #[test]
    fn every_operation_the_client_calls_has_a_documented_plan() {
        let defaults = settings(vec![]);
        for operation in [
            "searchOrders",
            "getOrder",
            "confirmShipment",
            "getSubscription",
            "createSubscription",
            "deleteSubscriptionById",
            "getDestinations",
            "createDestination",
        ] {
            assert!(usage_plan(&defaults, operation).is_some(), "{operation}");
        }
        assert_eq!(usage_plan(&defaults, "searchOrders"), Some(plan(0.0056, 20)));
        assert_eq!(usage_plan(&defaults, "getOrder"), Some(plan(0.5, 30)));
        assert_eq!(usage_plan(&defaults, "confirmShipment"), Some(plan(2.0, 10)));
        assert_eq!(usage_plan(&defaults, "token"), None);
    }

    #[test]
    fn an_override_replaces_the_documented_plan_of_its_operation_only() {
        let raised = settings(vec![QuotaOverride {
            operation: "getOrder".into(),
            requests_per_hour: 7200,
            burst: 60,
        }]);
        assert_eq!(usage_plan(&raised, "getOrder"), Some(plan(2.0, 60)));
        assert_eq!(usage_plan(&raised, "searchOrders"), Some(plan(0.0056, 20)));
    }

    #[test]
    fn an_unusable_override_is_ignored() {
        let broken =
            settings(vec![QuotaOverride { operation: "getOrder".into(), requests_per_hour: 0, burst: 5 }]);
        assert_eq!(usage_plan(&broken, "getOrder"), Some(plan(0.5, 30)));
        let no_burst =
            settings(vec![QuotaOverride { operation: "getOrder".into(), requests_per_hour: 3600, burst: 0 }]);
        assert_eq!(usage_plan(&no_burst, "getOrder"), Some(plan(1.0, 1)));
    }

    #[test]
    fn pacing_keeps_part_of_the_burst_in_reserve() {
        assert_eq!(with_headroom(plan(0.5, 30)), plan(0.5, 29));
        assert_eq!(with_headroom(plan(0.0056, 20)), plan(0.0056, 19));
        assert_eq!(with_headroom(plan(100.0, 30)), plan(100.0, 20));
        assert_eq!(with_headroom(plan(1000.0, 30)), plan(1000.0, 1));
        assert_eq!(with_headroom(plan(1.0, 1)), plan(1.0, 1));
    }
}
