#[tokio::main]
async fn main() -> Result<(), shared::lambda_http::Error> {
    shared::lambda::run_event(|state, event, deadline| async move {
        sweep_stuck_purges::handle(&state, &event, deadline).await
    })
    .await
}
