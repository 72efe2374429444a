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
    Unreported {
        attempts: u32,
        last_error: Option<String>,
    },
    Reported {
        reported_at: DateTime<Utc>,
    },
    /// The marketplace refused it for good; an operator has to look at it.
    Failed {
        reason: String,
        failed_at: DateTime<Utc>,
    },
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

    pub fn is_unreported(&self) -> bool {
        matches!(self.state, PackageState::Unreported { .. })
    }

    pub fn mark_reported(&mut self, now: DateTime<Utc>) {
        self.state = PackageState::Reported { reported_at: now };
    }

    pub fn note_failed_attempt(&mut self, error: String) {
        let attempts = match &self.state {
            PackageState::Unreported { attempts, .. } => attempts + 1,
            _ => 1,
        };
        self.state = PackageState::Unreported { attempts, last_error: Some(error) };
    }

    pub fn mark_failed(&mut self, reason: String, now: DateTime<Utc>) {
        self.state = PackageState::Failed { reason, failed_at: now };
    }
}
