//! Closing live client connections (kicks), and the connection settings a container holds:
//! infrastructure, below the domain modules (no `State`).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use crate::error::ApiError;

/// A connection without heartbeats is offline after this long (env `CONNECTION_TTL_SECONDS`).
pub const DEFAULT_TTL_SECONDS: i64 = 120;

pub type CloseFuture<'a> = Pin<Box<dyn Future<Output = Result<(), ApiError>> + Send + 'a>>;

/// Closes a live client connection. Closing one already gone is not an error.
pub trait ConnectionCloser: Send + Sync {
    fn close<'a>(&'a self, connection_id: &'a str) -> CloseFuture<'a>;
}

/// Closes nothing: a state without a WebSocket API (the connection items are still deleted).
pub struct NoCloser;

impl ConnectionCloser for NoCloser {
    fn close<'a>(&'a self, _connection_id: &'a str) -> CloseFuture<'a> {
        Box::pin(async { Ok(()) })
    }
}

/// The deployed closer: API Gateway Management API `DeleteConnection`.
pub struct ManagementApiCloser {
    client: aws_sdk_apigatewaymanagement::Client,
}

impl ManagementApiCloser {
    /// `endpoint` is `https://<api-id>.execute-api.<region>.amazonaws.com/<stage>`.
    pub fn new(sdk_config: &aws_config::SdkConfig, endpoint: &str) -> Self {
        let config = aws_sdk_apigatewaymanagement::config::Builder::from(sdk_config)
            .endpoint_url(endpoint)
            .build();
        Self {
            client: aws_sdk_apigatewaymanagement::Client::from_conf(config),
        }
    }
}

impl ConnectionCloser for ManagementApiCloser {
    fn close<'a>(&'a self, connection_id: &'a str) -> CloseFuture<'a> {
        Box::pin(async move {
            match self
                .client
                .delete_connection()
                .connection_id(connection_id)
                .send()
                .await
            {
                Ok(_) => Ok(()),
                Err(err)
                    if err
                        .as_service_error()
                        .is_some_and(|e| e.is_gone_exception()) =>
                {
                    Ok(())
                }
                Err(err) => Err(ApiError::Internal(format!(
                    "DeleteConnection: {}",
                    aws_smithy_types::error::display::DisplayErrorContext(&err)
                ))),
            }
        })
    }
}

/// The connection settings a `State` holds: the closer (replaceable, the local API installs its
/// socket registry) and the TTL.
pub struct Connections {
    closer: RwLock<Arc<dyn ConnectionCloser>>,
    pub ttl_ms: i64,
}

impl Connections {
    pub fn new(closer: Arc<dyn ConnectionCloser>, ttl_seconds: i64) -> Self {
        Self {
            closer: RwLock::new(closer),
            ttl_ms: ttl_seconds.max(1) * 1000,
        }
    }

    pub fn set_closer(&self, closer: Arc<dyn ConnectionCloser>) {
        if let Ok(mut slot) = self.closer.write() {
            *slot = closer;
        }
    }

    pub fn closer(&self) -> Arc<dyn ConnectionCloser> {
        match self.closer.read() {
            Ok(slot) => slot.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}
