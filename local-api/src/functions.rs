//! One container per function, as Lambda runs them: each function of `template.yaml` gets its own
//! [`State`] (its own DynamoDB client, app cache and connection closer), made at its first
//! request (its cold start). Its clients obey its IAM policy ([`crate::iam`]), and it closes
//! WebSocket connections only if the template gives it the management endpoint and its policy
//! allows `execute-api:ManageConnections`. What all containers share is what AWS shares: the
//! table, the token-signing secret, the WebSocket API, and the clock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use shared::State;
use shared::apps::AppCache;
use shared::closer::{CloseFuture, ConnectionCloser, Connections, NoCloser};
use shared::error::ApiError;
use shared::state::TokenSecret;

use crate::faults::Faults;
use crate::iam::{self, EnforcingClient, Policy};
use crate::queue::{LocalQueue, PolicedQueue};
use crate::table::BoxError;
use crate::template::{Function, Template};

/// The environment variable that gives a function the WebSocket API's management endpoint.
const MANAGEMENT_ENDPOINT: &str = "WEBSOCKET_MANAGEMENT_ENDPOINT";
/// The environment variable that gives a function the webhook queue.
const WEBHOOK_QUEUE_URL: &str = "WEBHOOK_QUEUE_URL";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Iam {
    /// Each function's requests are checked against its policy (the local API, the tests).
    Enforced,
    /// Nothing is checked (benchmarks of the handler's own cost, as deployed).
    Off,
}

pub struct Functions {
    /// The stack's own state: its table, secret, clock; its closer reaches the open sockets.
    /// Not a function: tests and the console setup use it with the developer's full rights.
    base: Arc<State>,
    template: Template,
    iam: Iam,
    containers: Mutex<HashMap<String, Arc<State>>>,
    /// Faults every function's requests may meet (tests switch them on).
    pub faults: Arc<Faults>,
    /// The webhook queue (`crate::queue::serve` hands it to `send-webhooks`).
    pub webhook_queue: Arc<LocalQueue>,
    /// The webhook retry schedule every container gets.
    retry_delays: Mutex<Vec<std::time::Duration>>,
}

impl Functions {
    pub fn new(base: Arc<State>, iam: Iam) -> Result<Arc<Functions>, BoxError> {
        // What the containers emit is collected in this process (`GET /metrics`), every call's
        // capacity included (no sampling here: the figures are for reading, not billed).
        crate::metrics::install();
        shared::metrics::set_capacity_sample(1);
        Ok(Arc::new(Functions {
            base,
            template: Template::shipped()?,
            iam,
            containers: Mutex::default(),
            faults: Arc::default(),
            webhook_queue: Arc::default(),
            retry_delays: Mutex::new(crate::queue::LOCAL_RETRY_DELAYS.to_vec()),
        }))
    }

    /// Replaces the webhook retry schedule (containers started later get it; tests shorten it).
    pub fn set_retry_delays(&self, delays: Vec<std::time::Duration>) {
        if let Ok(mut slot) = self.retry_delays.lock() {
            *slot = delays;
        }
    }

    pub fn base(&self) -> &Arc<State> {
        &self.base
    }

    pub fn template(&self) -> &Template {
        &self.template
    }

    fn definition(&self, binary: &str) -> Result<&Function, ApiError> {
        self.template.function(binary).ok_or_else(|| {
            ApiError::Internal(format!(
                "template.yaml has no function with Binary {binary}"
            ))
        })
    }

    /// The policy of a function, resolved for this stack's table.
    pub fn policy(&self, binary: &str) -> Result<Arc<Policy>, ApiError> {
        Ok(Arc::new(Policy::of(
            self.definition(binary)?,
            &self.base.table,
        )))
    }

    /// Starts the webhook queue's consumer: `send-webhooks` in its own container
    /// ([`crate::queue::serve`]); `None` if one already runs.
    pub fn serve_webhook_queue(self: &Arc<Self>) -> Option<tokio::task::JoinHandle<()>> {
        let functions = self.clone();
        crate::queue::serve(
            self.webhook_queue.clone(),
            Arc::new(move || functions.state(crate::queue::SENDER_FUNCTION)),
        )
    }

    /// The warm container of `binary`, or a new one (a cold start).
    pub fn state(&self, binary: &str) -> Result<Arc<State>, ApiError> {
        let mut containers = self
            .containers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(state) = containers.get(binary) {
            return Ok(state.clone());
        }
        let state = self.cold_start(binary)?;
        containers.insert(binary.to_owned(), state.clone());
        Ok(state)
    }

    /// Drops every container: the next request of each function starts cold.
    pub fn recycle(&self) {
        self.containers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clear();
    }

    fn cold_start(&self, binary: &str) -> Result<Arc<State>, ApiError> {
        let began = std::time::Instant::now();
        let definition = self.definition(binary)?;
        let policy = self.policy(binary)?;
        let base = &self.base;
        let db = match self.iam {
            Iam::Off => base.db.clone(),
            Iam::Enforced => {
                let config = base.db.config();
                let inner = config.http_client().unwrap_or_else(local_http_client);
                aws_sdk_dynamodb::Client::from_conf(
                    config
                        .to_builder()
                        .http_client(EnforcingClient::shared(
                            inner,
                            policy.clone(),
                            self.faults.clone(),
                        ))
                        .build(),
                )
            }
        };
        let closer: Arc<dyn ConnectionCloser> = if definition.has_env(MANAGEMENT_ENDPOINT) {
            Arc::new(ManagedCloser {
                base: base.clone(),
                policy: (self.iam == Iam::Enforced).then(|| policy.clone()),
            })
        } else {
            // Deployed without the endpoint, the function closes nothing (items still go).
            Arc::new(NoCloser)
        };
        let webhooks = shared::queue::Webhooks::default();
        if definition.has_env(WEBHOOK_QUEUE_URL) {
            webhooks.set_queue(Arc::new(PolicedQueue {
                queue: self.webhook_queue.clone(),
                policy: (self.iam == Iam::Enforced).then(|| policy.clone()),
            }));
        }
        let delays = self
            .retry_delays
            .lock()
            .map(|d| d.clone())
            .unwrap_or_default();
        webhooks.set_retry_delays(delays);
        // The secret as the function's role may read it (`GetSecretValue`), as on AWS.
        let read = iam::Need::new("secretsmanager:GetSecretValue", iam::token_secret_arn());
        let token_secret = match (self.iam, base.token_secret.known_value()) {
            (Iam::Enforced, _) if !policy.allows_need(&read) => {
                let denied = policy.check(std::slice::from_ref(&read)).err();
                TokenSecret::refused(denied.map(|d| d.to_string()).unwrap_or_default())
            }
            (_, Some(value)) => {
                TokenSecret::known(value.to_vec()).map_err(|e| ApiError::Internal(e.to_string()))?
            }
            (_, None) => TokenSecret::refused("the local API has no token-signing secret".into()),
        };
        Ok(Arc::new(State {
            db,
            table: base.table.clone(),
            clock: base.clock.clone(),
            apps: AppCache::new(base.apps.ttl()),
            token_secret,
            connections: Connections::new(closer, base.connections.ttl_ms / 1000),
            webhooks,
            rate_leases: Default::default(),
            cold_start: shared::metrics::ColdStart::since(began),
            // Every function gets METRICS_NAMESPACE (Globals); its policy decides if it may read.
            metrics_source: crate::metrics::source((self.iam == Iam::Enforced).then_some(policy))
                .into(),
        }))
    }

    /// A DynamoDB Streams client with `binary`'s policy (the event source mapping reads the
    /// stream with the function's role).
    pub fn streams_client(
        &self,
        binary: &str,
        sdk_config: &aws_config::SdkConfig,
    ) -> Result<aws_sdk_dynamodbstreams::Client, ApiError> {
        let mut builder = aws_sdk_dynamodbstreams::config::Builder::from(sdk_config);
        if self.iam == Iam::Enforced {
            let inner = sdk_config.http_client().unwrap_or_else(local_http_client);
            builder = builder.http_client(EnforcingClient::shared(
                inner,
                self.policy(binary)?,
                self.faults.clone(),
            ));
        }
        Ok(aws_sdk_dynamodbstreams::Client::from_conf(builder.build()))
    }
}

/// The client the SDK would pick by default, for DynamoDB Local's plain HTTP (the SDK leaves
/// the choice to run time when none is configured, so there is none to wrap).
fn local_http_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    aws_smithy_http_client::Builder::new().build_http()
}

/// A function's view of the WebSocket API's management endpoint: its policy decides, then the
/// stack's closer (the local API's sockets) closes.
struct ManagedCloser {
    base: Arc<State>,
    policy: Option<Arc<Policy>>,
}

impl ConnectionCloser for ManagedCloser {
    fn close<'a>(&'a self, connection_id: &'a str) -> CloseFuture<'a> {
        let needs = [iam::Need::new(
            "execute-api:ManageConnections",
            iam::connection_arn(connection_id),
        )];
        if let Some(Err(denied)) = self.policy.as_ref().map(|p| p.check(&needs)) {
            // API Gateway answers 403 ForbiddenException.
            return Box::pin(async move {
                Err(ApiError::Internal(format!(
                    "DeleteConnection: ForbiddenException: {denied}"
                )))
            });
        }
        let closer = self.base.connections.closer();
        Box::pin(async move { closer.close(connection_id).await })
    }
}
