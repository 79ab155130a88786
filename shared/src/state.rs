//! What a container builds once at cold start and every request borrows.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{Credentials, Region, retry::RetryConfig, timeout::TimeoutConfig};

use crate::apps::AppCache;
use crate::clock::Clock;
use crate::connections::{self, ConnectionCloser, Connections, ManagementApiCloser, NoCloser};

pub struct State {
    pub db: Client,
    pub table: String,
    pub clock: Clock,
    pub apps: AppCache,
    /// Server-side secret every access-token key is derived from (never stored in the table).
    pub token_secret: Vec<u8>,
    /// Client connections: the TTL and how live connections are closed (kicks).
    pub connections: Connections,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is required")]
    Missing(&'static str),
    #[error("{0}")]
    Invalid(String),
}

/// The token-signing secret must be long enough to resist guessing: 32 bytes at least.
pub const MIN_TOKEN_SECRET_BYTES: usize = 32;

impl State {
    /// Reads `TABLE_NAME`, `TOKEN_SIGNING_SECRET`, and optionally `DYNAMODB_ENDPOINT` (DynamoDB
    /// Local) and `APP_CACHE_TTL_SECONDS` (default 30).
    pub async fn from_env() -> Result<Arc<State>, ConfigError> {
        let table = std::env::var("TABLE_NAME").map_err(|_| ConfigError::Missing("TABLE_NAME"))?;
        let secret = std::env::var("TOKEN_SIGNING_SECRET")
            .map_err(|_| ConfigError::Missing("TOKEN_SIGNING_SECRET"))?;
        let cache_ttl = match std::env::var("APP_CACHE_TTL_SECONDS") {
            Ok(v) => v.parse::<u64>().map_err(|_| {
                ConfigError::Invalid("APP_CACHE_TTL_SECONDS must be an integer".into())
            })?,
            Err(_) => 30,
        };
        let endpoint = std::env::var("DYNAMODB_ENDPOINT")
            .ok()
            .filter(|e| !e.is_empty());
        let db = dynamodb_client(endpoint.as_deref()).await;
        let state = State::new(
            db,
            table,
            secret.into_bytes(),
            Duration::from_secs(cache_ttl),
        )?;
        // Functions that close connections (kicks) get the WebSocket API's management endpoint.
        if let Some(endpoint) = std::env::var("WEBSOCKET_MANAGEMENT_ENDPOINT")
            .ok()
            .filter(|e| !e.is_empty())
        {
            let config = sdk_config(None).await;
            let closer: Arc<dyn ConnectionCloser> =
                Arc::new(ManagementApiCloser::new(&config, &endpoint));
            state.connections.set_closer(closer);
        }
        Ok(state)
    }

    pub fn new(
        db: Client,
        table: String,
        token_secret: Vec<u8>,
        app_cache_ttl: Duration,
    ) -> Result<Arc<State>, ConfigError> {
        if token_secret.len() < MIN_TOKEN_SECRET_BYTES {
            return Err(ConfigError::Invalid(format!(
                "TOKEN_SIGNING_SECRET must be at least {MIN_TOKEN_SECRET_BYTES} bytes"
            )));
        }
        let connection_ttl = match std::env::var("CONNECTION_TTL_SECONDS") {
            Ok(v) => v.parse::<i64>().ok().filter(|t| *t > 0).ok_or_else(|| {
                ConfigError::Invalid("CONNECTION_TTL_SECONDS must be a positive integer".into())
            })?,
            Err(_) => connections::DEFAULT_TTL_SECONDS,
        };
        Ok(Arc::new(State {
            db,
            table,
            clock: Clock::default(),
            apps: AppCache::new(app_cache_ttl),
            token_secret,
            connections: Connections::new(Arc::new(NoCloser), connection_ttl),
        }))
    }
}

/// A DynamoDB client with bounded timeouts. With an endpoint (DynamoDB Local) it needs no real
/// credentials or region, so a fresh machine works without AWS configuration.
pub async fn dynamodb_client(endpoint: Option<&str>) -> Client {
    Client::new(&sdk_config(endpoint).await)
}

/// The SDK configuration behind [`dynamodb_client`] (tests add interceptors to it).
pub async fn sdk_config(endpoint: Option<&str>) -> aws_config::SdkConfig {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(Duration::from_secs(3))
        .operation_timeout(Duration::from_secs(8))
        .build();
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(timeouts)
        .retry_config(RetryConfig::standard().with_max_attempts(4));
    if let Some(endpoint) = endpoint {
        loader = loader
            .endpoint_url(endpoint)
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("local", "local", None, None, "local"));
    }
    loader.load().await
}
