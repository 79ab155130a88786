//! The user lifecycle: soft delete (immediate for the API, data purged asynchronously from the
//! table's stream), restore (after one hour, once purged), the operation records both leave, and
//! the console's removal of a test user.

use std::time::Duration;

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use aws_sdk_dynamodb::types::{
    Delete, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};

use crate::apps::{App, Environment};
use crate::batch;
use crate::count_tree::{Order, Stats, Tree};
use crate::db::{self, n, s};
use crate::error::ApiError;
use crate::operations::{
    OperationType, PURGE_DONE, PURGE_PENDING, UserResult, put_operation, set_results,
};
use crate::purge::{self, Deadline, Others};
use crate::state::State;
use crate::table;
use crate::users::{self, UserState};

/// A soft-deleted user can be restored this long after the deletion, not before.
pub const RESTORE_AFTER_MS: i64 = 60 * 60 * 1000;
pub const LIST_SOFT_DELETED: &str = "SOFT_DELETED";
pub const CODE_RESTORE_TOO_EARLY: i64 = 20102;
pub const CODE_NOT_SOFT_DELETED: i64 = 20103;
/// How long one console call removing a test user works before it answers "call again".
const TEST_USER_REMOVAL_TIME: Duration = Duration::from_secs(6);

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
    now: i64,
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
        now,
    )
    .await?;
    let user_ids = crate::validate::dedup(user_ids);
    let entries = user_ids
        .iter()
        .map(|user_id| {
            let update = Update::builder()
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
                .expression_attribute_values(":operation", s(&operation_id))
                .expression_attribute_values(":list", s(table::list_pk(&app.app_key, LIST_SOFT_DELETED)))
                .expression_attribute_values(":sort", s(table::time_sort_key(now, user_id)))
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .build()?;
            Ok(batch::Entry {
                actions: vec![TransactWriteItem::builder().update(update).build()],
                counts: vec![(now, 1)],
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let tree = soft_deleted_tree(&app.app_key);
    let refused: Vec<UserResult> =
        batch::write(state, Some(&tree), entries, batch::Mode::EachEntry)
            .await?
            .into_iter()
            .map(|refused| {
                // Soft-deleted already (20101), or unknown (400).
                let code = if refused.old.is_some() { 20101 } else { 400 };
                UserResult::new(&user_ids[refused.entry], "refused", Some(code))
            })
            .collect();
    set_results(state, &app.app_key, &operation_id, &refused).await?;
    Ok(operation_id)
}

/// Restores soft-deleted users whose data is purged and whose deletion is at least an hour old.
/// Their data does not come back; they may be issued tokens again. Results are final at once.
pub async fn restore(
    state: &State,
    app: &App,
    user_ids: &[String],
    now: i64,
) -> Result<String, ApiError> {
    let user_ids = crate::validate::dedup(user_ids);
    let tree = soft_deleted_tree(&app.app_key);
    // Each user's result, once final; the others are read again after a lost race.
    let decided: Mutex<HashMap<String, UserResult>> = Mutex::default();
    let decided_map = || decided.lock().unwrap_or_else(PoisonError::into_inner);
    let decide = |result: UserResult| decided_map().insert(result.user_id.clone(), result);
    db::retry(|| async {
        let pending: Vec<String> = {
            let decided = decided_map();
            user_ids
                .iter()
                .filter(|id| !decided.contains_key(*id))
                .cloned()
                .collect()
        };
        let stored = deletions(state, &app.app_key, &pending).await?;
        let mut candidates = Vec::new();
        let mut entries = Vec::new();
        for user_id in pending {
            match stored
                .get(&user_id)
                .copied()
                .unwrap_or(Deletion::NotDeleted)
            {
                Deletion::NotDeleted => {
                    decide(UserResult::new(
                        &user_id,
                        "refused",
                        Some(CODE_NOT_SOFT_DELETED),
                    ));
                }
                Deletion::Deleted {
                    listed_at: Some(at),
                    purged: true,
                } if at <= now - RESTORE_AFTER_MS => {
                    entries.push(restore_entry(state, &app.app_key, &user_id, at, now)?);
                    candidates.push(user_id);
                }
                // Too recent, or its purge still running.
                Deletion::Deleted { .. } => {
                    decide(UserResult::new(
                        &user_id,
                        "refused",
                        Some(CODE_RESTORE_TOO_EARLY),
                    ));
                }
            }
        }
        let refused = batch::write(state, Some(&tree), entries, batch::Mode::EachEntry).await?;
        for (i, user_id) in candidates.into_iter().enumerate() {
            // A user changed since it was read is read again.
            if !refused.iter().any(|r| r.entry == i) {
                decide(UserResult::new(&user_id, "done", None));
            }
        }
        Ok(refused.is_empty().then_some(()))
    })
    .await?;
    let mut decided = decided.into_inner().unwrap_or_else(PoisonError::into_inner);
    let results: Vec<UserResult> = user_ids
        .iter()
        .filter_map(|id| decided.remove(id))
        .collect();
    let operation_id = new_operation_id();
    put_operation(
        state,
        &app.app_key,
        &operation_id,
        OperationType::Restore,
        &results,
        now,
    )
    .await?;
    Ok(operation_id)
}

/// The soft-deleted list's count tree: users by deletion time.
fn soft_deleted_tree(app_key: &str) -> Tree {
    Tree::of(app_key, LIST_SOFT_DELETED)
}

/// Where a user stands for a restore, as read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Deletion {
    /// Unknown or active (or being removed by the console, which leaves the list alone).
    NotDeleted,
    /// Soft-deleted: by the API, in the soft-deleted list since `listed_at` (not by the console's
    /// removal of a test user); `purged` once its data is gone.
    Deleted {
        listed_at: Option<i64>,
        purged: bool,
    },
}

/// The users' deletions, read strongly consistently.
async fn deletions(
    state: &State,
    app_key: &str,
    user_ids: &[String],
) -> Result<HashMap<String, Deletion>, ApiError> {
    let keys = user_ids.iter().map(|id| users::key(app_key, id)).collect();
    Ok(db::get_all(state, keys)
        .await?
        .iter()
        .filter_map(|item| {
            let user_id = db::text(item, "userId")?.to_owned();
            let soft_deleted = db::text(item, "state") == Some("soft-deleted");
            let deletion = if soft_deleted {
                Deletion::Deleted {
                    listed_at: db::number(item, "deletedAt"),
                    purged: db::text(item, "purgeState") == Some(PURGE_DONE),
                }
            } else {
                Deletion::NotDeleted
            };
            Some((user_id, deletion))
        })
        .collect())
}

/// The restore of a user deleted at `at`, on the condition that it is still as read.
fn restore_entry(
    state: &State,
    app_key: &str,
    user_id: &str,
    at: i64,
    now: i64,
) -> Result<batch::Entry, ApiError> {
    let update = Update::builder()
        .table_name(&state.table)
        .set_key(Some(users::key(app_key, user_id)))
        .update_expression(
            "SET #state = :active, restoredAt = :now \
             REMOVE deletedAt, purgeState, purgeOperation, purgedAt, purgeRounds, purgeRemoved, purgeUpdatedAt, purgeRedrivenAt, GSI1PK, GSI1SK",
        )
        .condition_expression("#state = :deleted AND purgeState = :done AND deletedAt = :at")
        .expression_attribute_names("#state", "state")
        .expression_attribute_values(":active", s("active"))
        .expression_attribute_values(":deleted", s("soft-deleted"))
        .expression_attribute_values(":done", s(PURGE_DONE))
        .expression_attribute_values(":now", n(now))
        .expression_attribute_values(":at", n(at))
        .build()?;
    Ok(batch::Entry {
        actions: vec![TransactWriteItem::builder().update(update).build()],
        counts: vec![(at, -1)],
    })
}

/// Soft-deleted users, oldest deletion first, page by page (pages start at 1), found through
/// the count tree: the same reads whatever the page.
pub async fn list_soft_deleted(
    state: &State,
    app_key: &str,
    page: u32,
    page_size: u32,
) -> Result<(Vec<String>, Stats), ApiError> {
    let offset = u64::from(page.saturating_sub(1)) * u64::from(page_size);
    let (_, items, stats) = soft_deleted_tree(app_key)
        .page(state, offset, page_size as usize, Order::ASCENDING)
        .await?;
    let ids = items
        .iter()
        .filter_map(|item| table::user_id_suffix(db::text(item, table::GSI1SK)?))
        .map(str::to_owned)
        .collect();
    Ok((ids, stats))
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
        let marked = crate::db::update_item(state)
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
            Err(err) if crate::db::condition_failed(&err) => {}
            Err(err) => return Err(err.into()),
        }
    }
    // Within the request's time: a user too large for one request is removed over several
    // calls (the work done stays done; each call answers 504/1050 until the last).
    let purged = purge::purge_user_data(
        state,
        &app.app_key,
        user_id,
        Others::RemoveAll,
        Deadline::within(TEST_USER_REMOVAL_TIME, Duration::ZERO),
    )
    .await?;
    if !purged.finished {
        return Err(ApiError::Busy);
    }
    // The user leaves the table, its slot under the cap and, if the API soft-deleted it, the
    // soft-deleted list's counts, on the condition that it is still as read.
    let tree = soft_deleted_tree(&app.app_key);
    db::retry(|| async {
        let Some(deletion) = deletions(state, &app.app_key, &[user_id.to_owned()])
            .await?
            .remove(user_id)
        else {
            // Deleted concurrently by another console call: the slot was freed there.
            return Err(ApiError::UserNotFound(user_id.to_owned()));
        };
        let listed_at = match deletion {
            Deletion::Deleted { listed_at, .. } => listed_at,
            Deletion::NotDeleted => None,
        };
        let mut delete_user = Delete::builder()
            .table_name(&state.table)
            .set_key(Some(users::key(&app.app_key, user_id)));
        delete_user = match listed_at {
            Some(at) => delete_user
                .condition_expression("deletedAt = :at")
                .expression_attribute_values(":at", n(at)),
            None => delete_user
                .condition_expression("attribute_exists(PK) AND attribute_not_exists(deletedAt)"),
        };
        let free_slot = crate::user_count::free_slot(state, &app.app_key)?;
        let entry = batch::Entry {
            actions: vec![
                TransactWriteItem::builder()
                    .delete(delete_user.build()?)
                    .build(),
                TransactWriteItem::builder().update(free_slot).build(),
            ],
            counts: listed_at.map(|at| (at, -1)).into_iter().collect(),
        };
        let refused =
            batch::write(state, Some(&tree), vec![entry], batch::Mode::AllOrNothing).await?;
        Ok(refused.is_empty().then_some(()))
    })
    .await
}
