#[tokio::main]
async fn main() -> Result<(), shared::lambda_http::Error> {
    shared::lambda::run_event(|state, event, deadline| async move {
        purge_soft_deleted_users::handle(&state, &event, deadline).await
    })
    .await
}
