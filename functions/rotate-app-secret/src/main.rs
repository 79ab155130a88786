#[tokio::main]
async fn main() -> Result<(), shared::lambda_http::Error> {
    shared::lambda::run_closing(shared::http::serve_console::<rotate_app_secret::RotateAppSecret>)
        .await
}
