// A stream batch's future nests deep (records, apps, events, transactions): the compiler's
// default query depth is too shallow to lay it out.
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), shared::lambda_http::Error> {
    shared::lambda::run_event_queueing(|state, event, _deadline| async move {
        produce_webhook_events::handle(&state, &event).await
    })
    .await
}
