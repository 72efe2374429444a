//! `orderbridge decisions …`: the decisions a marketplace leaves to the seller (SCX: accept or
//! refuse a new order, agree to or deny a buyer's cancellation request), each with its deadline,
//! and the operator's answer. Thin over the shared decisions use case: the answer goes to the
//! marketplace first and is recorded on the order only once the marketplace took it.

use crate::accounts::MARKETPLACE_TIME;
use crate::commands::Session;
use crate::errors::{fatal, one_line};
use anyhow::Result;
use orderbridge::domain::{AccountId, AnsweredBy, Decision, MarketplaceOrderId};
use orderbridge::usecases::decisions::{self, DecisionAnswer, OpenDecision};
use orderbridge::Deadline;

/// One open decision as `decisions list` prints it: account, order, decision id, kind, units,
/// requested at, respond until.
pub fn decision_line(decision: &OpenDecision) -> String {
    format!(
        "{}\t{}\t{}\t{}\t{}\trequested {}\trespond until {}",
        decision.account_id,
        decision.marketplace_order_id,
        decision.decision_id,
        decision.kind,
        if decision.units.is_empty() { "-".to_string() } else { decision.units.join(",") },
        decision.requested_at.to_rfc3339(),
        decision.respond_until.map(|d| d.to_rfc3339()).unwrap_or_else(|| "no deadline".into())
    )
}

/// `decisions list [--account ID]`: the most urgent first.
pub async fn list(session: &Session, account: Option<&str>) -> Result<()> {
    let account = account.map(AccountId::parse).transpose()?;
    if let Some(id) = &account {
        if session.ports.accounts.get_account(id).await?.is_none() {
            return Err(fatal(format!("no account {id}")));
        }
    }
    let open = decisions::list(&session.ports, account.as_ref())
        .await
        .map_err(|e| fatal(format!("listing decisions failed: {}", one_line(&e.to_string()))))?;
    if open.is_empty() {
        println!("no open decisions");
    }
    for decision in &open {
        println!("{}", decision_line(decision));
    }
    Ok(())
}

/// Which decision an operator answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Which {
    /// The order itself (`accept-order`).
    Order,
    /// A buyer's cancellation request, by the marketplace's request id.
    Cancellation(String),
}

impl Which {
    fn decision_id(&self) -> &str {
        match self {
            Which::Order => Decision::ACCEPT_ORDER_ID,
            Which::Cancellation(request_id) => request_id,
        }
    }

    fn answered(&self, accept: bool) -> String {
        match (self, accept) {
            (Which::Order, true) => "order accepted".into(),
            (Which::Order, false) => "order refused".into(),
            (Which::Cancellation(id), true) => format!("cancellation {id} accepted: its units are cancelled"),
            (Which::Cancellation(id), false) => format!("cancellation {id} denied: its units ship"),
        }
    }
}

/// `decisions accept|refuse ACCOUNT ORDER`, `decisions accept-cancellation|deny-cancellation
/// ACCOUNT ORDER REQUEST_ID`: the operator's answer, sent to the marketplace, then recorded.
pub async fn decide(session: &Session, account: &str, order: &str, which: Which, accept: bool) -> Result<()> {
    let answer = DecisionAnswer {
        account_id: AccountId::parse(account)?,
        marketplace_order_id: MarketplaceOrderId::parse(order)?,
        decision_id: which.decision_id().to_string(),
        accept,
    };
    decisions::decide(&session.ports, &answer, AnsweredBy::Operator, Deadline::after(MARKETPLACE_TIME))
        .await
        .map_err(|e| {
            fatal(format!(
                "decision {} on order {} of account {} not answered: {}; it stays open",
                answer.decision_id,
                answer.marketplace_order_id,
                answer.account_id,
                one_line(&e.to_string())
            ))
        })?;
    println!(
        "account {} order {}: {}",
        answer.account_id,
        answer.marketplace_order_id,
        which.answered(accept)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_decision_is_one_line_with_its_deadline() {
        let at = chrono::Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
        let decision = OpenDecision {
            account_id: "scx-otto".into(),
            marketplace_order_id: "SCX-4711".into(),
            decision_id: "req-1".into(),
            kind: "cancellation",
            units: vec!["A:1".into(), "B:2".into()],
            requested_at: at,
            respond_until: None,
        };
        assert_eq!(
            decision_line(&decision),
            "scx-otto\tSCX-4711\treq-1\tcancellation\tA:1,B:2\trequested 2026-12-01T09:00:00+00:00\trespond until no deadline"
        );
    }
}
