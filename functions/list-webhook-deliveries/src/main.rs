#[tokio::main]
async fn main() -> Result<(), shared::lambda_http::Error> {
    shared::lambda::run(shared::http::serve::<list_webhook_deliveries::ListWebhookDeliveries>).await
}
