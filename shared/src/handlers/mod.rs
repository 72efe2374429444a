//! Lambda event payloads in, use case results out. The function binaries only wire these to the
//! runtime, so tests drive exactly what runs in Lambda.

pub mod import;
pub mod shipment;
pub mod status;

use serde::de::DeserializeOwned;
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// The event itself is wrong; nothing was done. Fix the event and invoke again.
    #[error("invalid {function} event: {message}")]
    BadEvent { function: &'static str, message: String },
    /// The work failed; see the message. Reruns are safe.
    #[error("{function} failed: {message}")]
    Failed { function: &'static str, message: String },
}

/// True for the payload EventBridge sends for a schedule rule.
fn is_scheduled_event(event: &Value) -> bool {
    event.get("source").and_then(Value::as_str) == Some("aws.events")
        && event.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event")
}

/// Reads a console event into `T`, naming the offending field on failure.
fn parse_console_event<T: DeserializeOwned>(function: &'static str, event: Value) -> Result<T, HandlerError> {
    if !event.is_object() {
        return Err(HandlerError::BadEvent {
            function,
            message: format!("expected a JSON object, got {}", kind_of(&event)),
        });
    }
    // The path names the offending field even for nested values ("record_shipment.ship_date").
    serde_path_to_error::deserialize(event)
        .map_err(|e| HandlerError::BadEvent { function, message: e.to_string() })
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
