//! The Lambda entry point every function's `main` calls: logs, state once per cold start, run.

use std::future::Future;
use std::sync::Arc;

use lambda_http::{Body, Error, Request, Response, service_fn};
use tracing_subscriber::filter::Targets;

use crate::state::State;

/// Structured JSON logs on stdout (CloudWatch). `RUST_LOG` takes a level (`info`, the default)
/// or `target=level` directives (`shared=debug,warn`): `Targets`, not `EnvFilter`, whose regular
/// expressions would add about half a megabyte to every artifact for span-field matching no one
/// uses here.
pub fn init_logs() {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|directives| directives.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_span_list(false)
        .without_time()
        .with_target(false)
        .with_max_level(tracing::Level::TRACE)
        .finish()
        .with(filter)
        .try_init();
}

/// Logs and metrics, then the container's state, once per cold start.
async fn start() -> Result<Arc<State>, Error> {
    init_logs();
    crate::metrics::configure_from_env();
    crate::metrics::emf::install();
    Ok(State::from_env().await?)
}

/// [`start`], then, when the environment variable `name` is set (the template sets it for the
/// functions that need it), `install` with the SDK configuration and its value: a client built
/// at cold start by those functions only.
async fn start_with(
    name: &str,
    install: impl FnOnce(&State, &aws_config::SdkConfig, &str),
) -> Result<Arc<State>, Error> {
    let state = start().await?;
    if let Some(value) = std::env::var(name).ok().filter(|v| !v.is_empty()) {
        install(&state, &crate::state::sdk_config(None).await, &value);
    }
    Ok(state)
}

/// [`start`], then the deployed connection closer when `WEBSOCKET_MANAGEMENT_ENDPOINT` is set.
/// Only the functions started this way link the API Gateway Management API client.
async fn start_closing() -> Result<Arc<State>, Error> {
    start_with(
        "WEBSOCKET_MANAGEMENT_ENDPOINT",
        |state, config, endpoint| {
            let closer = crate::closer::ManagementApiCloser::new(config, endpoint);
            state.connections.set_closer(Arc::new(closer));
        },
    )
    .await
}

/// [`start`], then the webhook queue (SQS) when `WEBHOOK_QUEUE_URL` is set. Only the functions
/// started this way link the SQS client.
async fn start_queueing() -> Result<Arc<State>, Error> {
    start_with("WEBHOOK_QUEUE_URL", |state, config, url| {
        let queue = crate::queue::SqsQueue::new(config, url);
        state.webhooks.set_queue(Arc::new(queue));
    })
    .await
}

/// [`run`] for the function that reads metrics back (the Console's charts): when
/// `METRICS_NAMESPACE` is set (the template sets the stack's), the source `make` builds from the
/// SDK configuration and that namespace is installed at cold start. Only that function's crate
/// depends on the CloudWatch client its `make` builds; without the variable nothing is read.
pub async fn run_metrics_reading<F, Fut>(
    handler: F,
    make: impl FnOnce(&aws_config::SdkConfig, &str) -> Arc<dyn crate::metrics::read::Source>,
) -> Result<(), Error>
where
    F: Fn(Arc<State>, Request) -> Fut,
    Fut: Future<Output = Response<Body>> + Send,
{
    let state = start_with("METRICS_NAMESPACE", |state, config, namespace| {
        let _ = state.metrics_source.set(make(config, namespace));
    })
    .await?;
    serve_http(state, handler).await
}

/// [`run`] for a function that queues webhook deliveries.
pub async fn run_queueing<F, Fut>(handler: F) -> Result<(), Error>
where
    F: Fn(Arc<State>, Request) -> Fut,
    Fut: Future<Output = Response<Body>> + Send,
{
    serve_http(start_queueing().await?, handler).await
}

/// Runs `handler` as a Lambda function behind API Gateway.
pub async fn run<F, Fut>(handler: F) -> Result<(), Error>
where
    F: Fn(Arc<State>, Request) -> Fut,
    Fut: Future<Output = Response<Body>> + Send,
{
    serve_http(start().await?, handler).await
}

/// [`run`] for a function that closes live connections (kicks).
pub async fn run_closing<F, Fut>(handler: F) -> Result<(), Error>
where
    F: Fn(Arc<State>, Request) -> Fut,
    Fut: Future<Output = Response<Body>> + Send,
{
    serve_http(start_closing().await?, handler).await
}

async fn serve_http<F, Fut>(state: Arc<State>, handler: F) -> Result<(), Error>
where
    F: Fn(Arc<State>, Request) -> Fut,
    Fut: Future<Output = Response<Body>> + Send,
{
    lambda_http::run(service_fn(|request: Request| {
        let response = handler(state.clone(), request);
        async move {
            let response = response.await;
            crate::metrics::emf::flush_after_answer();
            Ok::<_, std::convert::Infallible>(response)
        }
    }))
    .await
}

/// Runs `handler` as a Lambda function behind an API Gateway WebSocket route.
pub async fn run_websocket<F, Fut>(handler: F) -> Result<(), Error>
where
    F: Fn(Arc<State>, crate::websocket::ApiGatewayWebsocketProxyRequest) -> Fut,
    Fut: Future<Output = crate::websocket::ApiGatewayProxyResponse> + Send,
{
    serve_websocket(start().await?, handler).await
}

/// [`run_websocket`] for a route that closes live connections.
pub async fn run_websocket_closing<F, Fut>(handler: F) -> Result<(), Error>
where
    F: Fn(Arc<State>, crate::websocket::ApiGatewayWebsocketProxyRequest) -> Fut,
    Fut: Future<Output = crate::websocket::ApiGatewayProxyResponse> + Send,
{
    serve_websocket(start_closing().await?, handler).await
}

async fn serve_websocket<F, Fut>(state: Arc<State>, handler: F) -> Result<(), Error>
where
    F: Fn(Arc<State>, crate::websocket::ApiGatewayWebsocketProxyRequest) -> Fut,
    Fut: Future<Output = crate::websocket::ApiGatewayProxyResponse> + Send,
{
    lambda_http::lambda_runtime::run(service_fn(
        |event: lambda_http::LambdaEvent<crate::websocket::ApiGatewayWebsocketProxyRequest>| {
            // Boxed: the handlers' futures are deep enough to overflow the layout query.
            let response = Box::pin(handler(state.clone(), event.payload));
            async move {
                let response = response.await;
                crate::metrics::emf::flush_after_answer();
                Ok::<_, std::convert::Infallible>(response)
            }
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
    serve_event(start().await?, handler).await
}

/// [`run_event`] for a function that queues webhook deliveries.
pub async fn run_event_queueing<F, Fut>(handler: F) -> Result<(), Error>
where
    F: Fn(Arc<State>, serde_json::Value, crate::purge::Deadline) -> Fut,
    Fut: Future<Output = serde_json::Value> + Send,
{
    serve_event(start_queueing().await?, handler).await
}

async fn serve_event<F, Fut>(state: Arc<State>, handler: F) -> Result<(), Error>
where
    F: Fn(Arc<State>, serde_json::Value, crate::purge::Deadline) -> Fut,
    Fut: Future<Output = serde_json::Value> + Send,
{
    lambda_http::lambda_runtime::run(service_fn(
        |event: lambda_http::LambdaEvent<serde_json::Value>| {
            let deadline = crate::purge::Deadline::from_lambda(event.context.deadline);
            let answer = handler(state.clone(), event.payload, deadline);
            async move {
                let answer = answer.await;
                crate::metrics::emf::flush_after_answer();
                Ok::<_, std::convert::Infallible>(answer)
            }
        },
    ))
    .await
}
