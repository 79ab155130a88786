use shared::lambda_http::{Error, LambdaEvent, service_fn};
use shared::purge::Deadline;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::lambda::init_logs();
    let state = shared::State::from_env().await?;
    shared::lambda_http::lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        let state = state.clone();
        let deadline = Deadline::from_lambda(event.context.deadline);
        async move { Ok::<_, Error>(sweep_stuck_purges::handle(&state, &event.payload, deadline).await) }
    }))
    .await
}
