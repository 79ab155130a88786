//! Test harness: DynamoDB Local (from `DYNAMODB_ENDPOINT`, started once per run by
//! `scripts/test`), the table from `template.yaml`, one fresh app per test, and signed requests
//! through the same router the local API serves, each function in its own container held to its
//! IAM policy, as on AWS.

pub mod capacity;
pub mod faults;
pub mod invariants;
pub mod large_lists;
pub mod openapi;
pub mod receiver;
pub mod sockets;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use local_api::functions::{Functions, Iam};
use local_api::router::Router;
use serde_json::Value;
use shared::State;
use shared::apps::{self, App, AppChanges};
use shared::lambda_http::Request;
use shared::lambda_http::http::{HeaderMap, HeaderValue};
use shared::lambda_http::{Body, RequestExt};

pub use aws_sdk_dynamodb::config::Builder as DynamoConfig;

/// `(function, path, body)` of every signed Server API operation, from the `events/` files
/// (each function's sample request), by function name.
pub fn signed_operations() -> Vec<(String, String, Value)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../events");
    let mut operations: Vec<_> = std::fs::read_dir(dir)
        .expect("events/")
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let event: Value = serde_json::from_str(&std::fs::read_to_string(&path).ok()?).ok()?;
            let route = event["rawPath"].as_str()?.to_owned();
            let body = serde_json::from_str(event["body"].as_str()?).ok()?;
            let name = path.file_stem()?.to_str()?.to_owned();
            route.starts_with("/v4/").then_some((name, route, body))
        })
        .collect();
    operations.sort_by(|a, b| a.0.cmp(&b.0));
    operations
}

/// Function name → the DynamoDB request budget the README's endpoint table writes beside it
/// (besides the call's count against the app's limit, stated once for every signed call).
pub fn documented_budgets() -> std::collections::HashMap<String, String> {
    let readme = include_str!("../../README.md");
    let section = readme
        .split("## Endpoints")
        .nth(1)
        .expect("README has an Endpoints section");
    section
        .lines()
        .filter(|line| line.starts_with("| `"))
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            (cells[2].trim_matches('`').to_owned(), cells[3].to_owned())
        })
        .collect()
}

pub const ADMIN_TOKEN: &str = "integration-test-admin-token";
const TOKEN_SECRET: &str = "integration-tests-token-secret-0123456789";

pub struct Env {
    /// The stack's own state (the developer's full rights): for setup and for reading the table.
    pub state: Arc<State>,
    pub router: Router,
    /// Each function's container; requests run there, under the function's IAM policy.
    pub functions: Arc<Functions>,
}

/// The running webhook producer and sender ([`Env::deliver_webhooks`]).
pub struct WebhookPipeline {
    sender: tokio::task::JoinHandle<()>,
    _follower: local_api::stream::Follower,
}

impl Drop for WebhookPipeline {
    fn drop(&mut self) {
        self.sender.abort();
    }
}

pub struct Response {
    pub status: u16,
    pub body: Value,
    pub headers: HeaderMap,
}

impl Response {
    /// `(status, code)`: what a client branches on.
    pub fn outcome(&self) -> (u16, i64) {
        (self.status, self.body["code"].as_i64().unwrap_or(-1))
    }
}

/// The test environment. Panics with instructions when DynamoDB Local is not configured.
pub async fn env() -> Env {
    env_with(|config| config).await
}

/// The test environment with every DynamoDB request logged, from after the table's setup.
pub async fn logged_env() -> (Env, RequestLog) {
    let log = RequestLog::default();
    let interceptor = log.clone();
    let env = env_with(|config| config.interceptor(interceptor)).await;
    log.take();
    (env, log)
}

/// The test environment with a fault injector in its DynamoDB client, and no SDK retries: what
/// is tested is how our code answers DynamoDB's errors (our own retries included).
pub async fn faulty_env() -> (Env, faults::FaultInjector) {
    let injector = faults::FaultInjector::default();
    let interceptor = injector.clone();
    let env = env_with(|config| {
        config.interceptor(interceptor).retry_config(
            aws_sdk_dynamodb::config::retry::RetryConfig::standard().with_max_attempts(1),
        )
    })
    .await;
    (env, injector)
}

/// The test environment with a customised DynamoDB client (e.g. an interceptor).
pub async fn env_with(customise: impl FnOnce(DynamoConfig) -> DynamoConfig) -> Env {
    let table = std::env::var("TEST_TABLE_NAME").unwrap_or_else(|_| "chat-users-test".into());
    env_in(&table, customise).await
}

/// A stack of its own: the test environment on its own table (and so its own stream), as a
/// separate deployment. For tests that follow the stream and must not see, or act on, the
/// changes of tests running beside them (each test's webhook pipeline would deliver the other
/// tests' events with its own retry schedule).
pub async fn isolated_env(name: &str) -> Env {
    env_in(&format!("chat-users-{name}"), |config| config).await
}

async fn env_in(table: &str, customise: impl FnOnce(DynamoConfig) -> DynamoConfig) -> Env {
    let table = table.to_owned();
    // The functions' JSON logs (an IAM denial, a failed purge) show with a failing test's output.
    shared::lambda::init_logs();
    let endpoint = std::env::var("DYNAMODB_ENDPOINT").expect(
        "DYNAMODB_ENDPOINT is not set: run the tests with `make test` (it starts DynamoDB Local)",
    );
    let sdk_config = shared::state::sdk_config(Some(&endpoint)).await;
    let client = aws_sdk_dynamodb::Client::from_conf(
        customise(shared::state::dynamodb_config(&sdk_config)).build(),
    );
    let definition =
        local_api::table::definition_from_template(local_api::table::TEMPLATE).expect("template");
    local_api::table::ensure(&client, &table, &definition)
        .await
        .expect("table");
    let state =
        State::new(client, table, TOKEN_SECRET.into(), Duration::from_secs(30)).expect("state");
    Env {
        functions: Functions::new(state.clone(), Iam::Enforced).expect("functions"),
        state,
        router: local_api::router::all(),
    }
}

pub fn sign_headers(headers: &mut HeaderMap, app_key: &str, app_secret: &str, timestamp_ms: i64) {
    let nonce = (uuid::Uuid::new_v4().as_u128() % 1_000_000_000_000_000_000).to_string();
    let timestamp = timestamp_ms.to_string();
    let signature = shared::auth::sign(app_secret, &nonce, &timestamp);
    for (name, value) in [
        ("app-key", app_key),
        ("nonce", &nonce),
        ("timestamp", &timestamp),
        ("signature", &signature),
    ] {
        headers.insert(name, HeaderValue::from_str(value).expect("header"));
    }
}

pub fn post(path: &str, body: impl Into<Body>) -> Request {
    let mut request = Request::new(body.into());
    *request.method_mut() = shared::lambda_http::http::Method::POST;
    *request.uri_mut() = path.parse().expect("path");
    request
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    request
}

/// A real API Gateway v2 payload from `events/<name>.json`.
pub fn event(name: &str) -> Request {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../events")
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let request = shared::lambda_http::request::from_str(&text)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        request.request_context_ref().is_some(),
        "{name}: not an API Gateway payload"
    );
    request
}

impl Env {
    /// The container of function `binary` (its own client, cache and IAM policy).
    pub fn function(&self, binary: &str) -> Arc<State> {
        self.functions
            .state(binary)
            .expect("a function of template.yaml")
    }

    /// Every function's container with `app` in its cache, as after earlier requests.
    pub fn warm(&self, app: &App) {
        let app = Arc::new(app.clone());
        for function in &self.functions.template().functions {
            self.function(&function.binary).apps.remember(app.clone());
        }
    }

    /// A new app. Unless `changes` sets `rateLimits`, it counts every call under a limit no test
    /// reaches (`UNREACHED_RATE_LIMIT`), so every test sends the counter's requests, under its
    /// functions' policies and the injected faults; `rate_limits.rs` tests the limits themselves.
    pub async fn new_app(&self, mut changes: AppChanges) -> App {
        changes
            .rate_limits
            .get_or_insert_with(|| serde_json::json!({ "default": UNREACHED_RATE_LIMIT }));
        apps::create(&self.state, changes)
            .await
            .expect("create app")
    }

    pub async fn dev_app(&self) -> App {
        self.new_app(AppChanges::default()).await
    }

    /// Routes `request`; an answer of a route of ours must fit our OpenAPI document, as served
    /// at `/openapi.json` (it panics with the violations otherwise).
    pub async fn send(&self, request: Request) -> Response {
        let path = request.uri().path().to_owned();
        let response = self
            .router
            .dispatch(&self.functions, request, ADMIN_TOKEN)
            .await;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null);
        openapi::assert_answer_fits_ours(&path, status, &body);
        Response {
            status,
            body,
            headers,
        }
    }

    /// Signs `request` for `app` with a fresh nonce and the current time.
    pub fn sign(&self, request: &mut Request, app: &App) {
        let now_ms = self.state.clock.now_ms();
        sign_headers(request.headers_mut(), &app.app_key, &app.app_secret, now_ms);
    }

    /// A correctly signed request of `app`, fresh nonce and timestamp.
    pub fn signed(&self, app: &App, path: &str, body: &Value) -> Request {
        let mut request = post(path, body.to_string());
        self.sign(&mut request, app);
        request
    }

    pub async fn call(&self, app: &App, path: &str, body: Value) -> Response {
        self.send(self.signed(app, path, &body)).await
    }

    pub async fn console(&self, path: &str, body: Value) -> Response {
        let mut request = post(path, body.to_string());
        let bearer = HeaderValue::from_str(&format!("Bearer {ADMIN_TOKEN}")).expect("header");
        request.headers_mut().insert("authorization", bearer);
        self.send(request).await
    }

    /// Calls and returns the body, asserting HTTP 200 with one of the business `codes`.
    pub async fn answered(&self, app: &App, path: &str, body: Value, codes: &[i64]) -> Value {
        let response = self.call(app, path, body).await;
        assert_eq!(response.status, 200, "{path}: {}", response.body);
        assert!(
            codes.contains(&response.body["code"].as_i64().unwrap_or(-1)),
            "{path}: {}",
            response.body
        );
        response.body
    }

    /// Issues a token and returns it (panics unless the call succeeds).
    pub async fn issue(&self, app: &App, user_id: &str) -> String {
        let body = serde_json::json!({ "userId": user_id, "name": format!("name of {user_id}") });
        let response = self.call(app, "/v4/auth/access-token/issue", body).await;
        assert_eq!(response.outcome(), (200, 0), "{}", response.body);
        response.body["result"]["accessToken"]
            .as_str()
            .expect("token")
            .to_owned()
    }

    /// Every item of the whole table that `filter` keeps (string values only). A scan reads
    /// the table that every test of the run fills, and on a loaded machine one page can take
    /// longer than a function's 3 s attempt timeout: the harness waits for it instead.
    pub async fn scan_where(
        &self,
        filter: &str,
        values: &[(&str, String)],
    ) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        let patient = aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
            .operation_attempt_timeout(Duration::from_secs(60))
            .operation_timeout(Duration::from_secs(240))
            .build();
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let mut scan = self
                .state
                .db
                .scan()
                .table_name(&self.state.table)
                .filter_expression(filter)
                .set_exclusive_start_key(start);
            for (name, value) in values {
                scan = scan.expression_attribute_values(
                    *name,
                    aws_sdk_dynamodb::types::AttributeValue::S(value.clone()),
                );
            }
            let out = scan
                .customize()
                .config_override(DynamoConfig::default().timeout_config(patient.clone()))
                .send()
                .await
                .expect("scan");
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key;
            if start.is_none() {
                return items;
            }
        }
    }

    /// Every item of an app's users and its app record, read straight from the table.
    pub async fn app_items(
        &self,
        app_key: &str,
    ) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        let mut items = self
            .scan_where(
                "begins_with(PK, :prefix)",
                &[(":prefix", format!("APP#{app_key}"))],
            )
            .await;
        // Replay-guard nonces are not app data.
        items.retain(|item| {
            item.get("SK")
                .and_then(|v| v.as_s().ok())
                .is_none_or(|sk| sk != "NONCE")
        });
        items
    }

    /// The stream record (Lambda's form) of `user_id`'s soft delete by `operation_id`.
    pub fn purge_record(app: &App, user_id: &str, operation_id: &str) -> Value {
        serde_json::json!({"Records": [{
            "eventName": "MODIFY",
            "eventSource": "aws:dynamodb",
            "dynamodb": {"SequenceNumber": "1", "NewImage": {
                "PK": {"S": format!("APP#{}#U#{user_id}", app.app_key)}, "SK": {"S": "USER"},
                "state": {"S": "soft-deleted"}, "purgeState": {"S": "pending"},
                "purgeOperation": {"S": operation_id}
            }}
        }]})
    }

    /// Hands a stream batch to the purge function's container, as the event source mapping does;
    /// returns its answer (`batchItemFailures`).
    pub async fn deliver_to_purge(&self, event: &Value) -> Value {
        purge_soft_deleted_users::handle(
            &self.function("purge-soft-deleted-users"),
            event,
            shared::purge::Deadline::none(),
        )
        .await
    }

    /// Follows the table's stream from now on, running the purge as the deployed stream function
    /// does, through the Lambda-like event source mapping, with every batch delivered twice and
    /// late (Lambda delivers at least once). Dropping the handle stops it.
    pub async fn follow_stream(&self) -> local_api::stream::Follower {
        self.follow_stream_with(None).await
    }

    /// [`Env::follow_stream`], each invocation given `timeout` instead of the function's own
    /// (`Some(ZERO)`: every purge invocation does one page, then checkpoints).
    pub async fn follow_stream_with(
        &self,
        timeout: Option<Duration>,
    ) -> local_api::stream::Follower {
        let endpoint = std::env::var("DYNAMODB_ENDPOINT").expect("DYNAMODB_ENDPOINT");
        let delivery = local_api::stream::Delivery {
            duplicate: true,
            delay: Duration::from_millis(200),
            timeout,
        };
        local_api::stream::follow(
            self.functions.clone(),
            endpoint,
            aws_sdk_dynamodbstreams::types::ShardIteratorType::Latest,
            delivery,
        )
        .await
        .expect("stream")
    }

    /// The webhook pipeline as deployed: the table's stream drives the producer (and the purge),
    /// every batch twice and late ([`Env::follow_stream`]), and the queue drives the sender,
    /// with `retry_delays` as the retry schedule. Dropping it stops both.
    pub async fn deliver_webhooks(&self, retry_delays: &[Duration]) -> WebhookPipeline {
        self.functions.set_retry_delays(retry_delays.to_vec());
        WebhookPipeline {
            sender: self.functions.serve_webhook_queue().expect("one sender"),
            _follower: self.follow_stream().await,
        }
    }

    /// One scheduled run of the purge sweeper over `app`'s operations only (other tests'
    /// operations share the table); panics if the function answers an error.
    pub async fn sweep_purges(&self, app: &App) -> Value {
        let answer = local_api::schedule::invoke(
            &self.functions,
            local_api::schedule::SWEEP_FUNCTION,
            serde_json::json!({"detail-type": "Scheduled Event", "appKey": app.app_key}),
        )
        .await
        .expect("invoke");
        assert!(answer.get("error").is_none(), "{answer}");
        answer
    }

    /// Polls an operation record until no user is `pending` (the purge finished), or panics
    /// after 20 seconds.
    pub async fn wait_for_operation(&self, app: &App, operation_id: &str) -> Value {
        for _ in 0..200 {
            let response = self
                .call(
                    app,
                    "/v4/ext/operation/get",
                    serde_json::json!({"operationId": operation_id}),
                )
                .await;
            assert_eq!(response.outcome(), (200, 0), "{}", response.body);
            let users = response.body["result"]["users"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if users.iter().all(|u| u["status"] != "pending") {
                return response.body["result"].clone();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("operation {operation_id} still pending after 20 s");
    }

    /// Every user the app registered, as the console shows it (app item and shards).
    pub async fn user_count(&self, app_key: &str) -> u64 {
        let app = apps::fetch(&self.state, app_key)
            .await
            .expect("fetch")
            .expect("app");
        shared::user_count::total(&self.state, &app)
            .await
            .expect("count")
    }
}

/// Records the name of every DynamoDB request the client sends (retries included): the
/// round-trip budget is counted, not timed.
#[derive(Debug, Default, Clone)]
pub struct RequestLog(Arc<std::sync::Mutex<Vec<String>>>);

/// The limit per second of test apps ([`Env::new_app`]).
pub const UNREACHED_RATE_LIMIT: u32 = shared::rate_limits::MAX_LIMIT;

/// How [`RequestLog`] names an `UpdateItem` of a rate counter (`shared::rate`), apart from the
/// operation's own requests.
pub const RATE_COUNT: &str = "RateCount";

/// The partition key of the rate counter a DynamoDB request body updates (`shared::rate`), if
/// it is one.
pub fn rate_counter_of(body: &[u8]) -> Option<String> {
    let request: Value = serde_json::from_slice(body).ok()?;
    let pk = request["Key"][shared::table::PK]["S"].as_str()?;
    pk.starts_with("RATE#").then(|| pk.to_owned())
}

impl RequestLog {
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl aws_sdk_dynamodb::config::Intercept for RequestLog {
    fn name(&self) -> &'static str {
        "RequestLog"
    }

    fn read_before_transmit(
        &self,
        context: &aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _components: &aws_sdk_dynamodb::config::RuntimeComponents,
        cfg: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let mut name = cfg
            .load::<aws_smithy_runtime_api::client::orchestrator::Metadata>()
            .map(|m| m.name().to_owned())
            .unwrap_or_else(|| "unknown".into());
        let body = context.request().body().bytes().unwrap_or_default();
        if name == "UpdateItem" && rate_counter_of(body).is_some() {
            name = RATE_COUNT.to_owned();
        }
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(name);
        Ok(())
    }
}
