#[tokio::main]
async fn main() -> Result<(), shared::lambda_http::Error> {
    shared::lambda::run(shared::http::serve::<batch_get_user_tags::BatchGetUserTags>).await
}
