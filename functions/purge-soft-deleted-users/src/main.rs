use shared::lambda_http::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::lambda::init_logs();
    let state = shared::State::from_env().await?;
    shared::lambda_http::lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        let state = state.clone();
        async move { Ok::<_, Error>(purge_soft_deleted_users::handle(&state, &event.payload).await) }
    }))
    .await
}
