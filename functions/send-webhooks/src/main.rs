use shared::webhooks::guard::Destinations;
use shared::webhooks::post::Poster;

#[tokio::main]
async fn main() -> Result<(), shared::lambda_http::Error> {
    // Built once per container: the HTTPS client and its root certificates.
    let poster = std::sync::Arc::new(Poster::new(Destinations::PublicOnly));
    shared::lambda::run_event_queueing(move |state, event, _deadline| {
        let poster = poster.clone();
        async move { send_webhooks::handle(&state, &poster, &event).await }
    })
    .await
}
