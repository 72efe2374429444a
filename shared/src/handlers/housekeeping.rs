//! The housekeeping function's events: its schedule, or `{}` from the console. It sweeps
//! long-pending orders, publishes the pending gauges and erases expired buyer data.

use super::{is_scheduled_event, parse_console_event, ErrorKind, HandlerError};
use crate::ports::Ports;
use crate::usecases::housekeeping::{self, HousekeepingError, HousekeepingReport};
use crate::Deadline;
use serde::Deserialize;
use serde_json::Value;

const FUNCTION: &str = "housekeeping";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsoleHousekeeping {}

pub async fn handle(
    ports: &Ports,
    event: Value,
    deadline: Deadline,
) -> Result<HousekeepingReport, HandlerError> {
    if !is_scheduled_event(&event) {
        let _: ConsoleHousekeeping = parse_console_event(FUNCTION, event)?;
    }
    housekeeping::run(ports, deadline).await.map_err(|e| match e {
        HousekeepingError::Store(e) => HandlerError::from_store(FUNCTION, &e),
        HousekeepingError::Queue(e) => HandlerError::new(ErrorKind::InternalError, FUNCTION, e.to_string()),
    })
}
