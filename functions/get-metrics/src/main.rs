#[tokio::main]
async fn main() -> Result<(), shared::lambda_http::Error> {
    shared::lambda::run_metrics_reading(
        shared::http::serve_console::<get_metrics::GetMetrics>,
        get_metrics::cloudwatch::source,
    )
    .await
}
