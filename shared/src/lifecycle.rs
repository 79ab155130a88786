//! The user lifecycle: soft delete (immediate for the API, data purged asynchronously from the
//! table's stream), restore (after one hour, once purged), the operation records both leave, and
//! the console's removal of a test user.

use std::time::Duration;

use aws_sdk_dynamodb::types::{Delete, ReturnValuesOnConditionCheckFailure};

use crate::apps::{App, Environment};
use crate::db::{n, s};
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
    let updates = user_ids.iter().map(|user_id| {
        let operation_id = &operation_id;
        async move {
            let result = crate::db::update_item(state)
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
pub async fn restore(
    state: &State,
    app: &App,
    user_ids: &[String],
    now: i64,
) -> Result<String, ApiError> {
    let updates = user_ids.iter().map(|user_id| async move {
        let result = crate::db::update_item(state)
            .set_key(Some(users::key(&app.app_key, user_id)))
            .update_expression(
                "SET #state = :active, restoredAt = :now \
                 REMOVE deletedAt, purgeState, purgeOperation, purgedAt, purgeRounds, purgeRemoved, purgeUpdatedAt, purgeRedrivenAt, GSI1PK, GSI1SK",
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
        now,
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
        let out = crate::db::query(state)
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
    let delete_user = Delete::builder()
        .table_name(&state.table)
        .set_key(Some(users::key(&app.app_key, user_id)))
        .condition_expression("attribute_exists(PK)")
        .build()?;
    let free_slot = crate::user_count::free_slot(state, &app.app_key)?;
    if purge::delete_and_update(state, delete_user, free_slot).await? {
        Ok(())
    } else {
        // Deleted concurrently by another console call: the slot was freed there.
        Err(ApiError::UserNotFound(user_id.to_owned()))
    }
}
