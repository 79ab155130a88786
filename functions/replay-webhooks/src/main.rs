#[tokio::main]
async fn main() -> Result<(), shared::lambda_http::Error> {
    shared::lambda::run_queueing(shared::http::serve::<replay_webhooks::ReplayWebhooks>).await
}
