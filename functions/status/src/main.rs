//! Status function: SQS-triggered; promotes Pending orders to Deliverable once the marketplace
//! released their payment. See `orderbridge::handlers::status`.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use orderbridge::{handlers, wiring, Deadline};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let ports = wiring::lambda_ports_from_env().await?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let ports = &ports;
        async move {
            let deadline = Deadline::from_epoch_millis(event.context.deadline);
            Ok::<_, Error>(handlers::status::handle_payload(ports, event.payload, deadline).await?)
        }
    }))
    .await
}
