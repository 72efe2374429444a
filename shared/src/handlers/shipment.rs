//! The shipment function's events: the schedule or `{}` (report every unreported package),
//! `{"accounts": [...]}` (only those accounts), `{"record_shipment": {...}}` (record one
//! package; it is reported at the next run), or `{"decide": {...}}` (the seller's answer to a
//! decision the marketplace left open: accept or refuse an order, agree to or deny a
//! cancellation request; sent to the marketplace at once). All are what the seller reports
//! to the marketplace.

use super::{is_scheduled_event, parse_console_event, ErrorKind, HandlerError};
use crate::domain::{AccountId, AnsweredBy, MarketplaceOrderId, OrderItemId, PackageLine, ShipmentRequest};
use crate::ports::Ports;
use crate::usecases::decisions::{self, DecisionAnswer, DecisionError};
use crate::usecases::shipment::{self, RecordedPackage, ShipmentError, ShipmentReport};
use crate::Deadline;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

const FUNCTION: &str = "shipment";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsoleShipment {
    accounts: Option<Vec<AccountId>>,
    record_shipment: Option<RecordShipment>,
    decide: Option<DecisionAnswer>,
}

/// One package the merchant shipped, as entered on the console or the command line.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RecordShipment {
    pub account_id: AccountId,
    pub marketplace_order_id: MarketplaceOrderId,
    pub carrier: String,
    /// One tracking number, or several (`tracking_ids`) for parcels of the same lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tracking_ids: Vec<String>,
    /// The tracking number of a return label enclosed with the package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_tracking_id: Option<String>,
    pub ship_date: DateTime<Utc>,
    #[serde(default)]
    pub shipping_method: Option<String>,
    pub items: Vec<RecordShipmentItem>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RecordShipmentItem {
    pub order_item_id: OrderItemId,
    pub quantity: u32,
}

impl RecordShipment {
    pub fn request(&self) -> ShipmentRequest {
        ShipmentRequest {
            carrier: self.carrier.clone(),
            tracking_ids: self.tracking_id.iter().chain(&self.tracking_ids).cloned().collect(),
            return_tracking_id: self.return_tracking_id.clone(),
            ship_date: self.ship_date,
            shipping_method: self.shipping_method.clone(),
            items: self.items.iter().map(|i| PackageLine::new(i.order_item_id.clone(), i.quantity)).collect(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ShipmentResponse {
    Recorded(RecordedPackage),
    Reported(ShipmentReport),
    Decided(DecisionAnswer),
}

pub enum ShipmentCommand {
    Report { accounts: Option<Vec<AccountId>> },
    Record(RecordShipment),
    Decide(DecisionAnswer),
}

pub fn parse_event(event: Value) -> Result<ShipmentCommand, HandlerError> {
    if is_scheduled_event(&event) {
        return Ok(ShipmentCommand::Report { accounts: None });
    }
    let console: ConsoleShipment = parse_console_event(FUNCTION, event)?;
    if let Some(answer) = console.decide {
        if console.accounts.is_some() || console.record_shipment.is_some() {
            return Err(HandlerError::invalid_event(FUNCTION, "give `decide` alone"));
        }
        return Ok(ShipmentCommand::Decide(answer));
    }
    match (console.accounts, console.record_shipment) {
        (Some(_), Some(_)) => Err(HandlerError::invalid_event(
            FUNCTION,
            "give either `accounts` (report) or `record_shipment` (record), not both",
        )),
        (_, Some(record)) => Ok(ShipmentCommand::Record(record)),
        (Some(accounts), None) if accounts.is_empty() => Err(HandlerError::invalid_event(
            FUNCTION,
            "`accounts` is empty; omit it to report for every enabled account",
        )),
        (accounts, None) => Ok(ShipmentCommand::Report { accounts }),
    }
}

pub async fn handle(
    ports: &Ports,
    event: Value,
    deadline: Deadline,
) -> Result<ShipmentResponse, HandlerError> {
    let outcome = match parse_event(event)? {
        ShipmentCommand::Decide(answer) => {
            return decisions::decide(ports, &answer, AnsweredBy::Operator, deadline)
                .await
                .map(|()| ShipmentResponse::Decided(answer))
                .map_err(decision_error);
        }
        ShipmentCommand::Record(record) => {
            shipment::record(ports, &record.account_id, &record.marketplace_order_id, &record.request())
                .await
                .map(ShipmentResponse::Recorded)
        }
        ShipmentCommand::Report { accounts } => {
            shipment::report(ports, accounts.as_deref(), deadline).await.map(ShipmentResponse::Reported)
        }
    };
    outcome.map_err(|e| match e {
        ShipmentError::Select(e) => HandlerError::from_select(FUNCTION, e),
        ShipmentError::Store(e) => HandlerError::from_store(FUNCTION, &e),
        e @ ShipmentError::UnknownOrder(_) => {
            HandlerError::new(ErrorKind::OrderNotFound, FUNCTION, e.to_string())
        }
        e @ ShipmentError::Refused(_) => {
            HandlerError::new(ErrorKind::ShipmentRefused, FUNCTION, e.to_string())
        }
        e @ ShipmentError::Invalid { .. } => HandlerError::invalid_event(FUNCTION, e.to_string()),
    })
}

fn decision_error(error: DecisionError) -> HandlerError {
    match error {
        DecisionError::UnknownAccount(_) => {
            HandlerError::new(ErrorKind::UnknownAccount, FUNCTION, error.to_string())
        }
        DecisionError::UnknownOrder(_) => {
            HandlerError::new(ErrorKind::OrderNotFound, FUNCTION, error.to_string())
        }
        DecisionError::Refused(_) => HandlerError::invalid_event(FUNCTION, error.to_string()),
        DecisionError::Marketplace(e) => HandlerError::from_marketplace(FUNCTION, &e),
        DecisionError::Store(e) => HandlerError::from_store(FUNCTION, &e),
    }
}
