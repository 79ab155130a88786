//! Client connections (the WebSocket API): `$connect` verifies the access token against the
//! records and records the connection, heartbeats extend its TTL, `$disconnect` removes it, and
//! kicks (ban, soft delete, secret rotation, `expire-access-token` with `disconnect`) close live
//! connections through a [`ConnectionCloser`]: the API Gateway Management API when deployed, the
//! local API's socket registry locally.
//!
//! Items (see docs/DATA-MODEL.md):
//! - in the user's partition, `CONN#<connectionId>`: `connectionId`, `iatMs` (the token's issue
//!   time), `connectedAtMs`, `expiresAtMs`, `ttl`, and the app's `GSI1` `CONNECTIONS` list;
//! - a lookup `PK=CONN#<connectionId>`, `SK=CONN` with `edgeTo` = the user's PK (so
//!   `$disconnect` and heartbeats, which only know the connection ID, find the user, and the
//!   purge of a soft-deleted user removes it through the `EDGES` index), `expiresAtMs`, `ttl`.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, ReturnValue, TransactWriteItem,
};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::State;
use crate::table;
use crate::token::{self, Rejection, VerifiedToken, VerifyError};

/// The `GSI1` list of an app's connections (app-wide kicks on secret rotation).
pub const LIST_CONNECTIONS: &str = "CONNECTIONS";
/// A connection without heartbeats is offline after this long (env `CONNECTION_TTL_SECONDS`).
pub const DEFAULT_TTL_SECONDS: i64 = 120;

type Item = HashMap<String, AttributeValue>;
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

/// The connection settings a [`State`] holds: the closer (replaceable, the local API installs its
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

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn internal(err: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(err.to_string())
}

fn num(item: &Item, name: &str) -> Option<i64> {
    item.get(name)?.as_n().ok()?.parse().ok()
}

fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)?.as_s().ok().map(String::as_str)
}

pub fn lookup_pk(connection_id: &str) -> String {
    format!("{}{connection_id}", table::SK_CONN_PREFIX)
}

pub const SK_LOOKUP: &str = "CONN";

fn lookup_key(connection_id: &str) -> Item {
    HashMap::from([
        (table::PK.to_owned(), s(lookup_pk(connection_id))),
        (table::SK.to_owned(), s(SK_LOOKUP)),
    ])
}

fn user_conn_key(user_pk: &str, connection_id: &str) -> Item {
    HashMap::from([
        (table::PK.to_owned(), s(user_pk)),
        (
            table::SK.to_owned(),
            s(format!("{}{connection_id}", table::SK_CONN_PREFIX)),
        ),
    ])
}

/// TTL seconds for an expiry in ms, rounded up (DynamoDB never deletes a live connection).
fn ttl_seconds(expires_at_ms: i64) -> i64 {
    (expires_at_ms + 999).div_euclid(1000)
}

/// Connection IDs are opaque (API Gateway's are base64-like); keep them key-safe.
pub fn valid_connection_id(connection_id: &str) -> bool {
    !connection_id.is_empty()
        && connection_id.len() <= 128
        && connection_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'=' | b'-' | b'_' | b'+' | b'/'))
}

/// `$connect`: verifies the token and records the connection. The write re-checks, in the same
/// transaction, that the user is still active, unbanned and the token not expired, so a kick
/// racing the connect can never leave a live connection behind. One `BatchGetItem` (verify) +
/// one `TransactWriteItems`.
pub async fn connect(
    state: &State,
    token: &str,
    connection_id: &str,
) -> Result<VerifiedToken, VerifyError> {
    if !valid_connection_id(connection_id) {
        return Err(VerifyError::Store(ApiError::Internal(
            "malformed connection ID".into(),
        )));
    }
    let verified = token::verify(state, token).await?;
    let now = state.clock.now_ms();
    let expires = now + state.connections.ttl_ms;
    let user_pk = table::user_pk(&verified.app_key, &verified.user_id);
    let mut conn = user_conn_key(&user_pk, connection_id);
    conn.extend([
        ("connectionId".to_owned(), s(connection_id)),
        ("userId".to_owned(), s(&verified.user_id)),
        ("iatMs".to_owned(), n(verified.issued_at_ms)),
        ("connectedAtMs".to_owned(), n(now)),
        ("expiresAtMs".to_owned(), n(expires)),
        (table::TTL.to_owned(), n(ttl_seconds(expires))),
        (
            table::GSI1PK.to_owned(),
            s(table::list_pk(&verified.app_key, LIST_CONNECTIONS)),
        ),
        (
            table::GSI1SK.to_owned(),
            s(table::time_sort_key(now, &verified.user_id)),
        ),
    ]);
    let mut lookup = lookup_key(connection_id);
    lookup.extend([
        (table::EDGE_TO.to_owned(), s(&user_pk)),
        ("expiresAtMs".to_owned(), n(expires)),
        (table::TTL.to_owned(), n(ttl_seconds(expires))),
    ]);
    let put = |item: Item| {
        Put::builder()
            .table_name(&state.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map(|p| TransactWriteItem::builder().put(p).build())
            .map_err(internal)
    };
    let user_check = ConditionCheck::builder()
        .table_name(&state.table)
        .set_key(Some(crate::users::key(
            &verified.app_key,
            &verified.user_id,
        )))
        .condition_expression(
            "attribute_exists(PK) AND #state = :active AND \
             (attribute_not_exists(tokensValidAfter) OR tokensValidAfter <= :iat) AND \
             (attribute_not_exists(lastDeletedAt) OR lastDeletedAt <= :iat)",
        )
        .expression_attribute_names("#state", "state")
        .expression_attribute_values(":active", s("active"))
        .expression_attribute_values(":iat", n(verified.issued_at_ms))
        .build()
        .map_err(internal)?;
    let ban_check = ConditionCheck::builder()
        .table_name(&state.table)
        .key(table::PK, s(&user_pk))
        .key(table::SK, s(table::SK_BAN))
        .condition_expression("attribute_not_exists(PK) OR banExpiresAt <= :now")
        .expression_attribute_values(":now", n(now))
        .build()
        .map_err(internal)?;
    let result = state
        .db
        .transact_write_items()
        .transact_items(put(conn)?)
        .transact_items(put(lookup)?)
        .transact_items(
            TransactWriteItem::builder()
                .condition_check(user_check)
                .build(),
        )
        .transact_items(
            TransactWriteItem::builder()
                .condition_check(ban_check)
                .build(),
        )
        .send()
        .await;
    match result {
        Ok(_) => Ok(verified),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_transaction_canceled_exception()) =>
        {
            // The records changed since the verification: verify again for the reason.
            match token::verify(state, token).await {
                Err(refused) => Err(refused),
                Ok(_) => Err(VerifyError::Rejected(Rejection::Invalid)),
            }
        }
        Err(err) => Err(VerifyError::Store(err.into())),
    }
}

/// `$disconnect`: deletes the connection's items. A connection already gone is a no-op.
/// One `DeleteItem` (the lookup, returning the user) + one `DeleteItem`.
pub async fn disconnect(state: &State, connection_id: &str) -> Result<(), ApiError> {
    if !valid_connection_id(connection_id) {
        return Ok(());
    }
    let out = state
        .db
        .delete_item()
        .table_name(&state.table)
        .set_key(Some(lookup_key(connection_id)))
        .return_values(ReturnValue::AllOld)
        .send()
        .await?;
    if let Some(user_pk) = out
        .attributes
        .as_ref()
        .and_then(|a| text(a, table::EDGE_TO))
    {
        state
            .db
            .delete_item()
            .table_name(&state.table)
            .set_key(Some(user_conn_key(user_pk, connection_id)))
            .send()
            .await?;
    }
    Ok(())
}

/// A heartbeat: extends a live connection's TTL. `false` when the connection is unknown or its
/// TTL has passed (it is offline; the caller closes it). Two `UpdateItem`s.
pub async fn heartbeat(state: &State, connection_id: &str) -> Result<bool, ApiError> {
    if !valid_connection_id(connection_id) {
        return Ok(false);
    }
    let now = state.clock.now_ms();
    let expires = now + state.connections.ttl_ms;
    let extend = |key: Item| {
        state
            .db
            .update_item()
            .table_name(&state.table)
            .set_key(Some(key))
            .update_expression("SET expiresAtMs = :expires, #ttl = :ttl")
            .condition_expression("attribute_exists(PK) AND expiresAtMs > :now")
            .expression_attribute_names("#ttl", table::TTL)
            .expression_attribute_values(":expires", n(expires))
            .expression_attribute_values(":ttl", n(ttl_seconds(expires)))
            .expression_attribute_values(":now", n(now))
    };
    let out = match extend(lookup_key(connection_id))
        .return_values(ReturnValue::AllNew)
        .send()
        .await
    {
        Ok(out) => out,
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
        {
            return Ok(false);
        }
        Err(err) => return Err(err.into()),
    };
    let Some(user_pk) = out
        .attributes
        .as_ref()
        .and_then(|a| text(a, table::EDGE_TO))
    else {
        return Ok(false);
    };
    match extend(user_conn_key(user_pk, connection_id)).send().await {
        Ok(_) => Ok(true),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
        {
            Ok(false)
        }
        Err(err) => Err(err.into()),
    }
}

/// Whether the user has at least one connection whose TTL has not passed (checked here: DynamoDB
/// deletes expired items late). One strongly consistent `Query` of the user's partition.
pub async fn is_online(state: &State, app_key: &str, user_id: &str) -> Result<bool, ApiError> {
    let now = state.clock.now_ms();
    let mut start = None;
    loop {
        let out = state
            .db
            .query()
            .table_name(&state.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :conn)")
            .filter_expression("expiresAtMs > :now")
            .expression_attribute_values(":pk", s(table::user_pk(app_key, user_id)))
            .expression_attribute_values(":conn", s(table::SK_CONN_PREFIX))
            .expression_attribute_values(":now", n(now))
            .select(aws_sdk_dynamodb::types::Select::Count)
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await?;
        if out.count > 0 {
            return Ok(true);
        }
        start = out.last_evaluated_key;
        if start.is_none() {
            return Ok(false);
        }
    }
}

/// Closes a connection and deletes its items (both, in one transaction of deletes).
async fn close_one(state: &State, user_pk: &str, connection_id: &str) -> Result<(), ApiError> {
    // A close that fails (e.g. a connection still being set up) must not fail the kick: the
    // items go regardless, so the user is offline, and the connection's next heartbeat finds
    // nothing, answers "gone" and closes it.
    if let Err(err) = state.connections.closer().close(connection_id).await {
        tracing::warn!(connection = connection_id, error = %err, "closing a connection failed");
    }
    let delete = |key: Item| {
        Delete::builder()
            .table_name(&state.table)
            .set_key(Some(key))
            .build()
            .map(|d| TransactWriteItem::builder().delete(d).build())
            .map_err(internal)
    };
    state
        .db
        .transact_write_items()
        .transact_items(delete(user_conn_key(user_pk, connection_id))?)
        .transact_items(delete(lookup_key(connection_id))?)
        .send()
        .await?;
    Ok(())
}

/// Closes every connection of the user (with `issued_before`, only those whose token was issued
/// before that instant). Returns how many. One strongly consistent `Query`, then per connection
/// a close and one `TransactWriteItems`.
pub async fn close_user(
    state: &State,
    app_key: &str,
    user_id: &str,
    issued_before: Option<i64>,
) -> Result<usize, ApiError> {
    let user_pk = table::user_pk(app_key, user_id);
    let mut ids = Vec::new();
    let mut start = None;
    loop {
        let mut query = state
            .db
            .query()
            .table_name(&state.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :conn)")
            .expression_attribute_values(":pk", s(&user_pk))
            .expression_attribute_values(":conn", s(table::SK_CONN_PREFIX))
            .projection_expression("connectionId")
            .consistent_read(true)
            .set_exclusive_start_key(start);
        if let Some(before) = issued_before {
            query = query
                .filter_expression("iatMs < :before")
                .expression_attribute_values(":before", n(before));
        }
        let out = query.send().await?;
        ids.extend(
            out.items
                .unwrap_or_default()
                .iter()
                .filter_map(|item| text(item, "connectionId").map(str::to_owned)),
        );
        start = out.last_evaluated_key;
        if start.is_none() {
            break;
        }
    }
    let closes = ids.iter().map(|id| close_one(state, &user_pk, id));
    futures::future::try_join_all(closes).await?;
    Ok(ids.len())
}

/// Closes every connection of these users (concurrently). Returns how many.
pub async fn close_users(
    state: &State,
    app_key: &str,
    user_ids: &[String],
    issued_before: Option<i64>,
) -> Result<usize, ApiError> {
    let closes = user_ids
        .iter()
        .map(|user_id| close_user(state, app_key, user_id, issued_before));
    Ok(futures::future::try_join_all(closes)
        .await?
        .into_iter()
        .sum())
}

/// Closes every connection of the app (secret rotation), from its `GSI1` `CONNECTIONS` list.
pub async fn close_app(state: &State, app_key: &str) -> Result<usize, ApiError> {
    let mut closed = 0;
    let mut start = None;
    loop {
        let out = state
            .db
            .query()
            .table_name(&state.table)
            .index_name(table::GSI1)
            .key_condition_expression("GSI1PK = :list")
            .expression_attribute_values(":list", s(table::list_pk(app_key, LIST_CONNECTIONS)))
            .set_exclusive_start_key(start)
            .send()
            .await?;
        let items = out.items.unwrap_or_default();
        let closes = items.iter().filter_map(|item| {
            let user_pk = text(item, table::PK)?;
            let id = text(item, "connectionId")?;
            Some(close_one(state, user_pk, id))
        });
        closed += futures::future::try_join_all(closes).await?.len();
        start = out.last_evaluated_key;
        if start.is_none() {
            return Ok(closed);
        }
    }
}

/// Whether an item is a connection whose TTL has passed (for readers of the user partition).
pub fn expired(item: &Item, now_ms: i64) -> bool {
    num(item, "expiresAtMs").is_some_and(|e| e <= now_ms)
}

// --- WebSocket events ----------------------------------------------------------------------

pub use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest,
};

/// The connection ID of a WebSocket event.
pub fn connection_id(event: &ApiGatewayWebsocketProxyRequest) -> Option<&str> {
    event.request_context.connection_id.as_deref()
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

/// A 500 answer (logged by the caller).
pub fn failure() -> ApiGatewayProxyResponse {
    response(500, &json!({ "code": 500, "reason": "internal" }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_ids_are_key_safe() {
        assert!(valid_connection_id("L0SM9cOFvHcCIhw="));
        assert!(!valid_connection_id(""));
        assert!(!valid_connection_id("a#b"));
        assert!(!valid_connection_id(&"a".repeat(129)));
    }

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
