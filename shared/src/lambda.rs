//! What every function's `main` does: build the ports once, then serve invocations, turning a
//! [`HandlerError`] into a Lambda error whose `errorType` is the error's stable class name.

use crate::handlers::HandlerError;
use crate::ports::Ports;
use crate::{wiring, Deadline};
use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde::Serialize;
use serde_json::Value;
use std::future::Future;

impl From<HandlerError> for Diagnostic {
    fn from(error: HandlerError) -> Self {
        Diagnostic { error_type: error.error_type().to_string(), error_message: error.to_string() }
    }
}

/// Runs `handler` for every invocation, with ports built once from the environment.
pub async fn serve<H, Fut, R>(handler: H) -> Result<(), lambda_runtime::Error>
where
    H: Fn(Ports, Value, Deadline) -> Fut,
    Fut: Future<Output = Result<R, HandlerError>>,
    R: Serialize,
{
    let service = std::env::var(wiring::SERVICE_VAR).unwrap_or_else(|_| "orderbridge".into());
    let cold_start = crate::logging::init_json_logging(&service);
    let ports = wiring::lambda_ports_from_env().await?;
    let handler = &handler;
    let ports = &ports;
    let cold_start = &cold_start;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let deadline = Deadline::from_epoch_millis(event.context.deadline);
        let result = handler(ports.clone(), event.payload, deadline).await;
        ports.metrics.flush();
        if let Err(error) = &result {
            tracing::error!(error_type = error.error_type(), %error, "invocation failed");
        }
        cold_start.end();
        result.map_err(Diagnostic::from)
    }))
    .await
}
