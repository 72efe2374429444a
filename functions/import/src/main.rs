//! Import function: on the schedule or from the console, imports every new or changed order of
//! each account. See `orderbridge::handlers::import`.

use orderbridge::handlers;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    orderbridge::lambda::serve(|ports, event, deadline| async move {
        handlers::import::handle(&ports, event, deadline).await
    })
    .await
}
