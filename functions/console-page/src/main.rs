//! The Console page on Lambda, behind the HTTP API's `GET /console` and `GET /console/{proxy+}`:
//! no State and no AWS client, only the compiled-in files and the sign-in settings. Logs and
//! metrics (cold start, calls, latency) as every function has them.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let began = std::time::Instant::now();
    shared::lambda::init_logs();
    shared::metrics::configure_from_env();
    shared::metrics::emf::install();
    // A template that sets only one of the Cognito settings fails at cold start, not per request.
    let config = console_page::PageConfig::from_env()?;
    let cold_start = shared::metrics::ColdStart::since(began);
    lambda_http::run(lambda_http::service_fn(|request: lambda_http::Request| {
        shared::metrics::invoked(&cold_start, console_page::NAME);
        let response = console_page::respond_measured(&request, &config);
        shared::metrics::emf::flush_after_answer();
        async move { Ok::<_, std::convert::Infallible>(response) }
    }))
    .await
}
