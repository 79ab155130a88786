//! What a container builds once at cold start and every request borrows.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{
    Credentials, Region, SharedCredentialsProvider, retry::RetryConfig, timeout::TimeoutConfig,
};
use aws_smithy_async::rt::sleep::{SharedAsyncSleep, TokioSleep};
use aws_smithy_async::time::SharedTimeSource;
use aws_smithy_http_client::tls;
use aws_smithy_runtime_api::client::http::SharedHttpClient;

use crate::app::AppCache;
use crate::clock::Clock;
use crate::closer::{self, Connections, NoCloser};

pub struct State {
    pub db: Client,
    pub table: String,
    pub clock: Clock,
    pub apps: AppCache,
    /// This container's leases on the apps' rate limits (`crate::rate`).
    pub rate_leases: crate::rate_lease::Leases,
    /// Server-side secret every access-token key and page token is derived from (never stored
    /// in the table), read when first needed.
    pub token_secret: TokenSecret,
    /// Client connections: the TTL and how live connections are closed (kicks).
    pub connections: Connections,
    /// Webhook delivery: the queue and the retry schedule.
    pub webhooks: crate::queue::Webhooks,
    /// The container's set-up, counted at its first invocation.
    pub cold_start: crate::metrics::ColdStart,
    /// Where metrics are read back from: set once, in the function that reads them
    /// (`lambda::run_metrics_reading`) and by the local API; empty elsewhere.
    pub metrics_source: std::sync::OnceLock<Arc<dyn crate::metrics::read::Source>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is required")]
    Missing(&'static str),
    #[error("{0}")]
    Invalid(String),
    /// Reading the token-signing secret from Secrets Manager failed (the message never holds
    /// the secret: only the ARN and the SDK's error).
    #[error("{0}")]
    Secret(String),
}

/// Where a container gets the token-signing secret from.
pub enum TokenSecretSource {
    /// `TOKEN_SIGNING_SECRET`: the value itself (the local API, tests and scripts).
    Value(String),
    /// `TOKEN_SIGNING_SECRET_ARN`: a Secrets Manager secret, read at its first use (AWS).
    SecretsManager(String),
}

// By hand: the derived Debug would print the secret.
impl std::fmt::Debug for TokenSecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenSecretSource::Value(_) => f.write_str("Value(<redacted>)"),
            TokenSecretSource::SecretsManager(arn) => {
                f.debug_tuple("SecretsManager").field(arn).finish()
            }
        }
    }
}

/// Chooses the secret's source from the values of `TOKEN_SIGNING_SECRET` and
/// `TOKEN_SIGNING_SECRET_ARN`: the value when it is set (even empty: too short is an error later,
/// as before), else the ARN when it is not blank, else [`ConfigError::Missing`].
pub fn token_secret_source(
    value: Option<String>,
    arn: Option<String>,
) -> Result<TokenSecretSource, ConfigError> {
    match (value, arn.filter(|a| !a.trim().is_empty())) {
        (Some(value), _) => Ok(TokenSecretSource::Value(value)),
        (None, Some(arn)) => Ok(TokenSecretSource::SecretsManager(arn.trim().to_owned())),
        (None, None) => Err(ConfigError::Missing(
            "TOKEN_SIGNING_SECRET or TOKEN_SIGNING_SECRET_ARN",
        )),
    }
}

/// `GetSecretValue` of the token-signing secret: its `SecretString` (a generated string, not
/// JSON). Neither the value nor the SDK's output reaches a log (the SDK redacts it in `Debug`).
pub async fn fetch_token_secret(
    client: &aws_sdk_secretsmanager::Client,
    arn: &str,
) -> Result<String, ConfigError> {
    let output = client
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| {
            ConfigError::Secret(format!(
                "reading the token-signing secret {arn} (TOKEN_SIGNING_SECRET_ARN): {}",
                aws_smithy_types::error::display::DisplayErrorContext(&e)
            ))
        })?;
    output.secret_string.ok_or_else(|| {
        ConfigError::Secret(format!(
            "the token-signing secret {arn} has no SecretString"
        ))
    })
}

/// The token-signing secret must be long enough to resist guessing: 32 bytes at least.
pub const MIN_TOKEN_SECRET_BYTES: usize = 32;

/// The token-signing secret, read the first time a call needs it, once per container. Only
/// token issue and verification and page tokens use it: a function that never signs nor checks
/// one neither reads it at cold start nor holds the grant to (the template gives
/// `secretsmanager:GetSecretValue` to those functions only; `tests/integration/template.rs`
/// keeps the list honest, and the local API refuses the others as IAM would).
pub struct TokenSecret {
    value: tokio::sync::OnceCell<Vec<u8>>,
    source: SecretSource,
}

enum SecretSource {
    /// Known at start (`TOKEN_SIGNING_SECRET`: the local API, tests, scripts).
    Known,
    /// The Secrets Manager secret this ARN names (AWS).
    SecretsManager(String),
    /// Not readable by this container: why (the local API, for a function without the grant).
    Refused(String),
}

// By hand: a derived Debug would print the secret.
impl std::fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let read = self.value.initialized();
        match &self.source {
            SecretSource::Known => write!(f, "TokenSecret(<redacted>)"),
            SecretSource::SecretsManager(arn) => write!(f, "TokenSecret({arn}, read: {read})"),
            SecretSource::Refused(why) => write!(f, "TokenSecret(refused: {why})"),
        }
    }
}

impl TokenSecret {
    /// A secret known now; too short is [`ConfigError::Invalid`].
    pub fn known(value: Vec<u8>) -> Result<Self, ConfigError> {
        check_length(&value)?;
        Ok(Self {
            value: tokio::sync::OnceCell::new_with(Some(value)),
            source: SecretSource::Known,
        })
    }

    /// The secret `arn` names, read at its first use.
    pub fn in_secrets_manager(arn: String) -> Self {
        Self {
            value: tokio::sync::OnceCell::new(),
            source: SecretSource::SecretsManager(arn),
        }
    }

    /// The secret, if it is known without a read.
    pub fn known_value(&self) -> Option<&[u8]> {
        self.value.get().map(Vec::as_slice)
    }

    /// A secret this container may not read: every use answers `why` as an internal error.
    pub fn refused(why: String) -> Self {
        Self {
            value: tokio::sync::OnceCell::new(),
            source: SecretSource::Refused(why),
        }
    }

    /// The secret, read from its source on first use (one `GetSecretValue` per container; a
    /// failed read is tried again by the next call).
    pub async fn get(&self) -> Result<&[u8], crate::ApiError> {
        let value = self
            .value
            .get_or_try_init(|| async {
                let secret = match &self.source {
                    // A known secret is set when made: nothing to read.
                    SecretSource::Known => {
                        return Err(ConfigError::Missing("TOKEN_SIGNING_SECRET"));
                    }
                    SecretSource::Refused(why) => return Err(ConfigError::Secret(why.clone())),
                    SecretSource::SecretsManager(arn) => {
                        let config = sdk_config(None).await;
                        let mut config = aws_sdk_secretsmanager::config::Builder::from(&config);
                        // AWS's standard service endpoint variable (the configuration here is
                        // built by hand, so it is read here): a VPC endpoint, or a stand-in.
                        if let Ok(url) = std::env::var("AWS_ENDPOINT_URL_SECRETS_MANAGER") {
                            config = config.endpoint_url(url);
                        }
                        let client = aws_sdk_secretsmanager::Client::from_conf(config.build());
                        fetch_token_secret(&client, arn).await?.into_bytes()
                    }
                };
                check_length(&secret)?;
                Ok(secret)
            })
            .await
            .map_err(|e| crate::ApiError::Internal(e.to_string()))?;
        Ok(value)
    }
}

fn check_length(secret: &[u8]) -> Result<(), ConfigError> {
    if secret.len() < MIN_TOKEN_SECRET_BYTES {
        return Err(ConfigError::Invalid(format!(
            "TOKEN_SIGNING_SECRET must be at least {MIN_TOKEN_SECRET_BYTES} bytes"
        )));
    }
    Ok(())
}

impl State {
    /// Reads `TABLE_NAME`, the token-signing secret, and optionally `DYNAMODB_ENDPOINT` (DynamoDB
    /// Local) and `APP_CACHE_TTL_SECONDS` (default 30).
    ///
    /// The secret is `TOKEN_SIGNING_SECRET` when that is set (the local API, the tests, the
    /// scripts); otherwise the Secrets Manager secret `TOKEN_SIGNING_SECRET_ARN` names, read here
    /// at its first use, once per container (on AWS, where the template puts only the ARN in the
    /// environment, for the functions that use it).
    pub async fn from_env() -> Result<Arc<State>, ConfigError> {
        let began = std::time::Instant::now();
        let table = std::env::var("TABLE_NAME").map_err(|_| ConfigError::Missing("TABLE_NAME"))?;
        let source = token_secret_source(
            std::env::var("TOKEN_SIGNING_SECRET").ok(),
            std::env::var("TOKEN_SIGNING_SECRET_ARN").ok(),
        )?;
        let cache_ttl = match std::env::var("APP_CACHE_TTL_SECONDS") {
            Ok(v) => v.parse::<u64>().map_err(|_| {
                ConfigError::Invalid("APP_CACHE_TTL_SECONDS must be an integer".into())
            })?,
            Err(_) => 30,
        };
        let endpoint = std::env::var("DYNAMODB_ENDPOINT")
            .ok()
            .filter(|e| !e.is_empty());
        // Read at first use, not here: most functions never need it.
        let secret = match source {
            TokenSecretSource::Value(secret) => TokenSecret::known(secret.into_bytes())?,
            TokenSecretSource::SecretsManager(arn) => TokenSecret::in_secrets_manager(arn),
        };
        let db = dynamodb_client(endpoint.as_deref()).await;
        State::set_up(db, table, secret, Duration::from_secs(cache_ttl), began)
    }

    pub fn new(
        db: Client,
        table: String,
        token_secret: Vec<u8>,
        app_cache_ttl: Duration,
    ) -> Result<Arc<State>, ConfigError> {
        let began = std::time::Instant::now();
        let token_secret = TokenSecret::known(token_secret)?;
        State::set_up(db, table, token_secret, app_cache_ttl, began)
    }

    /// A container set up since `began` (its cold start's init time ends here).
    fn set_up(
        db: Client,
        table: String,
        token_secret: TokenSecret,
        app_cache_ttl: Duration,
        began: std::time::Instant,
    ) -> Result<Arc<State>, ConfigError> {
        let connection_ttl = match std::env::var("CONNECTION_TTL_SECONDS") {
            Ok(v) => v.parse::<i64>().ok().filter(|t| *t > 0).ok_or_else(|| {
                ConfigError::Invalid("CONNECTION_TTL_SECONDS must be a positive integer".into())
            })?,
            Err(_) => closer::DEFAULT_TTL_SECONDS,
        };
        Ok(Arc::new(State {
            db,
            table,
            clock: Clock::default(),
            apps: AppCache::new(app_cache_ttl),
            token_secret,
            connections: Connections::new(Arc::new(NoCloser), connection_ttl),
            webhooks: crate::queue::Webhooks::default(),
            rate_leases: Default::default(),
            cold_start: crate::metrics::ColdStart::since(began),
            metrics_source: std::sync::OnceLock::new(),
        }))
    }
}

/// A DynamoDB client with bounded timeouts. With an endpoint (DynamoDB Local) it needs no real
/// credentials or region, so a fresh machine works without AWS configuration.
pub async fn dynamodb_client(endpoint: Option<&str>) -> Client {
    Client::from_conf(dynamodb_config(&sdk_config(endpoint).await).build())
}

/// The DynamoDB client's configuration every container uses (tests add to it): the SDK
/// configuration and the meter that counts each call's requests and capacity
/// ([`crate::metrics::dynamodb::Meter`]).
pub fn dynamodb_config(sdk_config: &aws_config::SdkConfig) -> aws_sdk_dynamodb::config::Builder {
    aws_sdk_dynamodb::config::Builder::from(sdk_config).interceptor(crate::metrics::dynamodb::Meter)
}

/// The SDK configuration every AWS client of a container is built from (tests add interceptors
/// to it): bounded timeouts and retries, the HTTPS client of [`https_client`], and with an
/// endpoint (DynamoDB Local) fixed local credentials and region.
///
/// Without an endpoint, credentials and region come from the environment only, as Lambda sets
/// them (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`), and so
/// does `sam local invoke`. Built by hand rather than by `aws_config::defaults`, whose chain
/// (profile files, SSO, STS web identity, ECS and IMDS providers) a function never needs: left
/// out, it is neither linked into the artifacts nor run at cold start. Async for the callers'
/// sake (it was the loader's); nothing here waits.
pub async fn sdk_config(endpoint: Option<&str>) -> aws_config::SdkConfig {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(Duration::from_secs(3))
        .operation_timeout(Duration::from_secs(8))
        .build();
    let builder = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .http_client(https_client())
        .sleep_impl(SharedAsyncSleep::new(TokioSleep::new()))
        .time_source(SharedTimeSource::default())
        .timeout_config(timeouts)
        .retry_config(RetryConfig::standard().with_max_attempts(4));
    match endpoint {
        Some(endpoint) => builder
            .endpoint_url(endpoint)
            .region(Region::new("us-east-1"))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "local", "local", None, None, "local",
            )))
            .build(),
        None => builder
            .region(region_from_env())
            .credentials_provider(SharedCredentialsProvider::new(
                aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
            ))
            .build(),
    }
}

/// `AWS_REGION` (what Lambda sets), else `AWS_DEFAULT_REGION`.
fn region_from_env() -> Option<Region> {
    ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .into_iter()
        .filter_map(|name| std::env::var(name).ok())
        .find(|region| !region.trim().is_empty())
        .map(Region::new)
}

/// The HTTPS client every AWS client shares: hyper with rustls on `ring`, trusting the system's
/// root certificates. `ring` is the only crypto library linked (see `jwt_hs256.rs`).
fn https_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(value: Option<&str>, arn: Option<&str>) -> Result<TokenSecretSource, ConfigError> {
        token_secret_source(value.map(str::to_owned), arn.map(str::to_owned))
    }

    #[test]
    fn the_value_wins_when_set() {
        let secret = "x".repeat(40);
        for arn in [None, Some("arn:aws:secretsmanager:us-east-1:1:secret:s")] {
            assert!(matches!(
                source(Some(&secret), arn),
                Ok(TokenSecretSource::Value(v)) if v == secret
            ));
        }
        // Set but empty is still the value (State::new then refuses it as too short).
        assert!(matches!(
            source(Some(""), Some("arn:aws:secretsmanager:us-east-1:1:secret:s")),
            Ok(TokenSecretSource::Value(v)) if v.is_empty()
        ));
    }

    #[test]
    fn the_arn_is_used_when_the_value_is_unset() {
        assert!(matches!(
            source(None, Some(" arn:aws:secretsmanager:us-east-1:1:secret:s ")),
            Ok(TokenSecretSource::SecretsManager(arn)) if arn == "arn:aws:secretsmanager:us-east-1:1:secret:s"
        ));
    }

    #[test]
    fn neither_is_a_missing_variable() {
        for arn in [None, Some(""), Some("  ")] {
            assert!(matches!(
                source(None, arn),
                Err(ConfigError::Missing(
                    "TOKEN_SIGNING_SECRET or TOKEN_SIGNING_SECRET_ARN"
                ))
            ));
        }
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let shown = format!(
            "{:?}",
            source(Some("very-secret-value-0123456789abcdef"), None)
        );
        assert!(!shown.contains("very-secret"), "{shown}");
    }
}
