#[tokio::main]
async fn main() -> Result<(), shared::lambda_http::Error> {
    shared::lambda::run_closing(shared::http::serve::<expire_access_token::ExpireAccessToken>).await
}
