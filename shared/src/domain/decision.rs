//! Decisions a marketplace leaves to the seller, with a deadline: accept or refuse a new order
//! (SCX `UNACKED`, by `orderAcceptUntil`), accept or deny a buyer's cancellation request.

use super::LineQuantity;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DecisionKind {
    /// Accept the order (it ships) or refuse it (it is cancelled).
    AcceptOrder,
    /// Cancel these units as asked, or deny and ship them.
    Cancellation {
        units: Vec<LineQuantity>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
}

impl DecisionKind {
    pub fn name(&self) -> &'static str {
        match self {
            DecisionKind::AcceptOrder => "accept-order",
            DecisionKind::Cancellation { .. } => "cancellation",
        }
    }
}

/// Who answered a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnsweredBy {
    /// The account's policy answered it automatically.
    Policy,
    Operator,
    /// The marketplace settled it itself (the order moved on, or the deadline passed).
    Marketplace,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// Accepted the order, or agreed to the cancellation.
    pub accepted: bool,
    pub by: AnsweredBy,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// [`Decision::ACCEPT_ORDER_ID`], or the marketplace's cancellation request id.
    pub id: String,
    #[serde(flatten)]
    pub kind: DecisionKind,
    pub requested_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub respond_until: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<Answer>,
}

impl Decision {
    pub const ACCEPT_ORDER_ID: &'static str = "accept-order";

    pub fn open(
        id: String,
        kind: DecisionKind,
        requested_at: DateTime<Utc>,
        respond_until: Option<DateTime<Utc>>,
    ) -> Self {
        Self { id, kind, requested_at, respond_until, answer: None }
    }

    pub fn is_open(&self) -> bool {
        self.answer.is_none()
    }

    /// The marketplace settled it (accepted when the order went on, refused when cancelled);
    /// an answer already given stays.
    pub(super) fn settle_by_marketplace(&mut self, accepted: bool, at: DateTime<Utc>) {
        if self.answer.is_none() {
            self.answer = Some(Answer { accepted, by: AnsweredBy::Marketplace, at });
        }
    }
}

/// How an account answers decisions the marketplace leaves to the seller.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionPolicy {
    /// Accept new orders and agree to cancellation requests at once.
    AcceptAutomatically,
    /// Leave every decision to the operator (`orderbridge decisions …`), with its deadline.
    #[default]
    AskOperator,
}

impl super::SalesOrder {
    /// The seller's answer to an open decision. Agreeing to a cancellation request cancels
    /// its units; accepting or refusing an order changes nothing else here (the marketplace
    /// moves the order on, which its feed reports). Refused when the decision is unknown or
    /// already answered, or its units can no longer be cancelled.
    pub fn answer_decision(
        &mut self,
        decision_id: &str,
        accepted: bool,
        by: AnsweredBy,
        at: DateTime<Utc>,
    ) -> Result<(), super::TransitionError> {
        let Some(index) = self.decisions.iter().position(|d| d.id == decision_id && d.is_open()) else {
            return Err(super::TransitionError::NoOpenDecision {
                order: self.key.clone(),
                decision: decision_id.to_string(),
            });
        };
        if let (true, DecisionKind::Cancellation { units, .. }) = (accepted, &self.decisions[index].kind) {
            let units = units.clone();
            self.cancel_units(&units, at)?;
        }
        self.decisions[index].answer = Some(Answer { accepted, by, at });
        Ok(())
    }

    /// The decisions still waiting for an answer.
    pub fn open_decisions(&self) -> impl Iterator<Item = &Decision> {
        self.decisions.iter().filter(|d| d.is_open())
    }
}
