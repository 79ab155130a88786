#[tokio::main]
async fn main() -> Result<(), shared::lambda_http::Error> {
    shared::lambda::run(shared::http::serve_console::<delete_test_user::DeleteTestUser>).await
}
