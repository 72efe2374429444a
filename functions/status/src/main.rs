//! Status function: SQS-triggered; promotes Pending orders to Deliverable once the marketplace
//! released their payment. See `orderbridge::handlers::status`.

use orderbridge::handlers;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    orderbridge::lambda::serve(|ports, event, deadline| async move {
        handlers::status::handle_payload(&ports, event, deadline).await
    })
    .await
}
