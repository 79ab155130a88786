#[tokio::main]
async fn main() -> Result<(), shared::lambda_http::Error> {
    shared::lambda::run_event_queueing(|state, event, _deadline| async move {
        produce_webhook_events::handle(&state, &event).await
    })
    .await
}
