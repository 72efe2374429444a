//! Shipments: the packages a merchant sent for an order, and whether the marketplace has been
//! told about them.

use super::{OrderItemId, OrderKey, PackageId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What the merchant says they shipped: one package, with one tracking number or several
/// (parcels of the same lines), and a return label's tracking number if one was enclosed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipmentRequest {
    pub carrier: String,
    /// `tracking_id` (one) or `tracking_ids` (several) in a console event.
    #[serde(alias = "tracking_id", deserialize_with = "one_or_many")]
    pub tracking_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_tracking_id: Option<String>,
    pub ship_date: DateTime<Utc>,
    pub shipping_method: Option<String>,
    pub items: Vec<PackageLine>,
}

impl ShipmentRequest {
    /// A package with one tracking number and no return label.
    pub fn single(
        carrier: impl Into<String>,
        tracking_id: impl Into<String>,
        ship_date: DateTime<Utc>,
        items: Vec<PackageLine>,
    ) -> Self {
        Self {
            carrier: carrier.into(),
            tracking_ids: vec![tracking_id.into()],
            return_tracking_id: None,
            ship_date,
            shipping_method: None,
            items,
        }
    }
}

/// Units of one order line in a package, with the marketplace's unit ids where it ships by
/// unit (OTTO, Kaufland).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageLine {
    pub item_id: OrderItemId,
    pub quantity: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unit_ids: Vec<String>,
}

impl PackageLine {
    pub fn new(item_id: OrderItemId, quantity: u32) -> Self {
        Self { item_id, quantity, unit_ids: Vec::new() }
    }
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(one) => vec![one],
        OneOrMany::Many(many) => many,
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "report_state")]
pub enum PackageState {
    /// Waiting to be reported to the marketplace; `attempts` counts failed tries so far.
    /// `uncertain_since`: an earlier try may have reached the marketplace (a timeout, a server
    /// error, a sender that died); where a repeat is not harmless, the marketplace's record
    /// is checked before it is sent again.
    Unreported {
        attempts: u32,
        last_error: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        uncertain_since: Option<DateTime<Utc>>,
    },
    /// Claimed by one shipment run, which is sending it now. Another run may take it over only
    /// once the lease has run out (the claiming run died), so overlapping runs never send the
    /// same package at the same moment.
    Sending {
        claim: String,
        lease_until: DateTime<Utc>,
        attempts: u32,
        last_error: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        uncertain_since: Option<DateTime<Utc>>,
    },
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
    /// One or more; stored as `tracking_id` by earlier versions.
    #[serde(alias = "tracking_id", deserialize_with = "one_or_many")]
    pub tracking_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_tracking_id: Option<String>,
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
        lines: Vec<PackageLine>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            order,
            id,
            carrier: request.carrier.trim().to_string(),
            tracking_ids: request.tracking_ids.iter().map(|t| t.trim().to_string()).collect(),
            return_tracking_id: request.return_tracking_id.as_ref().map(|t| t.trim().to_string()),
            ship_date: request.ship_date,
            shipping_method: request.shipping_method.clone(),
            lines,
            recorded_at: now,
            state: PackageState::Unreported { attempts: 0, last_error: None, uncertain_since: None },
        }
    }

    /// The first tracking number: the one marketplaces that take only one are given.
    pub fn tracking_id(&self) -> &str {
        self.tracking_ids.first().map(String::as_str).unwrap_or_default()
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
        let (attempts, last_error, mut uncertain_since) = self.attempts();
        if let PackageState::Sending { lease_until: expired, .. } = &self.state {
            // Taken over from a run that died while it may have been sending.
            uncertain_since = uncertain_since.or(Some(*expired));
        }
        self.state = PackageState::Sending {
            claim: claim.to_string(),
            lease_until,
            attempts,
            last_error,
            uncertain_since,
        };
        true
    }

    fn attempts(&self) -> (u32, Option<String>, Option<DateTime<Utc>>) {
        match &self.state {
            PackageState::Unreported { attempts, last_error, uncertain_since }
            | PackageState::Sending { attempts, last_error, uncertain_since, .. } => {
                (*attempts, last_error.clone(), *uncertain_since)
            }
            _ => (0, None, None),
        }
    }

    /// Since when an earlier try may have reached the marketplace, if one may have.
    pub fn uncertain_since(&self) -> Option<DateTime<Utc>> {
        self.attempts().2
    }

    pub fn mark_confirmed(&mut self, now: DateTime<Utc>) {
        self.state = PackageState::Confirmed { confirmed_at: now };
    }

    /// A failed try that is worth repeating: back to waiting, counted. `maybe_sent_at`: when
    /// the try may have reached the marketplace after all (its outcome is unknown).
    pub fn note_failed_attempt(&mut self, error: String, maybe_sent_at: Option<DateTime<Utc>>) {
        let (attempts, _, uncertain_since) = self.attempts();
        self.state = PackageState::Unreported {
            attempts: attempts + 1,
            last_error: Some(error),
            uncertain_since: uncertain_since.or(maybe_sent_at),
        };
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
        let items = vec![PackageLine::new(OrderItemId::parse("i").unwrap(), 1)];
        let request = ShipmentRequest::single("DHL", "T1", at, items.clone());
        Package::recorded(key, PackageId::new(1).unwrap(), &request, items, at)
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
        package.note_failed_attempt("throttled".into(), None);
        package.claim("run", now, now);
        package.note_failed_attempt("timed out".into(), Some(now));
        assert_eq!(
            package.state,
            PackageState::Unreported {
                attempts: 2,
                last_error: Some("timed out".into()),
                uncertain_since: Some(now)
            }
        );
    }

    #[test]
    fn a_request_names_one_tracking_number_or_several() {
        let one: ShipmentRequest = serde_json::from_value(serde_json::json!({
            "carrier": "DHL", "tracking_id": "T1", "ship_date": "2026-12-01T10:00:00Z",
            "shipping_method": null, "items": [{"item_id": "i", "quantity": 1}]
        }))
        .unwrap();
        assert_eq!(one.tracking_ids, vec!["T1"]);
        let many: ShipmentRequest = serde_json::from_value(serde_json::json!({
            "carrier": "DHL", "tracking_ids": ["T1", "T2"], "return_tracking_id": "R1",
            "ship_date": "2026-12-01T10:00:00Z", "shipping_method": null,
            "items": [{"item_id": "i", "quantity": 1}]
        }))
        .unwrap();
        assert_eq!((many.tracking_ids.len(), many.return_tracking_id.as_deref()), (2, Some("R1")));
    }

    #[test]
    fn packages_stored_as_reported_read_as_confirmed() {
        let stored = serde_json::json!({"report_state": "Reported", "reported_at": "2026-12-01T10:00:00Z"});
        let state: PackageState = serde_json::from_value(stored).unwrap();
        assert!(matches!(state, PackageState::Confirmed { .. }));
    }
}
