//! The import function's events: the EventBridge schedule (all enabled accounts), `{}` from the
//! console (same), or `{"accounts": ["amazon-de"]}` (just those).

use super::{is_scheduled_event, parse_console_event, ErrorKind, HandlerError};
use crate::domain::AccountId;
use crate::ports::Ports;
use crate::usecases::import::{self, ImportReport, ImportRequest};
use crate::Deadline;
use serde::Deserialize;
use serde_json::Value;

const FUNCTION: &str = "import";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsoleImport {
    accounts: Option<Vec<AccountId>>,
}

pub fn parse_event(event: Value) -> Result<ImportRequest, HandlerError> {
    if is_scheduled_event(&event) {
        return Ok(ImportRequest { accounts: None });
    }
    let console: ConsoleImport = parse_console_event(FUNCTION, event)?;
    if console.accounts.as_ref().is_some_and(|a| a.is_empty()) {
        return Err(HandlerError::invalid_event(
            FUNCTION,
            "`accounts` is empty; omit it to import every enabled account",
        ));
    }
    Ok(ImportRequest { accounts: console.accounts })
}

/// Runs the import. Accounts that failed are reported as an error after every other account
/// was imported, so the failure shows in the function's error metric; a rerun is safe.
pub async fn handle(ports: &Ports, event: Value, deadline: Deadline) -> Result<ImportReport, HandlerError> {
    let request = parse_event(event)?;
    let report =
        import::run(ports, &request, deadline).await.map_err(|e| HandlerError::from_select(FUNCTION, e))?;
    let failed = report.failed_accounts();
    if !failed.is_empty() {
        return Err(HandlerError::new(
            ErrorKind::AccountsFailed,
            FUNCTION,
            format!(
                "accounts {} failed (the others were imported): {}",
                failed.join(", "),
                report.accounts.iter().filter_map(|a| a.error.as_deref()).collect::<Vec<_>>().join("; ")
            ),
        ));
    }
    Ok(report)
}
