//! Shipment function: records packages from the console and confirms unreported ones to the
//! marketplace. See `orderbridge::handlers::shipment`.

use orderbridge::handlers;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    orderbridge::lambda::serve(|ports, event, deadline| async move {
        handlers::shipment::handle(&ports, event, deadline).await
    })
    .await
}
