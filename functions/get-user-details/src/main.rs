#[tokio::main]
async fn main() -> Result<(), shared::lambda_http::Error> {
    shared::lambda::run(shared::http::serve_console::<get_user_details::GetUserDetails>).await
}
