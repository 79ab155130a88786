#[tokio::main]
async fn main() -> Result<(), shared::lambda_http::Error> {
    shared::lambda::run_websocket_closing(heartbeat::handle).await
}
