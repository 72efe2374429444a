//! Shipment function: on its schedule or a console event, reports recorded packages to the
//! marketplace exactly once, or records a package. See `orderbridge::handlers::shipment`.

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
            Ok::<_, Error>(handlers::shipment::handle(ports, event.payload, deadline).await?)
        }
    }))
    .await
}
