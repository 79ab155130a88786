#[tokio::main]
async fn main() -> Result<(), shared::lambda_http::Error> {
    shared::lambda::run(shared::http::serve::<check_dm_permission::CheckDmPermission>).await
}
