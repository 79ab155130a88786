//! A DynamoDB fault injector for tests: an SDK interceptor that replaces DynamoDB's answer with
//! an error DynamoDB really sends (same status, `__type` and body shape), so the SDK parses it as
//! it would parse AWS's. Faults apply per call being served: the first `skip` DynamoDB requests
//! of each armed window pass, every later one fails, until disarmed.

use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::BeforeDeserializationInterceptorContextMut;
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
}

impl Fault {
    pub const ALL: [Fault; 7] = [
        Fault::Throttling,
        Fault::ProvisionedThroughputExceeded,
        Fault::InternalServerError,
        Fault::ServiceUnavailable,
        Fault::TransactionConflict,
        Fault::CanceledThrottling,
        Fault::CanceledConflict,
    ];

    /// `(status, body)` of DynamoDB's answer to `operation` (with `items` transaction items).
    fn answer(self, operation: &str, items: usize) -> (u16, Value) {
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
        match self {
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
        }
    }
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
            armed.injected += 1;
            fault
        };
        let operation = cfg
            .load::<Metadata>()
            .map(|m| m.name().to_owned())
            .unwrap_or_default();
        let items = context
            .inner()
            .request()
            .and_then(|r| r.body().bytes())
            .and_then(|b| serde_json::from_slice::<Value>(b).ok())
            .and_then(|v| v["TransactItems"].as_array().map(Vec::len))
            .unwrap_or(0);
        let (status, body) = fault.answer(&operation, items);
        let response = context.response_mut();
        *response.status_mut() = status.try_into()?;
        response
            .headers_mut()
            .insert("content-type", "application/x-amz-json-1.0");
        *response.body_mut() = SdkBody::from(body.to_string());
        Ok(())
    }
}
