//! What friendships and the blocklist share: counted edge items (`edgeTo`, `countedIn`, `LSI1SK`),
//! their counters, transactions whose cancellation reasons are read item by item, and listings
//! of a user's edges by time through `LSI1`.
//!
//! A counter item (`FRIEND_COUNT`, `BLOCK_COUNT`) holds the number of the user's edges of its kind
//! in `count`; every write that adds or removes an edge changes the counter in the same
//! transaction, and an increment carries the limit as its condition, so the limit holds under any
//! concurrency. The purge of a soft-deleted user decrements the counters of the edges it deletes
//! (`countedIn`), so counters stay exact.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{ConditionCheck, Delete, Put, TransactWriteItem, Update};

use crate::db::{self, Cancelled, n, s};
use crate::error::ApiError;
use crate::items::Kind as _;
use crate::state::State;
use crate::table;
use crate::users::{self, UserState};

pub use crate::db::Item;

/// The edge attribute naming the SK of the counter item the edge is counted in.
pub const COUNTED_IN: &str = "countedIn";
/// The counter item's attribute.
pub const COUNT: &str = "count";
/// The edge attribute holding the other user's ID.
pub const TARGET_ID: &str = "targetId";
/// When the edge was made (ms).
pub const ADDED_AT: &str = "addedAt";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Friend,
    Block,
}

impl Kind {
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Friend => table::SK_FRIEND_PREFIX,
            Self::Block => table::SK_BLOCK_PREFIX,
        }
    }

    pub fn sk(self, target_id: &str) -> String {
        match self {
            Self::Friend => table::friend_sk(target_id),
            Self::Block => table::block_sk(target_id),
        }
    }

    pub fn counter_sk(self) -> &'static str {
        match self {
            Self::Friend => table::SK_FRIEND_COUNT,
            Self::Block => table::SK_BLOCK_COUNT,
        }
    }
}

/// The key of an item in a user's partition.
pub fn key(app_key: &str, user_id: &str, sk: &str) -> Item {
    users::item_key(app_key, user_id, sk)
}

/// The edge `owner` → `target` of `kind`, made at `added_at` (ms).
pub fn edge_item(
    app_key: &str,
    kind: Kind,
    owner: &str,
    target: &str,
    added_at: i64,
) -> Result<Item, ApiError> {
    edge(app_key, kind, owner, target, added_at).item()
}

/// The edge `owner → target` (see [`edge_item`]).
pub fn edge(
    app_key: &str,
    kind: Kind,
    owner: &str,
    target: &str,
    added_at: i64,
) -> crate::items::Edge {
    crate::items::Edge {
        owner_pk: table::user_pk(app_key, owner),
        sk: kind.sk(target),
        lsi1_sk: table::lsi1_sort_key(kind.prefix(), added_at, target),
        edge_to: table::user_pk(app_key, target),
        counted_in: kind.counter_sk().to_owned(),
        target_id: target.to_owned(),
        added_at,
        added_by: None,
        added_how: None,
        request_id: None,
    }
}

// ---- transaction items ------------------------------------------------------------------------

/// The user exists and is active (the old item comes back on failure, to tell which).
pub fn user_check(
    state: &State,
    app_key: &str,
    user_id: &str,
) -> Result<TransactWriteItem, ApiError> {
    users::active_check(state, app_key, user_id, users::Inactive::Refuse)
}

/// The item does not exist.
pub fn absent_check(state: &State, key: Item) -> Result<TransactWriteItem, ApiError> {
    let check = ConditionCheck::builder()
        .table_name(&state.table)
        .set_key(Some(key))
        .condition_expression("attribute_not_exists(PK)")
        .build()?;
    Ok(TransactWriteItem::builder().condition_check(check).build())
}

/// Puts an item that must not exist yet.
pub fn put_new(state: &State, item: Item) -> Result<TransactWriteItem, ApiError> {
    let put = Put::builder()
        .table_name(&state.table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(PK)")
        .build()?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// Puts an item, replacing whatever is there.
pub fn put(state: &State, item: Item) -> Result<TransactWriteItem, ApiError> {
    let put = Put::builder()
        .table_name(&state.table)
        .set_item(Some(item))
        .build()?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// Deletes an item; with `must_exist`, the transaction fails if it is not there.
pub fn delete(state: &State, key: Item, must_exist: bool) -> Result<TransactWriteItem, ApiError> {
    let mut delete = Delete::builder()
        .table_name(&state.table)
        .set_key(Some(key));
    if must_exist {
        delete = delete.condition_expression("attribute_exists(PK)");
    }
    Ok(TransactWriteItem::builder().delete(delete.build()?).build())
}

/// Adds `by` to the user's counter of `kind`, on condition that it stays within `limit`.
pub fn count_up(
    state: &State,
    app_key: &str,
    kind: Kind,
    user_id: &str,
    by: u32,
    limit: u32,
) -> Result<TransactWriteItem, ApiError> {
    let room = limit.saturating_sub(by);
    let update = Update::builder()
        .table_name(&state.table)
        .set_key(Some(key(app_key, user_id, kind.counter_sk())))
        .update_expression("SET #count = if_not_exists(#count, :zero) + :by")
        .condition_expression("attribute_not_exists(#count) OR #count <= :room")
        .expression_attribute_names("#count", COUNT)
        .expression_attribute_values(":zero", n(0))
        .expression_attribute_values(":by", n(by))
        .expression_attribute_values(":room", n(room))
        .build()?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// Subtracts `by` from the user's counter of `kind`, on condition that it holds at least `by`.
pub fn count_down(
    state: &State,
    app_key: &str,
    kind: Kind,
    user_id: &str,
    by: u32,
) -> Result<TransactWriteItem, ApiError> {
    let update = Update::builder()
        .table_name(&state.table)
        .set_key(Some(key(app_key, user_id, kind.counter_sk())))
        .update_expression("SET #count = #count - :by")
        .condition_expression("#count >= :by")
        .expression_attribute_names("#count", COUNT)
        .expression_attribute_values(":by", n(by))
        .build()?;
    Ok(TransactWriteItem::builder().update(update).build())
}

// ---- transactions -----------------------------------------------------------------------------

impl Cancelled {
    /// The error for a failed user check at `index`: 403/20101 if the user is soft-deleted,
    /// else 404/400.
    pub fn inactive_user(&self, index: usize, user_id: &str) -> ApiError {
        inactive_error(user_id, users::old_state(self.old_item(index)))
    }
}

pub fn inactive_error(user_id: &str, state: Option<UserState>) -> ApiError {
    match state {
        Some(UserState::SoftDeleted) => ApiError::UserSoftDeleted(user_id.to_owned()),
        _ => ApiError::UserNotFound(user_id.to_owned()),
    }
}

// ---- reads ------------------------------------------------------------------------------------

/// Items read by key (strongly consistent), indexed by `(PK, SK)`.
pub struct Fetched(HashMap<(String, String), Item>);

impl Fetched {
    pub fn empty() -> Self {
        Self(HashMap::new())
    }

    pub async fn read(state: &State, keys: Vec<Item>) -> Result<Self, ApiError> {
        let items = db::get_all(state, keys).await?;
        Ok(Self(
            items
                .into_iter()
                .filter_map(|item| {
                    let pk = db::text(&item, table::PK)?.to_owned();
                    let sk = db::text(&item, table::SK)?.to_owned();
                    Some(((pk, sk), item))
                })
                .collect(),
        ))
    }

    pub fn get(&self, app_key: &str, user_id: &str, sk: &str) -> Option<&Item> {
        self.0
            .get(&(table::user_pk(app_key, user_id), sk.to_owned()))
    }

    /// The user's state: `None` if unknown.
    pub fn user_state(&self, app_key: &str, user_id: &str) -> Option<UserState> {
        users::old_state(self.get(app_key, user_id, table::SK_USER))
    }

    /// 404/400 unless the user exists and is active, 403/20101 if soft-deleted (for writes).
    pub fn require_active(&self, app_key: &str, user_id: &str) -> Result<(), ApiError> {
        match self.user_state(app_key, user_id) {
            Some(UserState::Active) => Ok(()),
            other => Err(inactive_error(user_id, other)),
        }
    }

    /// 404/400 unless the user exists and is active (for reads: a soft-deleted user no longer
    /// exists for the API).
    pub fn require_readable(&self, app_key: &str, user_id: &str) -> Result<(), ApiError> {
        match self.user_state(app_key, user_id) {
            Some(UserState::Active) => Ok(()),
            _ => Err(ApiError::UserNotFound(user_id.to_owned())),
        }
    }
}

/// One page of an active user's items whose `LSI1SK` starts with `prefix`, newest first, read
/// beside the user record (`UserNotFound` if the user is unknown or inactive).
pub async fn page_of_active_user(
    state: &State,
    app_key: &str,
    user_id: &str,
    prefix: &str,
    page_size: usize,
    start: Option<Item>,
) -> Result<(Vec<Item>, Option<Item>), ApiError> {
    let (user, page) = tokio::try_join!(
        users::get(state, app_key, user_id),
        page(state, app_key, user_id, prefix, false, page_size, start)
    )?;
    if user.is_none_or(|u| u.state != users::UserState::Active) {
        return Err(ApiError::UserNotFound(user_id.to_owned()));
    }
    Ok(page)
}

/// One page of a user's items whose `LSI1SK` starts with `prefix`, by time (`forward`: oldest
/// first). Reads `page_size + 1` items to know whether another page follows; the returned key is
/// where the next page starts (`None` on the last page).
pub async fn page(
    state: &State,
    app_key: &str,
    user_id: &str,
    prefix: &str,
    forward: bool,
    page_size: usize,
    start: Option<Item>,
) -> Result<(Vec<Item>, Option<Item>), ApiError> {
    let out = crate::db::query(state)
        .index_name(table::LSI1)
        .key_condition_expression("PK = :pk AND begins_with(#sort, :prefix)")
        .expression_attribute_names("#sort", table::LSI1SK)
        .expression_attribute_values(":pk", s(table::user_pk(app_key, user_id)))
        .expression_attribute_values(":prefix", s(prefix))
        .scan_index_forward(forward)
        .consistent_read(true)
        .limit(i32::try_from(page_size + 1).unwrap_or(i32::MAX))
        .set_exclusive_start_key(start)
        .send()
        .await?;
    let mut items = out.items.unwrap_or_default();
    if items.len() <= page_size && out.last_evaluated_key.is_none() {
        return Ok((items, None));
    }
    if items.len() <= page_size {
        // Fewer items than asked but DynamoDB stopped early (1 MB): continue from where it did.
        return Ok((items, out.last_evaluated_key));
    }
    items.truncate(page_size);
    let next = items.last().map(|last| {
        [table::PK, table::SK, table::LSI1SK]
            .into_iter()
            .filter_map(|name| Some((name.to_owned(), last.get(name)?.clone())))
            .collect()
    });
    Ok((items, next))
}

/// The SKs of every item in the user's partition starting with `prefix` (all pages).
pub async fn all_sks(
    state: &State,
    app_key: &str,
    user_id: &str,
    prefix: &str,
) -> Result<Vec<String>, ApiError> {
    let mut sks = Vec::new();
    let mut start = None;
    loop {
        let out = crate::db::query(state)
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", s(table::user_pk(app_key, user_id)))
            .expression_attribute_values(":prefix", s(prefix))
            .projection_expression("SK")
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await?;
        sks.extend(
            out.items
                .unwrap_or_default()
                .iter()
                .filter_map(|item| db::text(item, table::SK).map(str::to_owned)),
        );
        start = out.last_evaluated_key;
        if start.is_none() {
            return Ok(sks);
        }
    }
}

/// The user's counter of `kind` (0 when never counted).
pub fn count_of(fetched: &Fetched, app_key: &str, kind: Kind, user_id: &str) -> i64 {
    fetched
        .get(app_key, user_id, kind.counter_sk())
        .and_then(|item| db::number(item, COUNT))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_point_at_their_target_and_name_their_counter() {
        let item = edge_item("k", Kind::Friend, "alice", "bob", 42).unwrap();
        assert_eq!(db::text(&item, "PK"), Some("APP#k#U#alice"));
        assert_eq!(db::text(&item, "SK"), Some("FRIEND#bob"));
        assert_eq!(db::text(&item, "LSI1SK"), Some("FRIEND#0000000000042#bob"));
        assert_eq!(db::text(&item, "edgeTo"), Some("APP#k#U#bob"));
        assert_eq!(db::text(&item, "countedIn"), Some("FRIEND_COUNT"));
        assert_eq!(db::number(&item, "addedAt"), Some(42));
        let block = edge_item("k", Kind::Block, "alice", "bob", 1).unwrap();
        assert_eq!(db::text(&block, "SK"), Some("BLOCK#bob"));
        assert_eq!(db::text(&block, "countedIn"), Some("BLOCK_COUNT"));
    }

    #[test]
    fn cancelled_user_checks_tell_unknown_from_soft_deleted() {
        let soft = HashMap::from([("state".to_owned(), s("soft-deleted"))]);
        let cancelled = Cancelled {
            codes: ["ConditionalCheckFailed", "ConditionalCheckFailed", "None"]
                .map(String::from)
                .to_vec(),
            items: vec![None, Some(soft), None],
        };
        assert_eq!(cancelled.inactive_user(0, "a").code(), 400);
        assert_eq!(cancelled.inactive_user(1, "b").code(), 20101);
        assert!(cancelled.failed(1) && !cancelled.failed(2) && !cancelled.failed(9));
    }
}
