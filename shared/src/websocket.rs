//! The WebSocket API's glue, beside the HTTP API's (`http.rs`): reading `$connect`/route events
//! and answering them.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};

use crate::access::Rejection;
use crate::state::State;

pub use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest,
};

/// The connection ID of a WebSocket event.
pub fn connection_id(event: &ApiGatewayWebsocketProxyRequest) -> Option<&str> {
    event.request_context.connection_id.as_deref()
}

/// The client's address as `ip:port`: API Gateway gives the source IP only, so the port is 0
/// unless the event carries one (the local API puts the peer's port in `sourceIp`).
pub fn client_address(event: &ApiGatewayWebsocketProxyRequest) -> Option<String> {
    let ip = event.request_context.identity.source_ip.as_deref()?;
    match ip.parse::<std::net::SocketAddr>() {
        Ok(address) => Some(address.to_string()),
        Err(_) => Some(format!("{ip}:0")),
    }
}

/// The access token of a `$connect` event: query parameter `token`, else
/// `Authorization: Bearer <token>`.
pub fn token_of(event: &ApiGatewayWebsocketProxyRequest) -> Option<String> {
    if let Some(token) = event.query_string_parameters.first("token") {
        return Some(token.to_owned()).filter(|t| !t.is_empty());
    }
    let header = event.headers.get("authorization")?.to_str().ok()?;
    let (scheme, token) = header.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty())
        .then(|| token.trim().to_owned())
}

/// Serves one route event of `operation` as a call, like `http::serve` does an HTTP request:
/// its cold start counted, API Gateway's request id in scope (what the changes it makes carry),
/// its answer, duration and DynamoDB requests measured.
pub async fn measured<F, Fut>(
    operation: &'static str,
    state: Arc<State>,
    event: ApiGatewayWebsocketProxyRequest,
    respond: F,
) -> ApiGatewayProxyResponse
where
    F: FnOnce(Arc<State>, ApiGatewayWebsocketProxyRequest) -> Fut,
    Fut: Future<Output = ApiGatewayProxyResponse>,
{
    crate::metrics::invoked(&state.cold_start, operation);
    let started = Instant::now();
    let request_id = event
        .request_context
        .request_id
        .clone()
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let call = async move {
        let response = respond(state, event).await;
        let code = match &response.body {
            Some(lambda_http::Body::Text(text)) => serde_json::from_str::<Value>(text)
                .ok()
                .and_then(|body| body["code"].as_i64())
                .unwrap_or(0),
            _ => 0,
        };
        let status = u16::try_from(response.status_code).unwrap_or(500);
        let usage = crate::metrics::usage();
        crate::metrics::answered(operation, status, code, started.elapsed(), usage);
        response
    };
    crate::metrics::within_call(&request_id, call).await
}

/// A WebSocket route answer with a JSON body.
pub fn response(status: u16, body: &Value) -> ApiGatewayProxyResponse {
    let mut response = ApiGatewayProxyResponse::default();
    response.status_code = i64::from(status);
    response.headers.insert(
        "content-type",
        lambda_http::http::HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response.body = Some(lambda_http::Body::Text(body.to_string()));
    response
}

/// The refusal of a `$connect`: 401 for a token that is not valid, 403 for a valid token of a
/// user or app that may not connect; body `{"code","reason"}`.
pub fn refusal(rejection: &Rejection) -> ApiGatewayProxyResponse {
    let status = match rejection {
        Rejection::Invalid
        | Rejection::Expired
        | Rejection::UnknownApp
        | Rejection::UnknownUser => 401,
        Rejection::AppOffline | Rejection::SoftDeleted | Rejection::Banned { .. } => 403,
    };
    let mut body = json!({ "code": status, "reason": rejection.reason() });
    if let Rejection::Banned { until_ms } = rejection {
        body["bannedUntil"] = json!(until_ms);
    }
    response(status, &body)
}

/// The answer to a failure (logged by the caller): 504 for a store that is busy or slow, so the
/// client tries again rather than give up; 500 otherwise.
pub fn failure(err: &crate::error::ApiError) -> ApiGatewayProxyResponse {
    match err {
        crate::error::ApiError::Busy => response(504, &json!({ "code": 1050, "reason": "busy" })),
        _ => response(500, &json!({ "code": 500, "reason": "internal" })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn tokens_come_from_the_query_or_the_bearer_header() {
        let mut event = ApiGatewayWebsocketProxyRequest::default();
        assert_eq!(token_of(&event), None);
        event.headers.insert(
            "authorization",
            lambda_http::http::HeaderValue::from_static("Bearer abc"),
        );
        assert_eq!(token_of(&event).as_deref(), Some("abc"));
        event.query_string_parameters =
            HashMap::from([("token".to_owned(), "xyz".to_owned())]).into();
        assert_eq!(token_of(&event).as_deref(), Some("xyz"));
    }

    #[test]
    fn refusals_name_their_reason() {
        let r = refusal(&Rejection::Banned { until_ms: 5 });
        assert_eq!(r.status_code, 403);
        let Some(lambda_http::Body::Text(body)) = r.body else {
            panic!("text body")
        };
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["reason"], "banned");
        assert_eq!(refusal(&Rejection::Expired).status_code, 401);
    }
}
