//! What reading the token-signing secret from Secrets Manager costs a cold start, for
//! BENCHMARKS.md: one process = one cold start. Prints one line of microseconds:
//!
//!   config_load second_config_load client_new first_get_secret_value second_get_secret_value
//!
//! `config_load` is `shared::state::sdk_config(None)` (what `State::from_env` loads for the
//! secret), `second_config_load` the same again in the same process (what a second AWS client
//! configuration costs once the first exists), `client_new` builds the Secrets Manager client, then two `GetSecretValue` calls go to
//! the endpoint in `AWS_ENDPOINT_URL_SECRETS_MANAGER` (a local stub: plain HTTP, no TLS, no
//! network, so the calls show the SDK's own cost, not AWS's). Needs AWS_REGION and credentials
//! in the environment, as Lambda provides them.

use std::time::Instant;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let arn = std::env::var("TOKEN_SIGNING_SECRET_ARN")
        .unwrap_or_else(|_| "arn:aws:secretsmanager:us-east-1:000000000000:secret:bench".into());
    let started = Instant::now();
    let config = shared::state::sdk_config(None).await;
    let loaded = Instant::now();
    let _again = shared::state::sdk_config(None).await;
    let reloaded = Instant::now();
    // The functions' configuration reads no endpoint variables: the stub's is set here.
    let mut secrets = aws_sdk_secretsmanager::config::Builder::from(&config);
    if let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL_SECRETS_MANAGER") {
        secrets = secrets.endpoint_url(endpoint);
    }
    let client = aws_sdk_secretsmanager::Client::from_conf(secrets.build());
    let built = Instant::now();
    let first = shared::state::fetch_token_secret(&client, &arn).await?;
    let fetched = Instant::now();
    let second = shared::state::fetch_token_secret(&client, &arn).await?;
    let again = Instant::now();
    if first.len() < shared::state::MIN_TOKEN_SECRET_BYTES || first != second {
        return Err("the stub answered an unusable secret".into());
    }
    let us = |a: Instant, b: Instant| (b - a).as_micros();
    println!(
        "{} {} {} {} {}",
        us(started, loaded),
        us(loaded, reloaded),
        us(reloaded, built),
        us(built, fetched),
        us(fetched, again)
    );
    Ok(())
}
