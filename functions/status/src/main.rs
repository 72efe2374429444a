//! Status function: SQS-triggered; promotes Pending orders to Deliverable once the marketplace
//! released their payment. See `orderbridge::handlers::status`.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use orderbridge::{handlers, wiring, Deadline};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let ports = wiring::lambda_ports_from_env().await?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let ports = &ports;
        async move {
            let deadline = Deadline::from_epoch_millis(event.context.deadline);
            Ok::<SqsBatchResponse, Error>(handlers::status::handle(ports, event.payload, deadline).await)
        }
    }))
    .await
}
