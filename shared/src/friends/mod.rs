//! Friendships: mutual edges written and removed in both partitions in one transaction, with the
//! per-user friend counter (limit 3,000) in the same transaction; pending requests in the
//! target's partition; friend permissions; one-sided friend profiles (alias, ext profile).
//!
//! Invariants, all held by transaction conditions: an edge `A → B` exists exactly when `B → A`
//! does; each user's `FRIEND_COUNT` equals their edges; no pending request exists between two
//! friends; two users never wait on each other's requests (the second request makes them friends).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::apps::App;
use crate::db;
use crate::db::s;
use crate::edges::{self, Fetched, Item, Kind};
use crate::error::ApiError;
use crate::items::Kind as _;
use crate::state::State;
use crate::table;
use crate::users::{self, UserState};

mod read;
mod settings;
pub use read::*;
pub use settings::*;

/// Friends per user.
pub const MAX_FRIENDS: u32 = 3000;
/// The HTTP 200 answer's `code` when a friend request was left pending.
pub const CODE_REQUEST_PENDING: i64 = 25461;
/// Friendship results of `/v4/friend/relationship/get`.
pub const RELATION_NONE: i64 = 1;
pub const RELATION_FRIENDS: i64 = 4;
/// Permission types: accept everyone, require approval, refuse all.
pub const PERMISSION_ANYONE: u8 = 1;
pub const PERMISSION_APPROVAL: u8 = 2;
pub const PERMISSION_NOBODY: u8 = 3;

const ALIAS: &str = "alias";
const EXT_PROFILE: &str = "friendExtProfile";
const PERMISSION_TYPE: &str = "permissionType";
const REQUESTER_ID: &str = "requesterId";
const EXTRA: &str = "extra";
const CREATED_AT: &str = "createdAt";
/// Concurrent pair removals of a remove-all.
const REMOVE_ALL_CONCURRENCY: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// They are friends now.
    Friends,
    /// They were friends already.
    AlreadyFriends,
    /// A request is pending with the target.
    Requested,
}

fn limit_reached(user_id: &str) -> ApiError {
    ApiError::EdgeLimitReached(format!(
        "{user_id} has reached the limit of {MAX_FRIENDS} friends"
    ))
}

fn no_request(requester_id: &str, user_id: &str) -> ApiError {
    ApiError::NotFound(format!(
        "no pending friend request from {requester_id} to {user_id}"
    ))
}

/// `userId` asks to be friends with `targetId`. `direct` (action 2) makes them friends whatever
/// the target's permission; otherwise the permission decides: 1 friends at once, 2 a pending
/// request, 3 refused (403/20104). A request of the target to the user is accepted by it.
pub async fn add(
    state: &State,
    app: &App,
    user_id: &str,
    target_id: &str,
    direct: bool,
    extra: &str,
    now_ms: i64,
) -> Result<Added, ApiError> {
    let key = &app.app_key;
    let by_user = |how| Befriending {
        actor: user_id,
        how,
    };
    let befriend_directly = || {
        befriend(
            state,
            key,
            user_id,
            target_id,
            now_ms,
            by_user(How::Direct),
            None,
        )
    };
    if direct {
        return befriend_directly().await;
    }
    let fetched = Fetched::read(
        state,
        vec![
            edges::key(key, user_id, table::SK_USER),
            edges::key(key, target_id, table::SK_USER),
            edges::key(key, user_id, &table::friend_sk(target_id)),
            edges::key(key, user_id, &table::friend_request_sk(target_id)),
            edges::key(key, target_id, table::SK_FRIEND_PERMISSION),
        ],
    )
    .await?;
    fetched.require_active(key, user_id)?;
    fetched.require_active(key, target_id)?;
    if fetched
        .get(key, user_id, &table::friend_sk(target_id))
        .is_some()
    {
        return Ok(Added::AlreadyFriends);
    }
    if fetched
        .get(key, user_id, &table::friend_request_sk(target_id))
        .is_some()
    {
        // The target asked first: this is their answer.
        let accepting = by_user(How::Accepted);
        return befriend(state, key, user_id, target_id, now_ms, accepting, None).await;
    }
    match permission_of(&fetched, app, target_id) {
        PERMISSION_ANYONE => befriend_directly().await,
        PERMISSION_NOBODY => Err(ApiError::FriendRequestRefused(format!(
            "{target_id} accepts no friend requests"
        ))),
        _ => request(state, key, user_id, target_id, extra, now_ms).await,
    }
}

fn permission_of(fetched: &Fetched, app: &App, user_id: &str) -> u8 {
    fetched
        .get(&app.app_key, user_id, table::SK_FRIEND_PERMISSION)
        .and_then(|item| db::number(item, PERMISSION_TYPE))
        .and_then(|p| u8::try_from(p).ok())
        .filter(|p| (PERMISSION_ANYONE..=PERMISSION_NOBODY).contains(p))
        .unwrap_or(app.settings.default_friend_permission)
}

/// Leaves a pending request of `user_id` with `target_id` (replacing an earlier one), unless they
/// are friends, or the target asked first (then they become friends).
async fn request(
    state: &State,
    key: &str,
    user_id: &str,
    target_id: &str,
    extra: &str,
    now_ms: i64,
) -> Result<Added, ApiError> {
    let item = crate::items::FriendRequest {
        request_id: crate::metrics::request_id(),
        ..crate::items::FriendRequest::new(key, user_id, target_id, extra, now_ms)
    }
    .item()?;
    let items = vec![
        edges::user_check(state, key, user_id)?,
        edges::user_check(state, key, target_id)?,
        edges::absent_check(
            state,
            edges::key(key, target_id, &table::friend_sk(user_id)),
        )?,
        edges::absent_check(
            state,
            edges::key(key, user_id, &table::friend_request_sk(target_id)),
        )?,
        edges::put(state, item)?,
        edges::put(
            state,
            crate::items::RequestSent {
                app_key: key.to_owned(),
                requester_id: user_id.to_owned(),
                target_id: target_id.to_owned(),
            }
            .item()?,
        )?,
    ];
    let Some(cancelled) = db::transact(state, items).await? else {
        return Ok(Added::Requested);
    };
    if cancelled.failed(0) {
        Err(cancelled.inactive_user(0, user_id))
    } else if cancelled.failed(1) {
        Err(cancelled.inactive_user(1, target_id))
    } else if cancelled.failed(2) {
        Ok(Added::AlreadyFriends)
    } else if cancelled.failed(3) {
        // The target asked at the same moment: that makes them friends.
        let accepting = Befriending {
            actor: user_id,
            how: How::Accepted,
        };
        befriend(state, key, user_id, target_id, now_ms, accepting, None).await
    } else {
        Err(cancelled.unexpected("friend request"))
    }
}

/// How two users became friends, as the webhook tells it (`user:friendship` 2 or 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum How {
    /// A pending request was accepted (by the call of the user it was sent to).
    Accepted,
    /// Without a pending request.
    Direct,
}

/// Whose call makes two users friends, and how: written on that user's edge only.
#[derive(Debug, Clone, Copy)]
struct Befriending<'a> {
    actor: &'a str,
    how: How,
}

/// The friend edge `owner → other`, marked with the befriending when `owner` is its actor.
fn friend_edge(
    key: &str,
    owner: &str,
    other: &str,
    now_ms: i64,
    by: Befriending,
) -> Result<crate::db::Item, ApiError> {
    let mut edge = edges::edge(key, Kind::Friend, owner, other, now_ms);
    if by.actor == owner {
        edge.added_by = Some(owner.to_owned());
        edge.request_id = crate::metrics::request_id();
        edge.added_how = Some(
            match by.how {
                How::Accepted => crate::items::ADDED_ACCEPTED,
                How::Direct => crate::items::ADDED_DIRECT,
            }
            .to_owned(),
        );
    }
    edge.item()
}

/// Makes `a` and `b` friends in one transaction: both edges, both counters under the limit, both
/// users active, and any pending request between them deleted. With `accepting` = the requester
/// (`a`), the request `a → b` must exist (else 404/1015).
async fn befriend(
    state: &State,
    key: &str,
    a: &str,
    b: &str,
    now_ms: i64,
    by: Befriending<'_>,
    accepting: Option<&str>,
) -> Result<Added, ApiError> {
    let items = vec![
        edges::user_check(state, key, a)?,
        edges::user_check(state, key, b)?,
        edges::put_new(state, friend_edge(key, a, b, now_ms, by)?)?,
        edges::put_new(state, friend_edge(key, b, a, now_ms, by)?)?,
        edges::count_up(state, key, Kind::Friend, a, 1, MAX_FRIENDS)?,
        edges::count_up(state, key, Kind::Friend, b, 1, MAX_FRIENDS)?,
        edges::delete(
            state,
            edges::key(key, b, &table::friend_request_sk(a)),
            accepting.is_some(),
        )?,
        edges::delete(
            state,
            edges::key(key, a, &table::friend_request_sk(b)),
            false,
        )?,
        // The requests' mirrors go with them.
        edges::delete(state, edges::key(key, a, &table::request_sent_sk(b)), false)?,
        edges::delete(state, edges::key(key, b, &table::request_sent_sk(a)), false)?,
    ];
    let Some(cancelled) = db::transact(state, items).await? else {
        return Ok(Added::Friends);
    };
    // An acceptance checks its own user (the target, `b`), then the request, then the requester.
    if accepting.is_some() {
        if cancelled.failed(1) {
            return Err(cancelled.inactive_user(1, b));
        }
        if cancelled.failed(6) {
            return Err(no_request(a, b));
        }
    }
    for (index, user_id) in [(0, a), (1, b)] {
        if cancelled.failed(index) {
            return Err(cancelled.inactive_user(index, user_id));
        }
    }
    if cancelled.failed(2) || cancelled.failed(3) {
        return Ok(Added::AlreadyFriends);
    }
    if cancelled.failed(4) {
        return Err(limit_reached(a));
    }
    if cancelled.failed(5) {
        return Err(limit_reached(b));
    }
    Err(cancelled.unexpected("befriend"))
}

/// `user_id` (the target) accepts the pending request of `requester_id`: they become friends.
pub async fn accept(
    state: &State,
    app: &App,
    user_id: &str,
    requester_id: &str,
    now_ms: i64,
) -> Result<(), ApiError> {
    let by = Befriending {
        actor: user_id,
        how: How::Accepted,
    };
    befriend(
        state,
        &app.app_key,
        requester_id,
        user_id,
        now_ms,
        by,
        Some(requester_id),
    )
    .await
    .map(|_| ())
}

/// `user_id` (the target) rejects the pending request of `requester_id`: it is deleted.
pub async fn reject(
    state: &State,
    app: &App,
    user_id: &str,
    requester_id: &str,
    now_ms: i64,
) -> Result<(), ApiError> {
    let key = &app.app_key;
    let mut items = vec![
        edges::user_check(state, key, user_id)?,
        edges::delete(
            state,
            edges::key(key, user_id, &table::friend_request_sk(requester_id)),
            true,
        )?,
        edges::delete(
            state,
            edges::key(key, requester_id, &table::request_sent_sk(user_id)),
            false,
        )?,
    ];
    items.extend(friendship_note(
        state,
        app,
        FRIENDSHIP_REJECTED,
        user_id,
        requester_id,
        now_ms,
    )?);
    match db::transact(state, items).await? {
        None => Ok(()),
        Some(c) if c.failed(0) => Err(c.inactive_user(0, user_id)),
        Some(_) => Err(no_request(requester_id, user_id)),
    }
}

/// Ends the friendship of `user_id` and `friend_id` in both partitions; `false` if they were not
/// friends. `user_id` must be active (403/20101, 404/400); the friend may be in any state.
async fn unfriend(
    state: &State,
    app: &App,
    user_id: &str,
    friend_id: &str,
    now_ms: i64,
) -> Result<bool, ApiError> {
    let key = &app.app_key;
    // A counter already gone (its owner's partition being purged) is left alone.
    let mut keep_counter = [true, true];
    for _ in 0..3 {
        let mut items = vec![
            edges::user_check(state, key, user_id)?,
            edges::delete(
                state,
                edges::key(key, user_id, &table::friend_sk(friend_id)),
                true,
            )?,
            edges::delete(
                state,
                edges::key(key, friend_id, &table::friend_sk(user_id)),
                true,
            )?,
        ];
        let counters: Vec<&str> = [user_id, friend_id]
            .into_iter()
            .zip(keep_counter)
            .filter(|(_, keep)| *keep)
            .map(|(id, _)| id)
            .collect();
        for id in &counters {
            items.push(edges::count_down(state, key, Kind::Friend, id, 1)?);
        }
        // Last, so the indexes of the checks above stay as they are.
        items.extend(friendship_note(
            state,
            app,
            FRIENDSHIP_REMOVED,
            user_id,
            friend_id,
            now_ms,
        )?);
        let Some(cancelled) = db::transact(state, items).await? else {
            return Ok(true);
        };
        if cancelled.failed(0) {
            return Err(cancelled.inactive_user(0, user_id));
        }
        if cancelled.failed(1) || cancelled.failed(2) {
            return Ok(false);
        }
        let mut dropped = false;
        for (offset, id) in counters.iter().enumerate() {
            if cancelled.failed(3 + offset) {
                let index = usize::from(*id != user_id);
                keep_counter[index] = false;
                dropped = true;
                tracing::warn!(user = %id, "friend counter missing or zero while removing an edge");
            }
        }
        if !dropped {
            return Err(cancelled.unexpected("unfriend"));
        }
    }
    Err(ApiError::Internal("unfriend: counters keep failing".into()))
}

/// `user:friendship` operation types only a note can tell (see [`crate::items::EventNote`]).
const FRIENDSHIP_REJECTED: i64 = 3;
const FRIENDSHIP_REMOVED: i64 = 4;

/// The `Put` of a `user:friendship` note (`user_id` acted on `other_id`), when the app has the
/// event delivered; nothing otherwise, so apps without webhooks pay nothing.
fn friendship_note(
    state: &State,
    app: &App,
    operation_type: i64,
    user_id: &str,
    other_id: &str,
    now_ms: i64,
) -> Result<Option<TransactWriteItem>, ApiError> {
    use crate::apps::WebhookEvent;
    if !app.settings.delivers(WebhookEvent::Friendship) {
        return Ok(None);
    }
    let data = crate::webhooks::events::friendship(operation_type, user_id, other_id, now_ms, "");
    let note = crate::webhooks::events::note(
        &app.app_key,
        user_id,
        WebhookEvent::Friendship,
        &data,
        now_ms,
    )?;
    Ok(Some(edges::put(state, note)?))
}

/// Removes the friendships of `user_id` with each of `friend_ids` (not friends: skipped),
/// concurrently, each pair in its own transaction.
pub async fn remove(
    state: &State,
    app: &App,
    user_id: &str,
    friend_ids: &[String],
    now_ms: i64,
) -> Result<(), ApiError> {
    let removals = friend_ids
        .iter()
        .map(|friend| unfriend(state, app, user_id, friend, now_ms));
    futures::future::try_join_all(removals).await.map(|_| ())
}

/// Removes every friendship of `user_id` (those existing when the call starts).
pub async fn remove_all(
    state: &State,
    app: &App,
    user_id: &str,
    now_ms: i64,
) -> Result<(), ApiError> {
    let key = &app.app_key;
    let (user, sks) = tokio::try_join!(
        users::get(state, key, user_id),
        edges::all_sks(state, key, user_id, table::SK_FRIEND_PREFIX)
    )?;
    match user.map(|u| u.state) {
        Some(UserState::Active) => {}
        other => return Err(edges::inactive_error(user_id, other)),
    }
    let friends: Vec<String> = sks
        .iter()
        .filter_map(|sk| sk.strip_prefix(table::SK_FRIEND_PREFIX))
        .map(str::to_owned)
        .collect();
    let removals: Vec<_> = friends
        .into_iter()
        .map(|friend| async move { unfriend(state, app, user_id, &friend, now_ms).await })
        .collect();
    futures::stream::iter(removals)
        .buffer_unordered(REMOVE_ALL_CONCURRENCY)
        .try_collect::<Vec<bool>>()
        .await
        .map(|_| ())
}
