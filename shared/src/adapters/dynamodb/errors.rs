//! SDK errors → store errors that say whether to retry.

use crate::ports::StoreError;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use std::fmt::Debug;

const THROTTLING: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "LimitExceededException",
];

pub fn classify<E, R>(operation: &'static str, error: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: Debug,
{
    let code = error.code().map(str::to_string);
    let message = DisplayErrorContext(&error).to_string();
    match code.as_deref() {
        Some("ConditionalCheckFailedException") => {
            StoreError::NotInExpectedState { what: operation.to_string() }
        }
        Some("TransactionConflictException") => StoreError::Conflict { what: operation.to_string() },
        Some(code) if THROTTLING.contains(&code) => StoreError::Unavailable { operation, message },
        _ if matches!(
            error,
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_)
        ) =>
        {
            StoreError::Unavailable { operation, message }
        }
        _ => StoreError::Failed { operation, message },
    }
}

/// A cancelled transaction names, per item, which guard failed: the first item's guard failing
/// is a `Conflict` on `what[0]`, any other a `NotInExpectedState` of that item.
pub fn transaction_error<R: Debug>(
    operation: &'static str,
    error: SdkError<TransactWriteItemsError, R>,
    what: &[String],
) -> StoreError {
    if let SdkError::ServiceError(service) = &error {
        if let TransactWriteItemsError::TransactionCanceledException(cancelled) = service.err() {
            let reasons = cancelled.cancellation_reasons();
            let failed = reasons.iter().position(|r| r.code() == Some("ConditionalCheckFailed"));
            if let Some(index) = failed {
                let what = what.get(index).cloned().unwrap_or_else(|| operation.to_string());
                return if index == 0 {
                    StoreError::Conflict { what }
                } else {
                    StoreError::NotInExpectedState { what }
                };
            }
            if reasons.iter().any(|r| r.code() == Some("TransactionConflict")) {
                return StoreError::Conflict { what: operation.to_string() };
            }
            if reasons.iter().any(|r| r.code().is_some_and(|c| THROTTLING.contains(&c))) {
                return StoreError::Unavailable {
                    operation,
                    message: DisplayErrorContext(&error).to_string(),
                };
            }
        }
    }
    classify(operation, error)
}
