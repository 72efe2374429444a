//! Lambda event payloads in, use case results out. The function binaries only wire these to the
//! runtime, so tests drive exactly what runs in Lambda.

pub mod housekeeping;
pub mod import;
pub mod shipment;
pub mod status;

use crate::ports::{MarketplaceError, Retryable, StoreError};
use crate::usecases::SelectError;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The class of a function error. Its name is the Lambda `errorType`, stable across releases, so
/// log filters and alarms can tell malformed input from business refusals from outages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum ErrorKind {
    /// The event itself is malformed (not JSON of the documented shape, a field wrong).
    /// Nothing was done; fix the event and invoke again.
    InvalidEvent,
    /// The event names an account that is not configured.
    UnknownAccount,
    /// The event names an order that is not stored.
    OrderNotFound,
    /// The order can't take this shipment now (Pending, Cancelled, more than ordered, an item
    /// it doesn't have). A business refusal, not a malformed event.
    ShipmentRefused,
    /// The marketplace refused what the seller sent (a decision's answer): past its deadline,
    /// already answered there, or credentials refused. Not worth a retry as is.
    MarketplaceRefused,
    /// Some accounts failed; every other account was processed. Reruns are safe.
    AccountsFailed,
    /// Every message of a queue batch failed: the marketplace or the store is down.
    BatchFailed,
    /// The order store is throttling or unreachable; the next run retries.
    StoreUnavailable,
    /// A marketplace is throttling, failing or unreachable; the next run retries.
    MarketplaceUnavailable,
    /// Anything else: a bug or a misconfiguration; see the message.
    InternalError,
}

impl ErrorKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            ErrorKind::InvalidEvent => "InvalidEvent",
            ErrorKind::UnknownAccount => "UnknownAccount",
            ErrorKind::OrderNotFound => "OrderNotFound",
            ErrorKind::ShipmentRefused => "ShipmentRefused",
            ErrorKind::MarketplaceRefused => "MarketplaceRefused",
            ErrorKind::AccountsFailed => "AccountsFailed",
            ErrorKind::BatchFailed => "BatchFailed",
            ErrorKind::StoreUnavailable => "StoreUnavailable",
            ErrorKind::MarketplaceUnavailable => "MarketplaceUnavailable",
            ErrorKind::InternalError => "InternalError",
        }
    }
}

/// A function's failure: its class and a message naming the account, order or field.
#[derive(Debug, thiserror::Error)]
#[error("{function}: {message}")]
pub struct HandlerError {
    pub kind: ErrorKind,
    pub function: &'static str,
    pub message: String,
}

impl HandlerError {
    pub fn new(kind: ErrorKind, function: &'static str, message: impl Into<String>) -> Self {
        Self { kind, function, message: message.into() }
    }

    pub(crate) fn invalid_event(function: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidEvent, function, format!("invalid event: {}", message.into()))
    }

    /// The Lambda `errorType`.
    pub fn error_type(&self) -> &'static str {
        self.kind.as_str()
    }

    pub(crate) fn from_store(function: &'static str, error: &StoreError) -> Self {
        let kind = if error.is_retryable() { ErrorKind::StoreUnavailable } else { ErrorKind::InternalError };
        Self::new(kind, function, error.to_string())
    }

    pub(crate) fn from_marketplace(function: &'static str, error: &MarketplaceError) -> Self {
        let kind = if error.is_retryable() {
            ErrorKind::MarketplaceUnavailable
        } else {
            ErrorKind::MarketplaceRefused
        };
        Self::new(kind, function, error.to_string())
    }

    pub(crate) fn from_select(function: &'static str, error: SelectError) -> Self {
        match error {
            SelectError::UnknownAccount(_) => {
                Self::new(ErrorKind::UnknownAccount, function, error.to_string())
            }
            SelectError::Store(e) => Self::from_store(function, &e),
        }
    }
}

/// True for the payload EventBridge sends for a schedule rule.
fn is_scheduled_event(event: &Value) -> bool {
    event.get("source").and_then(Value::as_str) == Some("aws.events")
        && event.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event")
}

/// Reads a console event into `T`, naming the offending field on failure.
fn parse_console_event<T: DeserializeOwned>(function: &'static str, event: Value) -> Result<T, HandlerError> {
    if !event.is_object() {
        return Err(HandlerError::invalid_event(
            function,
            format!("expected a JSON object, got {}", kind_of(&event)),
        ));
    }
    // The path names the offending field even for nested values ("record_shipment.ship_date").
    serde_path_to_error::deserialize(event).map_err(|e| HandlerError::invalid_event(function, e.to_string()))
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
