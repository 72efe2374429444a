//! Import function: on the EventBridge schedule or a console event, imports new and changed
//! orders of every connected marketplace account. See `orderbridge::handlers::import`.

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
            Ok::<_, Error>(handlers::import::handle(ports, event.payload, deadline).await?)
        }
    }))
    .await
}
