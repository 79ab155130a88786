#[tokio::main]
async fn main() -> Result<(), shared::lambda_http::Error> {
    shared::lambda::run(shared::http::serve::<list_soft_deleted_users::ListSoftDeletedUsers>).await
}
