//! Decisions a marketplace leaves to the seller (SCX: accept or refuse an `UNACKED` order by
//! `orderAcceptUntil`; agree to or deny a buyer's cancellation request). Each account answers
//! them by its policy: automatically, or by the operator (`orderbridge decisions …`, or a
//! console event), who sees every open decision with its deadline.

use super::changes::{modify_order, Step};
use crate::domain::{
    AccountId, AnsweredBy, DecisionKind, DecisionPolicy, MarketplaceAccount, MarketplaceOrderId, OrderKey,
    OrderStatus, SalesOrder, TransitionError,
};
use crate::ports::{MarketplaceClient, MarketplaceError, Ports, StoreError};
use crate::Deadline;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum DecisionError {
    #[error("no marketplace account {0:?} is configured")]
    UnknownAccount(AccountId),
    #[error("order {0} is not stored")]
    UnknownOrder(OrderKey),
    /// The decision is unknown, answered already, or its answer can't apply any more.
    #[error("{0}")]
    Refused(#[from] TransitionError),
    #[error(transparent)]
    Marketplace(#[from] MarketplaceError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One decision waiting for the seller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenDecision {
    pub account_id: String,
    pub marketplace_order_id: String,
    pub decision_id: String,
    /// `accept-order` or `cancellation`.
    pub kind: &'static str,
    /// For a cancellation: `ITEM:QUANTITY` per line asked to be cancelled.
    pub units: Vec<String>,
    pub requested_at: DateTime<Utc>,
    pub respond_until: Option<DateTime<Utc>>,
}

/// The seller's answer, as the console event and the command line give it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionAnswer {
    pub account_id: AccountId,
    pub marketplace_order_id: MarketplaceOrderId,
    /// `accept-order`, or the marketplace's cancellation request id.
    pub decision_id: String,
    /// Accept the order / agree to the cancellation (true), or refuse / deny (false).
    pub accept: bool,
}

const PAGE: u32 = 200;
/// Decisions are only open on orders that still move.
const UNSETTLED: [OrderStatus; 3] =
    [OrderStatus::Pending, OrderStatus::Deliverable, OrderStatus::PartiallyShipped];

/// Every open decision (of one account, or all), the most urgent first.
pub async fn list(ports: &Ports, account: Option<&AccountId>) -> Result<Vec<OpenDecision>, DecisionError> {
    let orders = orders_with_open_decisions(ports, account).await?;
    let mut open: Vec<OpenDecision> = orders.iter().flat_map(open_decisions).collect();
    open.sort_by_key(|d| (d.respond_until.is_none(), d.respond_until, d.requested_at));
    Ok(open)
}

/// The orders (of one account, or all) with at least one open decision.
pub async fn orders_with_open_decisions(
    ports: &Ports,
    account: Option<&AccountId>,
) -> Result<Vec<SalesOrder>, StoreError> {
    let mut orders = Vec::new();
    for status in UNSETTLED {
        let mut start = None;
        loop {
            let page = ports.orders.orders_by_status(status, PAGE, start).await?;
            orders.extend(page.items.into_iter().filter(|o| {
                account.is_none_or(|a| &o.key.account_id == a) && o.open_decisions().next().is_some()
            }));
            start = page.next;
            if start.is_none() {
                break;
            }
        }
    }
    Ok(orders)
}

fn open_decisions(order: &SalesOrder) -> impl Iterator<Item = OpenDecision> + '_ {
    order.open_decisions().map(|d| OpenDecision {
        account_id: order.key.account_id.to_string(),
        marketplace_order_id: order.key.marketplace_order_id.to_string(),
        decision_id: d.id.clone(),
        kind: d.kind.name(),
        units: match &d.kind {
            DecisionKind::AcceptOrder => Vec::new(),
            DecisionKind::Cancellation { units, .. } => {
                units.iter().map(|u| format!("{}:{}", u.item_id, u.quantity)).collect()
            }
        },
        requested_at: d.requested_at,
        respond_until: d.respond_until,
    })
}

/// Sends the seller's answer to the marketplace, then records it on the order (agreeing to a
/// cancellation cancels its units). Nothing is recorded if the marketplace refuses it.
pub async fn decide(
    ports: &Ports,
    answer: &DecisionAnswer,
    by: AnsweredBy,
    deadline: Deadline,
) -> Result<(), DecisionError> {
    let account = ports
        .accounts
        .get_account(&answer.account_id)
        .await?
        .ok_or_else(|| DecisionError::UnknownAccount(answer.account_id.clone()))?;
    let client = ports.marketplaces.connect(&account).await?;
    let key = OrderKey::new(account.marketplace(), account.id.clone(), answer.marketplace_order_id.clone());
    let order =
        ports.orders.get_order(&key).await?.ok_or_else(|| DecisionError::UnknownOrder(key.clone()))?;
    answer_on(ports, client.as_ref(), order, &answer.decision_id, answer.accept, by, deadline).await
}

async fn answer_on(
    ports: &Ports,
    client: &dyn MarketplaceClient,
    order: SalesOrder,
    decision_id: &str,
    accept: bool,
    by: AnsweredBy,
    deadline: Deadline,
) -> Result<(), DecisionError> {
    // Checked on a copy first, so that nothing is sent that the order could not record.
    let mut checked = order.clone();
    checked.answer_decision(decision_id, accept, by, ports.clock.now())?;
    let decision = order.decisions.iter().find(|d| d.id == decision_id).expect("checked above");
    client.answer_decision(&order, decision, accept, deadline).await?;
    let now = ports.clock.now();
    modify_order(ports.orders.as_ref(), &order.key, |stored| {
        stored.answer_decision(decision_id, accept, by, now)?;
        Ok::<_, DecisionError>(Step::Save(()))
    })
    .await?
    .ok_or_else(|| DecisionError::UnknownOrder(order.key.clone()))?;
    tracing::info!(order = %order.key, decision = decision_id, accept, by = ?by, "decision answered");
    Ok(())
}

/// Answers the order's open decisions if the account's policy accepts automatically. Returns
/// how many were answered; a failure leaves the decision open for the next try or the operator.
pub async fn answer_by_policy(
    ports: &Ports,
    account: &MarketplaceAccount,
    client: &dyn MarketplaceClient,
    order: &SalesOrder,
    deadline: Deadline,
) -> u32 {
    if account.decision_policy() != DecisionPolicy::AcceptAutomatically {
        return 0;
    }
    let mut answered = 0;
    let ids: Vec<String> = order.open_decisions().map(|d| d.id.clone()).collect();
    for id in ids {
        let Ok(Some(current)) = ports.orders.get_order(&order.key).await else {
            return answered;
        };
        match answer_on(ports, client, current, &id, true, AnsweredBy::Policy, deadline).await {
            Ok(()) => answered += 1,
            Err(error) => {
                tracing::warn!(order = %order.key, decision = %id, %error, "automatic answer failed; the decision stays open")
            }
        }
    }
    answered
}
