//! The blocklist: one-way `BLOCK#<id>` edges in the blocker's partition, counted in its
//! `BLOCK_COUNT` under the app's `blocklistLimit` in the same transaction.

use crate::apps::App;
use crate::db;
use crate::edges::{self, Fetched, Item, Kind};
use crate::error::ApiError;
use crate::state::State;
use crate::table;

/// `user_id` blocks each target (all must exist and be active). Already blocked: kept as is
/// (same `addedAt`). All or nothing: over the limit, nothing is added (403/20106).
pub async fn add(
    state: &State,
    app: &App,
    user_id: &str,
    target_ids: &[String],
    now_ms: i64,
) -> Result<(), ApiError> {
    let key = &app.app_key;
    let limit = app.settings.blocklist_limit;
    let target_ids = crate::validate::dedup(target_ids);
    db::retry(|| async {
        let mut keys = vec![edges::key(key, user_id, table::SK_USER)];
        for target in &target_ids {
            keys.push(edges::key(key, target, table::SK_USER));
            keys.push(edges::key(key, user_id, &table::block_sk(target)));
        }
        let fetched = Fetched::read(state, keys).await?;
        fetched.require_active(key, user_id)?;
        for target in &target_ids {
            fetched.require_active(key, target)?;
        }
        let new: Vec<&String> = target_ids
            .iter()
            .filter(|t| fetched.get(key, user_id, &table::block_sk(t)).is_none())
            .collect();
        if new.is_empty() {
            return Ok(Some(()));
        }
        let added = u32::try_from(new.len()).unwrap_or(u32::MAX);
        if added > limit {
            return Err(limit_reached(user_id, limit));
        }
        // [user check, (target check, edge) per new target, counter]
        let mut items = vec![edges::user_check(state, key, user_id)?];
        for target in &new {
            items.push(edges::user_check(state, key, target)?);
            items.push(edges::put_new(
                state,
                edges::edge_item(key, Kind::Block, user_id, target, now_ms)?,
            )?);
        }
        items.push(edges::count_up(
            state,
            key,
            Kind::Block,
            user_id,
            added,
            limit,
        )?);
        let Some(cancelled) = db::transact(state, items).await? else {
            return Ok(Some(()));
        };
        if cancelled.failed(0) {
            return Err(cancelled.inactive_user(0, user_id));
        }
        for (i, target) in new.iter().enumerate() {
            if cancelled.failed(1 + 2 * i) {
                return Err(cancelled.inactive_user(1 + 2 * i, target));
            }
        }
        if (0..new.len()).any(|i| cancelled.failed(2 + 2 * i)) {
            // Blocked concurrently by another request: read again.
            return Ok(None);
        }
        if cancelled.failed(1 + 2 * new.len()) {
            return Err(limit_reached(user_id, limit));
        }
        Err(cancelled.unexpected("blocklist add"))
    })
    .await
}

fn limit_reached(user_id: &str, limit: u32) -> ApiError {
    ApiError::EdgeLimitReached(format!(
        "{user_id}: the blocklist would exceed the app's limit of {limit} users"
    ))
}

/// `user_id` unblocks each target (not blocked, or unknown: skipped).
pub async fn remove(
    state: &State,
    app: &App,
    user_id: &str,
    target_ids: &[String],
) -> Result<(), ApiError> {
    let target_ids = crate::validate::dedup(target_ids);
    // A counter that disagrees with the edges (never expected) is left out rather than blocking
    // the removal.
    let mut count = true;
    for round in 0..db::ATTEMPTS {
        if round > 0 {
            tokio::time::sleep(db::backoff(round)).await;
        }
        match remove_once(state, &app.app_key, user_id, &target_ids, count).await? {
            Removal::Done => return Ok(()),
            Removal::Again => {}
            Removal::WithoutCounter => count = false,
        }
    }
    Err(ApiError::Busy)
}

enum Removal {
    Done,
    /// Lost a race with another change of the same edges: read again.
    Again,
    WithoutCounter,
}

async fn remove_once(
    state: &State,
    key: &str,
    user_id: &str,
    target_ids: &[String],
    count: bool,
) -> Result<Removal, ApiError> {
    let mut keys = vec![edges::key(key, user_id, table::SK_USER)];
    keys.extend(
        target_ids
            .iter()
            .map(|t| edges::key(key, user_id, &table::block_sk(t))),
    );
    let fetched = Fetched::read(state, keys).await?;
    fetched.require_active(key, user_id)?;
    let blocked: Vec<&String> = target_ids
        .iter()
        .filter(|t| fetched.get(key, user_id, &table::block_sk(t)).is_some())
        .collect();
    if blocked.is_empty() {
        return Ok(Removal::Done);
    }
    // [user check, edge per blocked target, counter]
    let mut items = vec![edges::user_check(state, key, user_id)?];
    for target in &blocked {
        items.push(edges::delete(
            state,
            edges::key(key, user_id, &table::block_sk(target)),
            true,
        )?);
    }
    if count {
        let removed = u32::try_from(blocked.len()).unwrap_or(u32::MAX);
        items.push(edges::count_down(
            state,
            key,
            Kind::Block,
            user_id,
            removed,
        )?);
    }
    let Some(cancelled) = db::transact(state, items).await? else {
        return Ok(Removal::Done);
    };
    if cancelled.failed(0) {
        return Err(cancelled.inactive_user(0, user_id));
    }
    if (1..=blocked.len()).any(|i| cancelled.failed(i)) {
        return Ok(Removal::Again);
    }
    if count && cancelled.failed(1 + blocked.len()) {
        tracing::warn!(user = %user_id, "blocklist counter below its edges");
        return Ok(Removal::WithoutCounter);
    }
    Err(cancelled.unexpected("blocklist remove"))
}

/// A page of the users `user_id` blocks, newest first, and where the next page starts.
pub async fn page(
    state: &State,
    app: &App,
    user_id: &str,
    page_size: usize,
    start: Option<Item>,
) -> Result<(Vec<String>, Option<Item>), ApiError> {
    let (items, next) = edges::page_of_active_user(
        state,
        &app.app_key,
        user_id,
        table::SK_BLOCK_PREFIX,
        page_size,
        start,
    )
    .await?;
    let ids = items
        .iter()
        .filter_map(|item| db::text(item, edges::TARGET_ID).map(str::to_owned))
        .collect();
    Ok((ids, next))
}
