//! A DynamoDB fault injector for tests: an SDK interceptor that replaces DynamoDB's answer with
//! an error DynamoDB really sends (same status, `__type` and body shape), so the SDK parses it as
//! it would parse AWS's, or with what a lagging index answers, or delays it. Faults apply per
//! call being served: the first `skip` DynamoDB requests of each armed window pass, every later
//! one is faulted, until disarmed.

use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::{
    BeforeDeserializationInterceptorContextMut, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_types::body::SdkBody;
use serde_json::{Value, json};

/// An error DynamoDB answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Throttling,
    ProvisionedThroughputExceeded,
    InternalServerError,
    ServiceUnavailable,
    /// A single-item write that met an item inside another transaction.
    TransactionConflict,
    /// `TransactionCanceledException` with `ThrottlingError` reasons (transactions only; other
    /// requests get `ThrottlingException`).
    CanceledThrottling,
    /// `TransactionCanceledException` with `TransactionConflict` reasons (transactions only).
    CanceledConflict,
    /// A query of an index answers as an index that has not caught up yet: no items (other
    /// requests pass).
    IndexLag,
    /// The answer arrives [`SLOW_ANSWER`] late (the interceptor holds it; the attempt timeout
    /// is longer).
    Slow,
}

/// How late a [`Fault::Slow`] answer arrives.
pub const SLOW_ANSWER: std::time::Duration = std::time::Duration::from_millis(100);

impl Fault {
    pub const ALL: [Fault; 9] = [
        Fault::Throttling,
        Fault::ProvisionedThroughputExceeded,
        Fault::InternalServerError,
        Fault::ServiceUnavailable,
        Fault::TransactionConflict,
        Fault::CanceledThrottling,
        Fault::CanceledConflict,
        Fault::IndexLag,
        Fault::Slow,
    ];

    /// Whether the fault passes with time (DynamoDB's errors): the answer may then be 504/1050.
    /// A lagging index or a slow answer must not change the answer's kind.
    pub fn transient(self) -> bool {
        !matches!(self, Fault::IndexLag | Fault::Slow)
    }

    /// `(status, body)` of DynamoDB's answer to `operation` (with `items` transaction items);
    /// `None`: DynamoDB's own answer stands.
    fn answer(self, operation: &str, request: &Value) -> Option<(u16, Value)> {
        let items = request["TransactItems"].as_array().map_or(0, Vec::len);
        let error = |status, kind: &str, message: &str| {
            (
                status,
                json!({"__type": format!("com.amazonaws.dynamodb.v20120810#{kind}"), "message": message}),
            )
        };
        let canceled = |reason: &str| {
            let reasons: Vec<Value> = (0..items.max(1))
                .map(|_| json!({"Code": reason, "Message": reason}))
                .collect();
            (
                400,
                json!({
                    "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
                    "Message": format!("Transaction cancelled, please refer cancellation reasons for specific reasons [{reason}]"),
                    "CancellationReasons": reasons,
                }),
            )
        };
        Some(match self {
            Fault::IndexLag if operation == "Query" && request.get("IndexName").is_some() => {
                (200, json!({"Count": 0, "ScannedCount": 0, "Items": []}))
            }
            Fault::IndexLag => return None,
            Fault::Slow => {
                std::thread::sleep(SLOW_ANSWER);
                return None;
            }
            Fault::Throttling => error(
                400,
                "ThrottlingException",
                "Rate of requests exceeds the allowed throughput.",
            ),
            Fault::ProvisionedThroughputExceeded => error(
                400,
                "ProvisionedThroughputExceededException",
                "The level of configured provisioned throughput for the table was exceeded.",
            ),
            Fault::InternalServerError => {
                error(500, "InternalServerError", "Internal server error")
            }
            Fault::ServiceUnavailable => error(503, "ServiceUnavailable", "Service unavailable"),
            Fault::TransactionConflict => error(
                400,
                "TransactionConflictException",
                "Transaction is ongoing for the item",
            ),
            Fault::CanceledThrottling if operation == "TransactWriteItems" => {
                canceled("ThrottlingError")
            }
            Fault::CanceledConflict if operation == "TransactWriteItems" => {
                canceled("TransactionConflict")
            }
            Fault::CanceledThrottling | Fault::CanceledConflict => error(
                400,
                "ThrottlingException",
                "Rate of requests exceeds the allowed throughput.",
            ),
        })
    }
}

/// The body of the request being sent, kept in the operation's config bag: by the time its
/// answer arrives the orchestrator has handed the request itself to the HTTP client.
#[derive(Debug, Clone)]
struct SentRequest(Value);

impl aws_smithy_types::config_bag::Storable for SentRequest {
    type Storer = aws_smithy_types::config_bag::StoreReplace<Self>;
}

/// Keeps the request's body for [`sent_request`] (the `read_before_transmit` of both
/// interceptors).
fn keep_request(context: &BeforeTransmitInterceptorContextRef<'_>, cfg: &mut ConfigBag) {
    let body = context
        .request()
        .body()
        .bytes()
        .and_then(|b| serde_json::from_slice::<Value>(b).ok())
        .unwrap_or_default();
    cfg.interceptor_state().store_put(SentRequest(body));
}

/// Puts DynamoDB's error `(status, body)` in place of the answer that arrived.
fn replace_answer(
    context: &mut BeforeDeserializationInterceptorContextMut<'_>,
    status: u16,
    body: &Value,
) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
    let response = context.response_mut();
    *response.status_mut() = status.try_into()?;
    response
        .headers_mut()
        .insert("content-type", "application/x-amz-json-1.0");
    *response.body_mut() = SdkBody::from(body.to_string());
    Ok(())
}

/// The body of the request whose answer is being read.
fn sent_request(cfg: &ConfigBag) -> Value {
    cfg.load::<SentRequest>()
        .map(|sent| sent.0.clone())
        .unwrap_or_default()
}

#[derive(Debug, Default)]
struct Armed {
    fault: Option<Fault>,
    /// Requests still let through before the fault applies.
    skip: usize,
    /// Requests seen while armed, and how many of them were answered with the fault.
    seen: usize,
    injected: usize,
}

/// The interceptor; clone it into the client's config and keep a clone to arm it.
#[derive(Debug, Default, Clone)]
pub struct FaultInjector(Arc<Mutex<Armed>>);

impl FaultInjector {
    /// From now on, let `skip` requests through, then answer every request with `fault`.
    pub fn arm(&self, fault: Fault, skip: usize) {
        *self.lock() = Armed {
            fault: Some(fault),
            skip,
            ..Armed::default()
        };
    }

    /// Stops injecting; returns `(requests seen, requests answered with the fault)`.
    pub fn disarm(&self) -> (usize, usize) {
        let armed = std::mem::take(&mut *self.lock());
        (armed.seen, armed.injected)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Armed> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Intercept for FaultInjector {
    fn name(&self) -> &'static str {
        "FaultInjector"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        keep_request(context, cfg);
        Ok(())
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let fault = {
            let mut armed = self.lock();
            let Some(fault) = armed.fault else {
                return Ok(());
            };
            armed.seen += 1;
            if armed.skip > 0 {
                armed.skip -= 1;
                return Ok(());
            }
            fault
        };
        let operation = cfg
            .load::<Metadata>()
            .map(|m| m.name().to_owned())
            .unwrap_or_default();
        let answer = fault.answer(&operation, &sent_request(cfg));
        if answer.is_some() || fault == Fault::Slow {
            self.lock().injected += 1;
        }
        match answer {
            Some((status, body)) => replace_answer(context, status, &body),
            None => Ok(()),
        }
    }
}

/// Loses DynamoDB's answer to the first request of `operation` whose body contains `marker`:
/// the request was carried out, the client gets a 500 instead and (with the SDK's retries on)
/// sends it again, as after an attempt timeout.
#[derive(Debug, Clone)]
pub struct LostAnswer {
    operation: &'static str,
    marker: &'static str,
    lost: Arc<Mutex<usize>>,
}

impl LostAnswer {
    pub fn new(operation: &'static str, marker: &'static str) -> Self {
        Self {
            operation,
            marker,
            lost: Arc::default(),
        }
    }

    /// How many answers were lost (at most one).
    pub fn lost(&self) -> usize {
        *self.lost.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Intercept for LostAnswer {
    fn name(&self) -> &'static str {
        "LostAnswer"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        keep_request(context, cfg);
        Ok(())
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let matches = cfg
            .load::<Metadata>()
            .is_some_and(|m| m.name() == self.operation)
            && sent_request(cfg).to_string().contains(self.marker);
        let mut lost = self.lost.lock().unwrap_or_else(|p| p.into_inner());
        if !matches || *lost > 0 {
            return Ok(());
        }
        *lost += 1;
        let (status, body) = Fault::InternalServerError
            .answer(self.operation, &Value::Null)
            .unwrap_or_default();
        replace_answer(context, status, &body)
    }
}
