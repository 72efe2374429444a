//! The import function's events: the EventBridge schedule (all enabled accounts), `{}` from the
//! console (same), or `{"accounts": ["amazon-de"]}` (just those).

use super::{is_scheduled_event, parse_console_event, HandlerError};
use crate::domain::AccountId;
use crate::ports::Ports;
use crate::usecases::import::{self, ImportReport, ImportRequest};
use crate::usecases::SelectError;
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
        return Err(HandlerError::BadEvent {
            function: FUNCTION,
            message: "`accounts` is empty; omit it to import every enabled account".into(),
        });
    }
    Ok(ImportRequest { accounts: console.accounts })
}

/// Runs the import. Accounts that failed are reported as an error after every other account
/// was imported, so the failure shows in the function's error metric; a rerun is safe.
pub async fn handle(ports: &Ports, event: Value, deadline: Deadline) -> Result<ImportReport, HandlerError> {
    let request = parse_event(event)?;
    let report = import::run(ports, &request, deadline).await.map_err(|e| match e {
        SelectError::UnknownAccount(_) => {
            HandlerError::BadEvent { function: FUNCTION, message: e.to_string() }
        }
        SelectError::Store(e) => HandlerError::Failed { function: FUNCTION, message: e.to_string() },
    })?;
    let failed = report.failed_accounts();
    if !failed.is_empty() {
        return Err(HandlerError::Failed {
            function: FUNCTION,
            message: format!(
                "accounts {} failed (the others were imported): {}",
                failed.join(", "),
                report.accounts.iter().filter_map(|a| a.error.as_deref()).collect::<Vec<_>>().join("; ")
            ),
        });
    }
    Ok(report)
}
