//! Client connections (the WebSocket API): `$connect` verifies the access token against the
//! records and records the connection, heartbeats extend its TTL, `$disconnect` removes it, and
//! kicks (ban, soft delete, secret rotation, `expire-access-token` with `disconnect`) close live
//! connections through a [`ConnectionCloser`]: the API Gateway Management API when deployed, the
//! local API's socket registry locally (`closer.rs`).
//!
//! Items (see docs/DATA-MODEL.md):
//! - in the user's partition, `CONN#<connectionId>`: `connectionId`, `iatMs` (the token's issue
//!   time), `connectedAtMs`, `expiresAtMs`, `ttl`, and the app's `GSI1` `CONNECTIONS` list;
//! - a lookup `PK=CONN#<connectionId>`, `SK=CONN` with `edgeTo` = the user's PK (so
//!   `$disconnect` and heartbeats, which only know the connection ID, find the user, and the
//!   purge of a soft-deleted user removes it through the `EDGES` index), `expiresAtMs`, `ttl`.

use aws_sdk_dynamodb::types::{ConditionCheck, Delete, ReturnValue, TransactWriteItem};

use crate::access::{self, VerifiedToken, VerifyError};
use crate::db::{self, Item, n, s, text};
use crate::error::ApiError;
use crate::state::State;
use crate::table;

use crate::items::{self, Kind as _, ttl_seconds};
pub use crate::items::{LIST_CONNECTIONS, SK_LOOKUP};

/// The partition of a connection's lookup item.
pub fn lookup_pk(connection_id: &str) -> String {
    format!("{}{connection_id}", table::SK_CONN_PREFIX)
}

fn lookup_key(connection_id: &str) -> Item {
    db::key(lookup_pk(connection_id), SK_LOOKUP)
}

fn user_conn_key(user_pk: &str, connection_id: &str) -> Item {
    db::key(user_pk, format!("{}{connection_id}", table::SK_CONN_PREFIX))
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
    client_ip: Option<&str>,
) -> Result<VerifiedToken, VerifyError> {
    if !valid_connection_id(connection_id) {
        return Err(VerifyError::Store(ApiError::Internal(
            "malformed connection ID".into(),
        )));
    }
    let verified = access::verify(state, token).await?;
    let now = state.clock.now_ms();
    let expires = now + state.connections.ttl_ms;
    let user_pk = table::user_pk(&verified.app_key, &verified.user_id);
    let connection = items::Connection {
        client_ip: client_ip.map(str::to_owned),
        request_id: crate::metrics::request_id(),
        ..items::Connection::new(
            &verified.app_key,
            &verified.user_id,
            connection_id,
            verified.issued_at_ms,
            now,
            expires,
        )
    };
    let conn = connection.item().map_err(VerifyError::Store)?;
    let lookup = connection.lookup().item().map_err(VerifyError::Store)?;
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
        .map_err(ApiError::from)?;
    let ban_check = ConditionCheck::builder()
        .table_name(&state.table)
        .key(table::PK, s(&user_pk))
        .key(table::SK, s(table::SK_BAN))
        .condition_expression("attribute_not_exists(PK) OR #expires <= :now")
        .expression_attribute_names("#expires", table::BAN_EXPIRES_AT)
        .expression_attribute_values(":now", n(now))
        .build()
        .map_err(ApiError::from)?;
    let items = vec![
        crate::edges::put_new(state, conn)?,
        crate::edges::put_new(state, lookup)?,
        TransactWriteItem::builder()
            .condition_check(user_check)
            .build(),
        TransactWriteItem::builder()
            .condition_check(ban_check)
            .build(),
    ];
    // Conflicts and throttling are retried inside and end as 504/1050, never as a refused token.
    let Some(cancelled) = crate::db::transact(state, items).await? else {
        return Ok(verified);
    };
    if !cancelled.failed(2) && !cancelled.failed(3) {
        // Only the connection's own items existed: this `$connect` was registered already (a
        // repeated delivery). The token was good then and is now.
        return Ok(verified);
    }
    // The records changed since the verification: verify again for the reason. If they changed
    // back meanwhile, the client should simply try again.
    match access::verify(state, token).await {
        Err(refused) => Err(refused),
        Ok(_) => Err(VerifyError::Store(ApiError::Busy)),
    }
}

/// `$disconnect`: deletes the connection's items. A connection already gone is a no-op.
/// One `DeleteItem` (the lookup, returning the user) + one `DeleteItem`.
pub async fn disconnect(state: &State, connection_id: &str) -> Result<(), ApiError> {
    if !valid_connection_id(connection_id) {
        return Ok(());
    }
    let out = crate::db::delete_item(state)
        .set_key(Some(lookup_key(connection_id)))
        .return_values(ReturnValue::AllOld)
        .send()
        .await?;
    if let Some(user_pk) = out
        .attributes
        .as_ref()
        .and_then(|a| text(a, table::EDGE_TO))
    {
        crate::db::delete_item(state)
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
        crate::db::update_item(state)
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
        Err(err) if crate::db::condition_failed(&err) => {
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
        Err(err) if crate::db::condition_failed(&err) => Ok(false),
        Err(err) => Err(err.into()),
    }
}

/// Whether the user has at least one connection whose TTL has not passed (checked here: DynamoDB
/// deletes expired items late). One strongly consistent `Query` of the user's partition.
pub async fn is_online(state: &State, app_key: &str, user_id: &str) -> Result<bool, ApiError> {
    let now = state.clock.now_ms();
    let mut start = None;
    loop {
        let out = crate::db::query(state)
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

/// Why live connections are closed: the webhook's `user:connection_status` says `"1"` for a
/// kick, `"2"` for a soft delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closing {
    Kick,
    SoftDelete,
}

/// Closes a connection and deletes its items (both, in one transaction). A soft delete keeps the
/// user's item instead, marked closed (offline, out of the app's list, deleted by its TTL or the
/// purge), so its stream record says why it closed.
async fn close_one(
    state: &State,
    user_pk: &str,
    connection_id: &str,
    closing: Closing,
) -> Result<(), ApiError> {
    let delete = |key: Item| {
        Delete::builder()
            .table_name(&state.table)
            .set_key(Some(key))
            .build()
            .map(|d| TransactWriteItem::builder().delete(d).build())
            .map_err(ApiError::from)
    };
    let user_item = match closing {
        Closing::Kick => delete(user_conn_key(user_pk, connection_id))?,
        Closing::SoftDelete => {
            let now = state.clock.now_ms();
            let mut sets = vec![
                "closedBy = :by",
                "closedAtMs = :now",
                "expiresAtMs = :now",
                "#ttl = :ttl",
            ];
            let mut removes = vec!["GSI1PK", "GSI1SK"];
            let mark = items::stamp_request_id(
                aws_sdk_dynamodb::types::Update::builder(),
                &mut sets,
                &mut removes,
            );
            let mark = mark
                .table_name(&state.table)
                .set_key(Some(user_conn_key(user_pk, connection_id)))
                .update_expression(crate::users::update_expression(&sets, &removes))
                .condition_expression("attribute_exists(PK) AND attribute_not_exists(closedBy)")
                .expression_attribute_names("#ttl", table::TTL)
                .expression_attribute_values(":by", s(items::CLOSED_BY_SOFT_DELETE))
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":ttl", n(ttl_seconds(now)))
                .build()?;
            TransactWriteItem::builder().update(mark).build()
        }
    };
    let write = async {
        let written = state
            .db
            .transact_write_items()
            .transact_items(user_item)
            .transact_items(delete(lookup_key(connection_id))?)
            .send()
            .await;
        match written {
            Ok(_) => Ok(()),
            // Gone (a `$disconnect` got there first) or closed already: nothing to mark.
            Err(err) if closing == Closing::SoftDelete && conditions_failed(&err) => Ok(()),
            Err(err) => Err(ApiError::from(err)),
        }
    };
    // A close that fails (e.g. a connection still being set up) must not fail the kick: the
    // items go regardless, so the user is offline, and the connection's next heartbeat finds
    // nothing, answers "gone" and closes it.
    let close = async {
        if let Err(err) = state.connections.closer().close(connection_id).await {
            tracing::warn!(connection = connection_id, error = %err, "closing a connection failed");
        }
    };
    match closing {
        Closing::Kick => {
            close.await;
            write.await
        }
        // Marked before the socket closes: the `$disconnect` that follows finds no lookup and
        // leaves the marked item alone (its removal would say "1", not "2").
        Closing::SoftDelete => {
            write.await?;
            close.await;
            Ok(())
        }
    }
}

fn conditions_failed<R>(
    err: &aws_sdk_dynamodb::error::SdkError<
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError,
        R,
    >,
) -> bool {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
    match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(e)) => matches!(
            db::cancellation(e.cancellation_reasons()),
            db::Cancellation::Failed(_)
        ),
        _ => false,
    }
}

/// Closes every connection of the user (with `issued_before`, only those whose token was issued
/// before that instant). Returns how many. One strongly consistent `Query`, then per connection
/// a close and one `TransactWriteItems`.
pub async fn close_user(
    state: &State,
    app_key: &str,
    user_id: &str,
    issued_before: Option<i64>,
    closing: Closing,
) -> Result<usize, ApiError> {
    let user_pk = table::user_pk(app_key, user_id);
    let mut ids = Vec::new();
    let mut start = None;
    loop {
        let mut query = crate::db::query(state)
            .key_condition_expression("PK = :pk AND begins_with(SK, :conn)")
            .expression_attribute_values(":pk", s(&user_pk))
            .expression_attribute_values(":conn", s(table::SK_CONN_PREFIX))
            .projection_expression("connectionId")
            .filter_expression("attribute_not_exists(closedBy)")
            .consistent_read(true)
            .set_exclusive_start_key(start);
        if let Some(before) = issued_before {
            query = query
                .filter_expression("attribute_not_exists(closedBy) AND iatMs < :before")
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
    let closes = ids.iter().map(|id| close_one(state, &user_pk, id, closing));
    futures::future::try_join_all(closes).await?;
    Ok(ids.len())
}

/// Closes every connection of these users (concurrently). Returns how many.
pub async fn close_users(
    state: &State,
    app_key: &str,
    user_ids: &[String],
    issued_before: Option<i64>,
    closing: Closing,
) -> Result<usize, ApiError> {
    let closes = user_ids
        .iter()
        .map(|user_id| close_user(state, app_key, user_id, issued_before, closing));
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
        let out = crate::db::query(state)
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
            Some(close_one(state, user_pk, id, Closing::Kick))
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
    db::number(item, "expiresAtMs").is_some_and(|e| e <= now_ms)
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
}
