//! Housekeeping function: on a schedule, sweeps long-pending orders, publishes the pending
//! gauges and erases buyer data past its retention. See `orderbridge::handlers::housekeeping`.

use orderbridge::handlers;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    orderbridge::lambda::serve(|ports, event, deadline| async move {
        handlers::housekeeping::handle(&ports, event, deadline).await
    })
    .await
}
