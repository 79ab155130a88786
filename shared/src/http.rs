//! The glue between HTTP and an operation: method, signing headers, body size, JSON shape and
//! limits, authentication, the call, the JSON response, `X-Request-ID` and one log line.
//! Transport-neutral: Lambda, the local API and in-process tests all pass an `http::Request`.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use lambda_http::http::{HeaderMap, Method, Response, StatusCode};
use lambda_http::{Body, Request};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tracing::Instrument;

use crate::apps::App;
use crate::auth;
use crate::console::ConsoleCall;
use crate::error::ApiError;
use crate::replay::{Guard, Placement};
use crate::state::State;

/// Bodies above 1 MiB are refused before parsing.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
const REQUEST_ID_MAX: usize = 36;

/// A successful answer: HTTP 200 with `{"code":0}` or `{"code":0,"result":...}`. A few
/// operations answer 200 with another code (e.g. a pending friend request).
#[derive(Debug)]
pub struct Reply {
    pub code: i64,
    pub result: Option<Value>,
}

impl Reply {
    /// An operation's typed response as the envelope carries it: a response that serializes to
    /// `null` (`()`) leaves `result` out.
    pub fn of(code: i64, response: &impl serde::Serialize) -> Result<Self, ApiError> {
        let value =
            serde_json::to_value(response).map_err(|e| ApiError::Internal(e.to_string()))?;
        Ok(Self {
            code,
            result: (!value.is_null()).then_some(value),
        })
    }
}

/// What an operation gets besides its request: the shared state, the authenticated app, and
/// the time the request was accepted.
pub struct Call {
    pub state: Arc<State>,
    pub app: Arc<App>,
    pub now_ms: i64,
}

/// A Server API operation: its request body type, checked before any lookup, then run.
pub trait Operation: DeserializeOwned + Send + 'static {
    /// Kebab-case name, as the function is named; used in logs.
    const NAME: &'static str;
    /// The request paths served (the first is canonical, the rest aliases).
    const PATHS: &'static [&'static str];
    /// A read-only operation records no nonce and trusts the container's cached app (for the
    /// cache's TTL): once the app is cached it sends only its own DynamoDB requests. A change
    /// records its nonce and checks the app as stored now before it runs.
    const READ_ONLY: bool = false;
    /// Where a change records its nonce (ignored for a read): beside the app's check by
    /// default; in its first transaction when every write it makes is a transaction.
    const NONCE: Placement = Placement::BesideAppCheck;
    /// What a success answers as `result`, typed as the contract's schema; `()` for none.
    type Response: serde::Serialize + Send;
    fn validate(&self) -> Result<(), ApiError>;
    fn run(self, call: Call) -> impl Future<Output = Result<Self::Response, ApiError>> + Send;
    /// What the call counts against the app's limit per second: 1, or the users of a soft
    /// delete or restore (their limits are users per second).
    fn rate_units(&self) -> u32 {
        1
    }
    /// The business code of a success: 0 unless the contract gives an outcome its own.
    fn code(_response: &Self::Response) -> i64 {
        0
    }
    /// Console routes on which the same function runs this operation for the console: the body
    /// names the app (`appKey`) beside the operation's fields, the call is authorized by the
    /// console's authorizer instead of the app's signature, and a change is written to the
    /// audit log. The browser never holds an app secret.
    const CONSOLE_PATHS: &'static [&'static str] = &[];
}

/// A console operation (apps, their settings and users). API Gateway's JWT authorizer admits
/// these (Cognito); the local API its admin token or a session. No App-Key signing.
pub trait ConsoleOperation: DeserializeOwned + Send + 'static {
    const NAME: &'static str;
    const PATHS: &'static [&'static str];
    /// What a success answers as `result`; `()` for none.
    type Response: serde::Serialize + Send;
    fn validate(&self) -> Result<(), ApiError>;
    fn run(
        self,
        call: ConsoleCall,
    ) -> impl Future<Output = Result<Self::Response, ApiError>> + Send;
}

/// The request id: the caller's `X-Request-ID` when sensible, else a fresh one.
pub fn request_id(headers: &HeaderMap) -> String {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty() && v.len() <= REQUEST_ID_MAX && v.bytes().all(|b| b.is_ascii_graphic())
        })
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// Parses the body into the operation's request, naming the failing field.
pub fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::TooLong(format!(
            "request body: exceeds the limit of {MAX_BODY_BYTES} bytes"
        )));
    }
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::InvalidParameter(format!("body is not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::InvalidParameter(
            "body must be a JSON object".into(),
        ));
    }
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if path == "." {
            ApiError::InvalidParameter(inner.to_string())
        } else {
            ApiError::invalid(&path, inner)
        }
    })
}

pub fn render(status: u16, body: &Value, request_id: &str) -> Response<Body> {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", "application/json; charset=utf-8")
        .header("x-request-id", request_id)
        .body(Body::Text(body.to_string()))
        .unwrap_or_else(|_| Response::new(Body::Text(body.to_string())))
}

fn render_result(
    result: Result<Reply, ApiError>,
    request_id: &str,
    op: &'static str,
    started: Instant,
) -> Response<Body> {
    let elapsed = started.elapsed();
    let elapsed_ms = elapsed.as_secs_f64() * 1000.0;
    let usage = crate::metrics::usage();
    let dynamodb_requests = usage.requests;
    match result {
        Ok(reply) => {
            tracing::info!(
                op,
                status = 200,
                code = reply.code,
                elapsed_ms,
                dynamodb_requests,
                "request done"
            );
            crate::metrics::answered(op, 200, reply.code, elapsed, usage);
            let body = match reply.result {
                Some(result) => json!({ "code": reply.code, "result": result }),
                None => json!({ "code": reply.code }),
            };
            render(200, &body, request_id)
        }
        Err(err) => {
            let (status, code) = (err.status(), err.code());
            match &err {
                ApiError::Internal(detail) => {
                    tracing::error!(op, status, code, elapsed_ms, dynamodb_requests, detail = %detail, "request failed")
                }
                _ => {
                    tracing::info!(op, status, code, elapsed_ms, dynamodb_requests, error = %err, "request refused")
                }
            }
            crate::metrics::answered(op, status, code, elapsed, usage);
            let mut response = render(status, &err.body(), request_id);
            if let ApiError::TooManyRequests(_) = err {
                // Limits are counted per second: the next second may admit the call.
                response.headers_mut().insert(
                    "retry-after",
                    lambda_http::http::HeaderValue::from_static("1"),
                );
            }
            response
        }
    }
}

fn lambda_request_id(request: &Request) -> String {
    use lambda_http::RequestExt;
    request
        .lambda_context_ref()
        .map(|c| c.request_id.clone())
        .unwrap_or_default()
}

async fn signed<O: Operation>(state: Arc<State>, request: &Request) -> Result<Reply, ApiError> {
    if request.method() != Method::POST {
        return Err(ApiError::MethodNotAllowed);
    }
    let now_ms = state.clock.now_ms();
    let headers = auth::signing_headers(request.headers(), now_ms)?;
    let operation: O = parse_body(request.body().as_ref())?;
    operation.validate()?;
    let (app, read_now) = auth::authenticate(&state, &headers).await?;
    tracing::Span::current().record("app", app.app_key.as_str());
    // The app's limit first (`crate::rate`), with the limits of the app as this container has
    // it: admitted from the container's lease with no request, or after one request alone, so a
    // refused call has sent nothing else and recorded nothing (not its nonce): the client may
    // send the very same request again after `Retry-After`.
    crate::rate::admit(
        &state,
        &app,
        O::NAME,
        O::PATHS,
        operation.rate_units(),
        now_ms,
    )
    .await?;
    if O::READ_ONLY {
        // A read records no nonce (a replayed read shows only what the captured answer showed)
        // and trusts the container's cached app for its TTL: it sends only its own requests.
        let call = Call {
            state: state.clone(),
            app,
            now_ms,
        };
        let response = operation.run(call).await?;
        return Reply::of(O::code(&response), &response);
    }
    // The container's cached app may be older than a rotation or a status change made in another
    // function's container: a change is authorised by the app as stored now (unless it was just
    // read for this request), and runs with its settings.
    let current = async {
        match read_now {
            true => Ok(app.clone()),
            false => auth::authenticate_current(&state, &headers).await,
        }
    };
    let guard = Guard::new(&state, &headers, now_ms)?;
    let app = match O::NONCE {
        Placement::BesideAppCheck => {
            let (fresh, current) = tokio::join!(guard.record_alone(&state), current);
            fresh?;
            current?
        }
        Placement::InFirstTransaction => current.await?,
    };
    let call = Call {
        state: state.clone(),
        app,
        now_ms,
    };
    let response = match O::NONCE {
        Placement::BesideAppCheck => operation.run(call).await?,
        Placement::InFirstTransaction => {
            guard
                .in_first_transaction(&state, operation.run(call))
                .await?
        }
    };
    Reply::of(O::code(&response), &response)
}

/// Serves one signed Server API request end to end.
pub async fn serve<O: Operation>(state: Arc<State>, request: Request) -> Response<Body> {
    let started = Instant::now();
    let request_id = request_id(request.headers());
    let span = tracing::info_span!("request", request_id = %request_id, aws_request_id = %lambda_request_id(&request), app = tracing::field::Empty);
    crate::metrics::invoked(&state.cold_start, O::NAME);
    let call = async {
        let result = match O::CONSOLE_PATHS.contains(&request.uri().path()) {
            true => for_console::<O>(state, &request, &request_id).await,
            false => signed::<O>(state, &request).await,
        };
        render_result(result, &request_id, O::NAME, started)
    };
    crate::metrics::within_call(&request_id, call.instrument(span)).await
}

/// The console call of `request`: who acts (the authorizer's claims; none is refused: a
/// console route is never served without an authorizer in front) and when.
fn console_call(
    state: Arc<State>,
    request: &Request,
    request_id: &str,
) -> Result<ConsoleCall, ApiError> {
    if request.method() != Method::POST {
        return Err(ApiError::MethodNotAllowed);
    }
    let actor = crate::console::actor(request).ok_or(ApiError::Unauthenticated(
        "a console call needs the console's sign-in",
    ))?;
    Ok(ConsoleCall {
        now_ms: state.clock.now_ms(),
        state,
        actor,
        request_id: request_id.to_owned(),
    })
}

async fn console<O: ConsoleOperation>(
    state: Arc<State>,
    request: &Request,
    request_id: &str,
) -> Result<Reply, ApiError> {
    let call = console_call(state, request, request_id)?;
    let operation: O = parse_body(request.body().as_ref())?;
    operation.validate()?;
    Reply::of(0, &operation.run(call).await?)
}

/// `fields` as `T`, refusing a field `T` does not take with 400/1002 naming it (the Server API
/// ignores unknown fields, as Nexconn does; a console call must not: an operator's typo must
/// never answer 200 and change nothing).
pub fn parse_known<T: DeserializeOwned>(
    fields: serde_json::Map<String, Value>,
) -> Result<T, ApiError> {
    let mut unknown = Vec::new();
    let parsed = serde_path_to_error::deserialize(serde_ignored::Deserializer::new(
        Value::Object(fields),
        &mut |path: serde_ignored::Path<'_>| unknown.push(path.to_string()),
    ));
    let parsed = parsed.map_err(|err| {
        let path = err.path().to_string();
        match path.as_str() {
            "." => ApiError::InvalidParameter(err.into_inner().to_string()),
            _ => ApiError::invalid(&path, err.into_inner()),
        }
    })?;
    match unknown.first() {
        None => Ok(parsed),
        Some(name) => Err(ApiError::invalid(name, "is not a field of this call")),
    }
}

/// A Server API operation run for the console (`Operation::CONSOLE_PATHS`): on the app the
/// body names, as stored now, without a nonce (the console has no replay to guard against) and
/// outside the app's limits per second (they meter the app's own traffic, not its operators).
async fn for_console<O: Operation>(
    state: Arc<State>,
    request: &Request,
    request_id: &str,
) -> Result<Reply, ApiError> {
    let call = console_call(state, request, request_id)?;
    let mut fields: serde_json::Map<String, Value> = parse_body(request.body().as_ref())?;
    let app_key = match fields.remove("appKey") {
        Some(Value::String(app_key)) => app_key,
        Some(_) => return Err(ApiError::invalid("appKey", "must be a string")),
        None => return Err(ApiError::invalid("appKey", "is required")),
    };
    crate::apps::validate_app_key(&app_key)?;
    let operation: O = parse_known(fields.clone())?;
    operation.validate()?;
    let app = crate::apps::fetch(&call.state, &app_key)
        .await?
        .ok_or_else(crate::apps::unknown_app)?;
    tracing::Span::current().record("app", app_key.as_str());
    let run = Call {
        state: call.state.clone(),
        app: Arc::new(app),
        now_ms: call.now_ms,
    };
    let response = operation.run(run).await?;
    if !O::READ_ONLY {
        let path = request.uri().path();
        let action = O::CONSOLE_PATHS
            .iter()
            .find(|console_path| **console_path == path)
            .map_or(O::NAME, |console_path| {
                console_path.trim_start_matches("/console/v1/")
            });
        let mut change = crate::audit::Change::of(action, &app_key).after(&fields);
        change.target = crate::audit::target_of(&fields);
        call.audit(change).await?;
    }
    Reply::of(O::code(&response), &response)
}

/// Serves one console request end to end.
pub async fn serve_console<O: ConsoleOperation>(
    state: Arc<State>,
    request: Request,
) -> Response<Body> {
    let started = Instant::now();
    let request_id = request_id(request.headers());
    let span = tracing::info_span!("request", request_id = %request_id, aws_request_id = %lambda_request_id(&request));
    crate::metrics::invoked(&state.cold_start, O::NAME);
    let call = async {
        let result = console::<O>(state, &request, &request_id).await;
        render_result(result, &request_id, O::NAME, started)
    };
    crate::metrics::within_call(&request_id, call.instrument(span)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Sample {
        user_id: String,
        count: Option<u32>,
    }

    #[test]
    fn parse_errors_name_the_field() {
        let err = parse_body::<Sample>(br#"{"userId": 5}"#).unwrap_err();
        assert_eq!(err.code(), 1002);
        assert!(err.to_string().starts_with("userId:"), "{err}");
        let err = parse_body::<Sample>(br#"{"count": 1}"#).unwrap_err();
        assert!(err.to_string().contains("userId"), "{err}");
        let err = parse_body::<Sample>(br#"{"userId": "a", "count": -1}"#).unwrap_err();
        assert!(err.to_string().starts_with("count:"), "{err}");
    }

    #[test]
    fn bad_json_non_objects_and_huge_bodies_are_refused() {
        assert_eq!(
            parse_body::<Sample>(b"{\"userId\":").unwrap_err().code(),
            1002
        );
        assert_eq!(parse_body::<Sample>(b"[1]").unwrap_err().code(), 1002);
        let huge = format!("{{\"userId\":\"{}\"}}", "a".repeat(MAX_BODY_BYTES));
        assert_eq!(
            parse_body::<Sample>(huge.as_bytes()).unwrap_err().code(),
            1005
        );
    }

    #[test]
    fn unknown_fields_and_nulls_are_accepted() {
        let parsed = parse_body::<Sample>(br#"{"userId":"a","count":null,"extra":[1]}"#).unwrap();
        assert_eq!((parsed.user_id.as_str(), parsed.count), ("a", None));
    }

    #[test]
    fn request_id_is_echoed_or_generated() {
        let mut headers = HeaderMap::new();
        headers.insert("x-request-id", "abc-123".parse().unwrap());
        assert_eq!(request_id(&headers), "abc-123");
        headers.insert("x-request-id", "a".repeat(37).parse().unwrap());
        assert_eq!(request_id(&headers).len(), 36);
        assert_ne!(request_id(&HeaderMap::new()), request_id(&HeaderMap::new()));
    }
}
