//! Shipments: the packages a merchant sent for an order, and whether the marketplace has been
//! told about them.

use super::{OrderItemId, OrderKey, PackageId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What the merchant says they shipped: one package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipmentRequest {
    pub carrier: String,
    pub tracking_id: String,
    pub ship_date: DateTime<Utc>,
    pub shipping_method: Option<String>,
    pub items: Vec<PackageLine>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageLine {
    pub item_id: OrderItemId,
    pub quantity: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "report_state")]
pub enum PackageState {
    /// Waiting to be reported to the marketplace; `attempts` counts failed tries so far.
    Unreported { attempts: u32, last_error: Option<String> },
    /// Claimed by one shipment run, which is sending it now. Another run may take it over only
    /// once the lease has run out (the claiming run died), so overlapping runs never send the
    /// same package at the same moment.
    Sending { claim: String, lease_until: DateTime<Utc>, attempts: u32, last_error: Option<String> },
    /// The marketplace accepted it. Final: nothing overwrites an accepted confirmation.
    #[serde(alias = "Reported")]
    Confirmed {
        #[serde(alias = "reported_at")]
        confirmed_at: DateTime<Utc>,
    },
    /// The marketplace refused it for good; an operator has to look at it.
    Failed { reason: String, failed_at: DateTime<Utc> },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    pub order: OrderKey,
    pub id: PackageId,
    pub carrier: String,
    pub tracking_id: String,
    pub ship_date: DateTime<Utc>,
    pub shipping_method: Option<String>,
    pub lines: Vec<PackageLine>,
    pub recorded_at: DateTime<Utc>,
    pub state: PackageState,
}

impl Package {
    pub(super) fn recorded(
        order: OrderKey,
        id: PackageId,
        request: &ShipmentRequest,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            order,
            id,
            carrier: request.carrier.trim().to_string(),
            tracking_id: request.tracking_id.trim().to_string(),
            ship_date: request.ship_date,
            shipping_method: request.shipping_method.clone(),
            lines: request.items.clone(),
            recorded_at: now,
            state: PackageState::Unreported { attempts: 0, last_error: None },
        }
    }

    /// Still to be confirmed to the marketplace (waiting, or being sent).
    pub fn is_unreported(&self) -> bool {
        matches!(self.state, PackageState::Unreported { .. } | PackageState::Sending { .. })
    }

    pub fn is_confirmed(&self) -> bool {
        matches!(self.state, PackageState::Confirmed { .. })
    }

    /// Whether a run may claim it at `now`: waiting, or claimed by a run whose lease ran out.
    pub fn is_claimable(&self, now: DateTime<Utc>) -> bool {
        match &self.state {
            PackageState::Unreported { .. } => true,
            PackageState::Sending { lease_until, .. } => *lease_until <= now,
            PackageState::Confirmed { .. } | PackageState::Failed { .. } => false,
        }
    }

    /// Claims the package for the run `claim` until `lease_until`; false when it isn't claimable.
    pub fn claim(&mut self, claim: &str, now: DateTime<Utc>, lease_until: DateTime<Utc>) -> bool {
        if !self.is_claimable(now) {
            return false;
        }
        let (attempts, last_error) = self.attempts();
        self.state = PackageState::Sending { claim: claim.to_string(), lease_until, attempts, last_error };
        true
    }

    fn attempts(&self) -> (u32, Option<String>) {
        match &self.state {
            PackageState::Unreported { attempts, last_error }
            | PackageState::Sending { attempts, last_error, .. } => (*attempts, last_error.clone()),
            _ => (0, None),
        }
    }

    pub fn mark_confirmed(&mut self, now: DateTime<Utc>) {
        self.state = PackageState::Confirmed { confirmed_at: now };
    }

    /// A failed try that is worth repeating: back to waiting, counted.
    pub fn note_failed_attempt(&mut self, error: String) {
        let (attempts, _) = self.attempts();
        self.state = PackageState::Unreported { attempts: attempts + 1, last_error: Some(error) };
    }

    pub fn mark_failed(&mut self, reason: String, now: DateTime<Utc>) {
        self.state = PackageState::Failed { reason, failed_at: now };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AccountId, Marketplace, MarketplaceOrderId, OrderItemId};
    use chrono::{Duration, TimeZone};

    fn package() -> Package {
        let key = OrderKey::new(
            Marketplace::Amazon,
            AccountId::parse("amazon-de").unwrap(),
            MarketplaceOrderId::parse("302-1").unwrap(),
        );
        let at = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
        let request = ShipmentRequest {
            carrier: "DHL".into(),
            tracking_id: "T1".into(),
            ship_date: at,
            shipping_method: None,
            items: vec![PackageLine { item_id: OrderItemId::parse("i").unwrap(), quantity: 1 }],
        };
        Package::recorded(key, PackageId::new(1).unwrap(), &request, at)
    }

    #[test]
    fn a_claimed_package_is_taken_over_only_after_its_lease_ran_out() {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap();
        let mut first = package();
        assert!(first.claim("run-1", now, now + Duration::minutes(15)));
        let mut second = first.clone();
        assert!(!second.claim("run-2", now + Duration::minutes(14), now + Duration::minutes(29)));
        assert!(second.claim("run-2", now + Duration::minutes(15), now + Duration::minutes(30)));
        assert!(matches!(second.state, PackageState::Sending { ref claim, .. } if claim == "run-2"));
    }

    #[test]
    fn confirmed_and_failed_packages_are_never_claimed_again() {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap();
        let mut confirmed = package();
        confirmed.mark_confirmed(now);
        assert!(!confirmed.claim("run", now, now));
        let mut failed = package();
        failed.mark_failed("refused".into(), now);
        assert!(!failed.claim("run", now, now));
    }

    #[test]
    fn a_failed_attempt_returns_the_package_to_waiting_and_counts_it() {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap();
        let mut package = package();
        package.claim("run", now, now);
        package.note_failed_attempt("throttled".into());
        package.claim("run", now, now);
        package.note_failed_attempt("throttled".into());
        assert_eq!(
            package.state,
            PackageState::Unreported { attempts: 2, last_error: Some("throttled".into()) }
        );
    }

    #[test]
    fn packages_stored_as_reported_read_as_confirmed() {
        let stored = serde_json::json!({"report_state": "Reported", "reported_at": "2026-12-01T10:00:00Z"});
        let state: PackageState = serde_json::from_value(stored).unwrap();
        assert!(matches!(state, PackageState::Confirmed { .. }));
    }
}
