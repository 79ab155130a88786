#[tokio::main]
async fn main() -> Result<(), shared::lambda_http::Error> {
    shared::lambda::run(shared::http::serve_console::<list_apps::ListApps>).await
}
