//! The user lifecycle: soft delete (immediate for the API, data purged asynchronously from the
//! table's stream), restore (after one hour, once purged), the operation records both leave, and
//! the console's removal of a test user.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, DeleteRequest, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
    Update, WriteRequest,
};
use serde::Serialize;

use crate::apps::{App, Environment};
use crate::error::ApiError;
use crate::state::State;
use crate::table;
use crate::users::{self, UserState};

/// A soft-deleted user can be restored this long after the deletion, not before.
pub const RESTORE_AFTER_MS: i64 = 60 * 60 * 1000;
pub const LIST_SOFT_DELETED: &str = "SOFT_DELETED";
pub const CODE_RESTORE_TOO_EARLY: i64 = 20102;
pub const CODE_NOT_SOFT_DELETED: i64 = 20103;

const PURGE_PENDING: &str = "pending";
const PURGE_DONE: &str = "done";
const SK_OPERATION: &str = "OP";

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn internal(err: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(err.to_string())
}

// ---- operation records -------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationType {
    SoftDelete,
    Restore,
}

impl OperationType {
    fn as_str(self) -> &'static str {
        match self {
            Self::SoftDelete => "soft-delete",
            Self::Restore => "restore",
        }
    }
}

/// One user's result in an operation: `pending` (purge running), `done`, or `refused` + code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserResult {
    pub user_id: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
}

impl UserResult {
    fn new(user_id: &str, status: &str, code: Option<i64>) -> Self {
        Self {
            user_id: user_id.to_owned(),
            status: status.to_owned(),
            code,
        }
    }

    fn attribute(&self) -> AttributeValue {
        let mut map = HashMap::from([("status".to_owned(), s(&self.status))]);
        if let Some(code) = self.code {
            map.insert("code".to_owned(), n(code));
        }
        AttributeValue::M(map)
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    pub operation_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub created_at: String,
    pub users: Vec<UserResult>,
}

fn operation_key(app_key: &str, operation_id: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (
            table::PK.to_owned(),
            s(table::operation_pk(app_key, operation_id)),
        ),
        (table::SK.to_owned(), s(SK_OPERATION)),
    ])
}

async fn put_operation(
    state: &State,
    app_key: &str,
    operation_id: &str,
    kind: OperationType,
    results: &[UserResult],
) -> Result<(), ApiError> {
    let mut item = operation_key(app_key, operation_id);
    item.insert("type".into(), s(kind.as_str()));
    item.insert("createdAt".into(), n(state.clock.now_ms()));
    item.insert(
        "order".into(),
        AttributeValue::L(results.iter().map(|r| s(&r.user_id)).collect()),
    );
    let users = results
        .iter()
        .map(|r| (r.user_id.clone(), r.attribute()))
        .collect();
    item.insert("users".into(), AttributeValue::M(users));
    state
        .db
        .put_item()
        .table_name(&state.table)
        .set_item(Some(item))
        .send()
        .await?;
    Ok(())
}

/// Records results of some users of an operation in one `UpdateItem` (a missing record, which
/// only a console removal racing a purge can cause, has nothing to record into).
async fn set_results(
    state: &State,
    app_key: &str,
    operation_id: &str,
    results: &[UserResult],
) -> Result<(), ApiError> {
    if results.is_empty() {
        return Ok(());
    }
    let mut request = state
        .db
        .update_item()
        .table_name(&state.table)
        .set_key(Some(operation_key(app_key, operation_id)))
        .condition_expression("attribute_exists(PK)")
        .expression_attribute_names("#users", "users");
    let mut sets = Vec::new();
    for (i, result) in results.iter().enumerate() {
        sets.push(format!("#users.#u{i} = :r{i}"));
        request = request
            .expression_attribute_names(format!("#u{i}"), &result.user_id)
            .expression_attribute_values(format!(":r{i}"), result.attribute());
    }
    match request
        .update_expression(format!("SET {}", sets.join(", ")))
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
        {
            Ok(())
        }
        Err(err) => Err(err.into()),
    }
}

pub async fn get_operation(
    state: &State,
    app_key: &str,
    operation_id: &str,
) -> Result<Operation, ApiError> {
    let not_found = || ApiError::NotFound(format!("operation {operation_id} does not exist"));
    let out = state
        .db
        .get_item()
        .table_name(&state.table)
        .set_key(Some(operation_key(app_key, operation_id)))
        .consistent_read(true)
        .send()
        .await?;
    let item = out.item.ok_or_else(not_found)?;
    let text = |name: &str| {
        item.get(name)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default()
    };
    let created_at = item
        .get("createdAt")
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let empty = HashMap::new();
    let users_map = item
        .get("users")
        .and_then(|v| v.as_m().ok())
        .unwrap_or(&empty);
    let order = item
        .get("order")
        .and_then(|v| v.as_l().ok())
        .cloned()
        .unwrap_or_default();
    let users = order
        .iter()
        .filter_map(|id| id.as_s().ok())
        .map(|user_id| {
            let result = users_map.get(user_id).and_then(|v| v.as_m().ok());
            let status = result
                .and_then(|m| m.get("status"))
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default();
            let code = result
                .and_then(|m| m.get("code"))
                .and_then(|v| v.as_n().ok())
                .and_then(|c| c.parse().ok());
            UserResult {
                user_id: user_id.clone(),
                status,
                code,
            }
        })
        .collect();
    Ok(Operation {
        operation_id: operation_id.to_owned(),
        kind: text("type"),
        created_at: crate::clock::format_utc(created_at),
        users,
    })
}

// ---- soft delete and restore -------------------------------------------------------------

fn new_operation_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Soft-deletes the users at once (state, soft-deleted list, token cut-off) and leaves the purge
/// of their data to the stream. Unknown users are refused with 400 in the operation record,
/// users already soft-deleted with 20101.
pub async fn soft_delete(
    state: &State,
    app: &App,
    user_ids: &[String],
) -> Result<String, ApiError> {
    let operation_id = new_operation_id();
    let pending: Vec<UserResult> = user_ids
        .iter()
        .map(|id| UserResult::new(id, PURGE_PENDING, None))
        .collect();
    // The record exists before any user changes, so the purge can always report into it.
    put_operation(
        state,
        &app.app_key,
        &operation_id,
        OperationType::SoftDelete,
        &pending,
    )
    .await?;
    let now = state.clock.now_ms();
    let updates = user_ids.iter().map(|user_id| {
        let operation_id = &operation_id;
        async move {
            let result = state
                .db
                .update_item()
                .table_name(&state.table)
                .set_key(Some(users::key(&app.app_key, user_id)))
                .update_expression(
                    "SET #state = :deleted, deletedAt = :now, lastDeletedAt = :now, purgeState = :pending, \
                     purgeOperation = :operation, GSI1PK = :list, GSI1SK = :sort",
                )
                .condition_expression("attribute_exists(PK) AND #state = :active")
                .expression_attribute_names("#state", "state")
                .expression_attribute_values(":deleted", s("soft-deleted"))
                .expression_attribute_values(":active", s("active"))
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":pending", s(PURGE_PENDING))
                .expression_attribute_values(":operation", s(operation_id))
                .expression_attribute_values(":list", s(table::list_pk(&app.app_key, LIST_SOFT_DELETED)))
                .expression_attribute_values(":sort", s(table::time_sort_key(now, user_id)))
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .send()
                .await;
            match result {
                Ok(_) => Ok(None),
                Err(err) => match err.as_service_error() {
                    Some(aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(e)) => {
                        let code = if e.item().is_some() { 20101 } else { 400 };
                        Ok(Some(UserResult::new(user_id, "refused", Some(code))))
                    }
                    _ => Err(ApiError::from(err)),
                },
            }
        }
    });
    let refused: Vec<UserResult> = futures::future::try_join_all(updates)
        .await?
        .into_iter()
        .flatten()
        .collect();
    set_results(state, &app.app_key, &operation_id, &refused).await?;
    Ok(operation_id)
}

/// Restores soft-deleted users whose data is purged and whose deletion is at least an hour old.
/// Their data does not come back; they may be issued tokens again. Results are final at once.
pub async fn restore(state: &State, app: &App, user_ids: &[String]) -> Result<String, ApiError> {
    let now = state.clock.now_ms();
    let updates = user_ids.iter().map(|user_id| async move {
        let result = state
            .db
            .update_item()
            .table_name(&state.table)
            .set_key(Some(users::key(&app.app_key, user_id)))
            .update_expression(
                "SET #state = :active, restoredAt = :now \
                 REMOVE deletedAt, purgeState, purgeOperation, purgedAt, GSI1PK, GSI1SK",
            )
            .condition_expression("#state = :deleted AND purgeState = :done AND deletedAt <= :cutoff")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":active", s("active"))
            .expression_attribute_values(":deleted", s("soft-deleted"))
            .expression_attribute_values(":done", s(PURGE_DONE))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":cutoff", n(now - RESTORE_AFTER_MS))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(UserResult::new(user_id, "done", None)),
            Err(err) => match err.as_service_error() {
                Some(aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(e)) => {
                    let soft_deleted = e
                        .item()
                        .and_then(|item| item.get("state"))
                        .and_then(|v| v.as_s().ok())
                        .is_some_and(|state| state == "soft-deleted");
                    // Soft-deleted but too recent (or its purge still running): 20102.
                    let code = if soft_deleted { CODE_RESTORE_TOO_EARLY } else { CODE_NOT_SOFT_DELETED };
                    Ok(UserResult::new(user_id, "refused", Some(code)))
                }
                _ => Err(ApiError::from(err)),
            },
        }
    });
    let results = futures::future::try_join_all(updates).await?;
    let operation_id = new_operation_id();
    put_operation(
        state,
        &app.app_key,
        &operation_id,
        OperationType::Restore,
        &results,
    )
    .await?;
    Ok(operation_id)
}

/// Soft-deleted users, oldest deletion first, page by page (pages start at 1).
pub async fn list_soft_deleted(
    state: &State,
    app_key: &str,
    page: u32,
    page_size: u32,
) -> Result<Vec<String>, ApiError> {
    let skip = (page.saturating_sub(1) as usize) * page_size as usize;
    let wanted = skip + page_size as usize;
    let mut ids = Vec::new();
    let mut start = None;
    loop {
        let out = state
            .db
            .query()
            .table_name(&state.table)
            .index_name(table::GSI1)
            .key_condition_expression("GSI1PK = :list")
            .expression_attribute_values(":list", s(table::list_pk(app_key, LIST_SOFT_DELETED)))
            .projection_expression("GSI1SK")
            .limit((wanted - ids.len()).clamp(1, 1000) as i32)
            .set_exclusive_start_key(start)
            .send()
            .await?;
        for item in out.items.unwrap_or_default() {
            if let Some(id) = item
                .get(table::GSI1SK)
                .and_then(|v| v.as_s().ok())
                .and_then(|k| table::user_id_suffix(k))
            {
                ids.push(id.to_owned());
            }
        }
        start = out.last_evaluated_key;
        if start.is_none() || ids.len() >= wanted {
            break;
        }
    }
    Ok(ids
        .into_iter()
        .skip(skip)
        .take(page_size as usize)
        .collect())
}

// ---- the purge ---------------------------------------------------------------------------

/// What the purge needs from a changed USER item (a stream record's new image).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserImage {
    pub pk: String,
    pub sk: String,
    pub state: String,
    pub purge_state: String,
    pub purge_operation: String,
}

impl UserImage {
    /// Builds the image from any attribute map, given a way to read a string attribute.
    pub fn from_strings(get: impl Fn(&str) -> Option<String>) -> Self {
        Self {
            pk: get(table::PK).unwrap_or_default(),
            sk: get(table::SK).unwrap_or_default(),
            state: get("state").unwrap_or_default(),
            purge_state: get("purgeState").unwrap_or_default(),
            purge_operation: get("purgeOperation").unwrap_or_default(),
        }
    }

    /// A user just soft-deleted whose data still has to be purged.
    pub fn needs_purge(&self) -> bool {
        self.sk == table::SK_USER
            && self.state == "soft-deleted"
            && self.purge_state == PURGE_PENDING
    }
}

/// Handles one stream change: purges a freshly soft-deleted user, ignores everything else.
/// Idempotent: a record delivered twice purges nothing twice and reports `done` again.
pub async fn on_user_change(state: &State, image: &UserImage) -> Result<(), ApiError> {
    if !image.needs_purge() {
        return Ok(());
    }
    let Some((app_key, user_id)) = table::parse_user_pk(&image.pk) else {
        return Ok(());
    };
    // Records arrive late and more than once: decide from the user as stored now. One restored,
    // or removed and registered again, or soft-deleted again by a later operation, is not this
    // record's to purge.
    if !purge_pending(state, &image.pk, &image.purge_operation).await? {
        tracing::info!(pk = %image.pk, "stale purge record: the user is no longer pending this purge");
        return Ok(());
    }
    purge_user_data(state, app_key, user_id, Others::KeepTheirBlocks).await?;
    let finished = state
        .db
        .update_item()
        .table_name(&state.table)
        .set_key(Some(users::key(app_key, user_id)))
        .update_expression("SET purgeState = :done, purgedAt = :now REMOVE #name, avatarUrl")
        .condition_expression("#state = :deleted AND purgeOperation = :operation")
        .expression_attribute_names("#name", "name")
        .expression_attribute_names("#state", "state")
        .expression_attribute_values(":done", s(PURGE_DONE))
        .expression_attribute_values(":now", n(state.clock.now_ms()))
        .expression_attribute_values(":deleted", s("soft-deleted"))
        .expression_attribute_values(":operation", s(&image.purge_operation))
        .send()
        .await;
    match finished {
        Ok(_) => {}
        // Already finished by an earlier delivery, or removed by the console meanwhile.
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_conditional_check_failed_exception()) => {}
        Err(err) => return Err(err.into()),
    }
    let done = UserResult::new(user_id, PURGE_DONE, None);
    set_results(state, app_key, &image.purge_operation, &[done]).await
}

/// Whether the USER item is, as stored now (strongly consistent), soft-deleted with the purge of
/// `operation` still pending. One `GetItem`.
async fn purge_pending(state: &State, user_pk: &str, operation: &str) -> Result<bool, ApiError> {
    let out = state
        .db
        .get_item()
        .table_name(&state.table)
        .key(table::PK, s(user_pk))
        .key(table::SK, s(table::SK_USER))
        .projection_expression("#state, purgeState, purgeOperation")
        .expression_attribute_names("#state", "state")
        .consistent_read(true)
        .send()
        .await?;
    let current = out
        .item
        .map(|item| UserImage::from_strings(|name| item.get(name)?.as_s().ok().cloned()))
        .unwrap_or_default();
    Ok(current.state == "soft-deleted"
        && current.purge_state == PURGE_PENDING
        && current.purge_operation == operation)
}

type Key = HashMap<String, AttributeValue>;

fn item_key(item: &HashMap<String, AttributeValue>) -> Option<Key> {
    Some(HashMap::from([
        (table::PK.to_owned(), item.get(table::PK)?.clone()),
        (table::SK.to_owned(), item.get(table::SK)?.clone()),
    ]))
}

/// How much of what refers to a user from other partitions a purge removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Others {
    /// A soft delete: other users' blocklist entries naming the user are the blockers' data
    /// and stay (a restored user is still blocked by whoever blocked them).
    KeepTheirBlocks,
    /// A test user removed for good (its ID may be registered again): nothing stays.
    RemoveAll,
}

/// How many items of other partitions a purge deletes at once.
const PURGE_CONCURRENCY: usize = 16;

/// What an item of the user's own partition says lives in another partition.
enum Mirror {
    /// The friend's edge back to the user, counted in the friend's `FRIEND_COUNT`.
    FriendEdge(Key),
    /// A plain item: a request the user sent (in the target's partition), the mirror of a request
    /// the user received (in the requester's), a connection's lookup.
    Plain(Key),
}

/// The item elsewhere that an item of `user_id`'s own partition (by its sort key) mirrors.
fn mirror_of(app_key: &str, user_id: &str, sk: &str) -> Option<Mirror> {
    let key = |pk: String, sk: String| {
        HashMap::from([(table::PK.to_owned(), s(pk)), (table::SK.to_owned(), s(sk))])
    };
    if let Some(friend) = sk.strip_prefix(table::SK_FRIEND_PREFIX) {
        return Some(Mirror::FriendEdge(key(
            table::user_pk(app_key, friend),
            table::friend_sk(user_id),
        )));
    }
    if let Some(target) = sk.strip_prefix(table::SK_REQUEST_SENT_PREFIX) {
        return Some(Mirror::Plain(key(
            table::user_pk(app_key, target),
            table::friend_request_sk(user_id),
        )));
    }
    if let Some(requester) = sk.strip_prefix(table::SK_FRIEND_REQUEST_PREFIX) {
        return Some(Mirror::Plain(key(
            table::user_pk(app_key, requester),
            table::request_sent_sk(user_id),
        )));
    }
    if let Some(connection) = sk.strip_prefix(table::SK_CONN_PREFIX) {
        return Some(Mirror::Plain(key(
            crate::connections::lookup_pk(connection),
            crate::connections::SK_LOOKUP.to_owned(),
        )));
    }
    None
}

/// Deletes everything in the user's partition but the USER item itself, and what other
/// partitions hold about the user: the friends' edges back (decrementing their counters), the
/// requests the user sent and the mirrors of those it received, its connections' lookups. All of
/// it is found from the user's own partition, read strongly consistently (each cross-partition
/// item has its mirror there, written in the same transaction), never from an eventually
/// consistent index. Other users' blocks of the user stay, except with [`Others::RemoveAll`]
/// (test-user removal), which also deletes those, found through the `EDGES` index. The other
/// partitions go first, so a purge cut short finds the rest again when it runs again.
pub async fn purge_user_data(
    state: &State,
    app_key: &str,
    user_id: &str,
    others: Others,
) -> Result<(), ApiError> {
    use futures::{StreamExt, TryStreamExt};
    // The hosted profile leaves the profile list's counts too, not only the table.
    crate::profiles::remove(state, app_key, user_id).await?;
    let pk = table::user_pk(app_key, user_id);
    let mut own = Vec::new();
    let mut mirrors = Vec::new();
    let mut start = None;
    loop {
        let out = state
            .db
            .query()
            .table_name(&state.table)
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(":pk", s(&pk))
            .projection_expression("PK, SK")
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await?;
        for item in out.items.unwrap_or_default() {
            let Some(sk) = item.get(table::SK).and_then(|v| v.as_s().ok()) else {
                continue;
            };
            if sk == table::SK_USER {
                continue;
            }
            mirrors.extend(mirror_of(app_key, user_id, sk));
            own.extend(item_key(&item));
        }
        start = out.last_evaluated_key;
        if start.is_none() {
            break;
        }
    }
    let (edges, plain): (Vec<_>, Vec<_>) = mirrors
        .into_iter()
        .partition(|m| matches!(m, Mirror::FriendEdge(_)));
    let plain: Vec<Key> = plain
        .into_iter()
        .filter_map(|m| match m {
            Mirror::Plain(key) => Some(key),
            Mirror::FriendEdge(_) => None,
        })
        .collect();
    delete_all(state, plain).await?;
    futures::stream::iter(edges.into_iter().filter_map(|m| match m {
        Mirror::FriendEdge(key) => Some(key),
        Mirror::Plain(_) => None,
    }))
    .map(|key| delete_counted_edge(state, key, table::SK_FRIEND_COUNT))
    .buffer_unordered(PURGE_CONCURRENCY)
    .try_collect::<Vec<()>>()
    .await?;
    if others == Others::RemoveAll {
        remove_blocks_of(state, &pk).await?;
    }
    delete_all(state, own).await
}

/// Other users' blocks of `user_pk` (test-user removal only), through the `EDGES` index: a block
/// has no mirror in the blocked user's partition, so this is the one eventually consistent read
/// of a purge; the index is read until it is empty.
async fn remove_blocks_of(state: &State, user_pk: &str) -> Result<(), ApiError> {
    for _ in 0..50 {
        let out = state
            .db
            .query()
            .table_name(&state.table)
            .index_name(table::EDGES)
            .key_condition_expression("#edge = :pk")
            .filter_expression("begins_with(SK, :block)")
            .expression_attribute_names("#edge", table::EDGE_TO)
            .expression_attribute_values(":pk", s(user_pk))
            .expression_attribute_values(":block", s(table::SK_BLOCK_PREFIX))
            .send()
            .await?;
        let blocks = out.items.unwrap_or_default();
        if blocks.is_empty() && out.last_evaluated_key.is_none() {
            return Ok(());
        }
        for block in &blocks {
            if let (Some(key), Some(AttributeValue::S(counter))) =
                (item_key(block), block.get("countedIn"))
            {
                delete_counted_edge(state, key, counter).await?;
            }
        }
    }
    Err(ApiError::Internal(format!(
        "blocks of {user_pk} keep appearing"
    )))
}

/// Deletes an edge and decrements the counter it is counted in, in one transaction. An edge
/// already gone (removed concurrently, which decremented its counter) is skipped.
async fn delete_counted_edge(state: &State, key: Key, counter_sk: &str) -> Result<(), ApiError> {
    let Some(edge_pk) = key.get(table::PK).cloned() else {
        return Ok(());
    };
    let delete = Delete::builder()
        .table_name(&state.table)
        .set_key(Some(key))
        .condition_expression("attribute_exists(PK)")
        .build()
        .map_err(internal)?;
    let decrement = Update::builder()
        .table_name(&state.table)
        .key(table::PK, edge_pk)
        .key(table::SK, s(counter_sk))
        .update_expression("ADD #count :minus")
        .condition_expression("attribute_exists(PK)")
        .expression_attribute_names("#count", "count")
        .expression_attribute_values(":minus", n(-1))
        .build()
        .map_err(internal)?;
    // Cancelled: the edge went meanwhile, and whoever removed it decremented the counter.
    delete_and_update(state, delete, decrement)
        .await
        .map(|_| ())
}

/// Deletes one item and updates another in one transaction; `Ok(false)` when a condition
/// cancelled it (nothing was written).
async fn delete_and_update(
    state: &State,
    delete: Delete,
    update: Update,
) -> Result<bool, ApiError> {
    // Only failed conditions mean "already gone"; a conflict is retried, and a throttled or
    // otherwise cancelled transaction is an error (the stream delivers the record again).
    let items = vec![
        TransactWriteItem::builder().delete(delete).build(),
        TransactWriteItem::builder().update(update).build(),
    ];
    Ok(crate::edges::transact(state, items).await?.is_none())
}

/// `BatchWriteItem` deletes, 25 at a time, unprocessed ones retried.
async fn delete_all(state: &State, keys: Vec<Key>) -> Result<(), ApiError> {
    for chunk in keys.chunks(25) {
        let mut requests: Vec<WriteRequest> = chunk
            .iter()
            .map(|key| {
                let delete = DeleteRequest::builder()
                    .set_key(Some(key.clone()))
                    .build()
                    .map_err(internal)?;
                Ok(WriteRequest::builder().delete_request(delete).build())
            })
            .collect::<Result<_, ApiError>>()?;
        for attempt in 0..8u32 {
            let out = state
                .db
                .batch_write_item()
                .request_items(&state.table, requests)
                .send()
                .await?;
            requests = out
                .unprocessed_items
                .and_then(|mut u| u.remove(&state.table))
                .unwrap_or_default();
            if requests.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20 << attempt.min(5))).await;
        }
        if !requests.is_empty() {
            return Err(ApiError::Busy);
        }
    }
    Ok(())
}

// ---- console: remove a test user ----------------------------------------------------------

/// Removes a user of a development app completely, like a purge, and frees its slot under the
/// cap. The user is first marked soft-deleted so nothing can write for it while its data goes.
pub async fn delete_test_user(state: &State, app: &App, user_id: &str) -> Result<(), ApiError> {
    if app.environment != Environment::Development {
        return Err(ApiError::Forbidden(
            "test users can be deleted in the development environment only".into(),
        ));
    }
    let user = users::get(state, &app.app_key, user_id)
        .await?
        .ok_or_else(|| ApiError::UserNotFound(user_id.to_owned()))?;
    if user.state == UserState::Active {
        let marked = state
            .db
            .update_item()
            .table_name(&state.table)
            .set_key(Some(users::key(&app.app_key, user_id)))
            .update_expression("SET #state = :deleted, lastDeletedAt = :now, purgeState = :console")
            .condition_expression("#state = :active")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":deleted", s("soft-deleted"))
            .expression_attribute_values(":active", s("active"))
            .expression_attribute_values(":now", n(state.clock.now_ms()))
            .expression_attribute_values(":console", s("console"))
            .send()
            .await;
        match marked {
            Ok(_) => {}
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) => {}
            Err(err) => return Err(err.into()),
        }
    }
    purge_user_data(state, &app.app_key, user_id, Others::RemoveAll).await?;
    let delete_user = Delete::builder()
        .table_name(&state.table)
        .set_key(Some(users::key(&app.app_key, user_id)))
        .condition_expression("attribute_exists(PK)")
        .build()
        .map_err(internal)?;
    let free_slot = Update::builder()
        .table_name(&state.table)
        .key(table::PK, s(table::app_pk(&app.app_key)))
        .key(table::SK, s(table::SK_APP))
        .update_expression("SET userCount = userCount - :one")
        .condition_expression("userCount > :zero")
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":zero", n(0))
        .build()
        .map_err(internal)?;
    if delete_and_update(state, delete_user, free_slot).await? {
        Ok(())
    } else {
        // Deleted concurrently by another console call: the slot was freed there.
        Err(ApiError::UserNotFound(user_id.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_pending_soft_deleted_user_item_is_purged() {
        let image = |sk: &str, state: &str, purge: &str| UserImage {
            pk: "APP#k#U#u".into(),
            sk: sk.into(),
            state: state.into(),
            purge_state: purge.into(),
            purge_operation: "op".into(),
        };
        assert!(image("USER", "soft-deleted", "pending").needs_purge());
        assert!(!image("USER", "soft-deleted", "done").needs_purge());
        assert!(!image("USER", "active", "").needs_purge());
        assert!(!image("PROFILE", "soft-deleted", "pending").needs_purge());
        assert!(!image("USER", "soft-deleted", "console").needs_purge());
    }

    #[test]
    fn user_results_render_code_only_when_refused() {
        let done = serde_json::to_value(UserResult::new("a", "done", None)).unwrap();
        assert_eq!(done, serde_json::json!({"userId": "a", "status": "done"}));
        let refused = serde_json::to_value(UserResult::new("b", "refused", Some(20102))).unwrap();
        assert_eq!(refused["code"], 20102);
    }
}
