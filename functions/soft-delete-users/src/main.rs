#[tokio::main]
async fn main() -> Result<(), shared::lambda_http::Error> {
    shared::lambda::run_closing(shared::http::serve::<soft_delete_users::SoftDeleteUsers>).await
}
