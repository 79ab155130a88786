//! The Lambda entry point every function's `main` calls: logs, state once per cold start, run.

use std::future::Future;
use std::sync::Arc;

use lambda_http::{Body, Error, Request, Response, service_fn};

use crate::state::State;

/// Structured JSON logs on stdout (CloudWatch), level from `RUST_LOG` (default `info`).
pub fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .without_time()
        .with_target(false)
        .try_init();
}

/// Runs `handler` as a Lambda function behind API Gateway.
pub async fn run<F, Fut>(handler: F) -> Result<(), Error>
where
    F: Fn(Arc<State>, Request) -> Fut,
    Fut: Future<Output = Response<Body>> + Send,
{
    init_logs();
    let state = State::from_env().await?;
    lambda_http::run(service_fn(|request: Request| {
        let response = handler(state.clone(), request);
        async move { Ok::<_, std::convert::Infallible>(response.await) }
    }))
    .await
}

/// Runs `handler` as a Lambda function behind an API Gateway WebSocket route.
pub async fn run_websocket<F, Fut>(handler: F) -> Result<(), Error>
where
    F: Fn(Arc<State>, crate::websocket::ApiGatewayWebsocketProxyRequest) -> Fut,
    Fut: Future<Output = crate::websocket::ApiGatewayProxyResponse> + Send,
{
    init_logs();
    let state = State::from_env().await?;
    lambda_http::lambda_runtime::run(service_fn(
        |event: lambda_http::LambdaEvent<crate::websocket::ApiGatewayWebsocketProxyRequest>| {
            // Boxed: the handlers' futures are deep enough to overflow the layout query.
            let response = Box::pin(handler(state.clone(), event.payload));
            async move { Ok::<_, std::convert::Infallible>(response.await) }
        },
    ))
    .await
}

/// Runs `handler` as a Lambda function driven by an event source (a stream batch, a schedule):
/// JSON in, JSON out, each invocation within its deadline less [`crate::purge::PURGE_RESERVE`].
pub async fn run_event<F, Fut>(handler: F) -> Result<(), Error>
where
    F: Fn(Arc<State>, serde_json::Value, crate::purge::Deadline) -> Fut,
    Fut: Future<Output = serde_json::Value> + Send,
{
    init_logs();
    let state = State::from_env().await?;
    lambda_http::lambda_runtime::run(service_fn(
        |event: lambda_http::LambdaEvent<serde_json::Value>| {
            let deadline = crate::purge::Deadline::from_lambda(event.context.deadline);
            let answer = handler(state.clone(), event.payload, deadline);
            async move { Ok::<_, std::convert::Infallible>(answer.await) }
        },
    ))
    .await
}
