// The purge's future nests deep (stream batch, users, pages, transactions): the compiler's
// default query depth is too shallow to lay it out.
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), shared::lambda_http::Error> {
    shared::lambda::run_event(|state, event, deadline| async move {
        purge_soft_deleted_users::handle(&state, &event, deadline).await
    })
    .await
}
