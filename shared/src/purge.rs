//! The purge of soft-deleted users' data, driven by the table's stream, and the sweeper that
//! re-drives purges nothing finished.
//!
//! A purge works page by page through the user's own partition (strongly consistent), so its
//! memory is one page whatever the user's size. When its invocation runs short of time it stops
//! between pages and checkpoints on the USER item; that change is itself a stream record the
//! purge filter admits, so the next invocation continues where the partition now starts (what
//! was deleted is gone, so the partition is its own cursor).
//!
//! The checkpoints form one chain: each record names the checkpoint it was written at
//! (`purgeRounds`), only a record at the user's current checkpoint goes on, and a checkpoint is
//! written only over the one its record was at. So a record delivered twice or late, or the
//! sweeper's re-sent one, never starts a second chain beside the live one.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, TransactWriteItem, Update};
use futures::{StreamExt, TryStreamExt};

use crate::db::{self, n, s};
use crate::error::ApiError;
use crate::items::{Kind, PurgeTicket, TICKET_SHARDS};
use crate::operations::{self, PURGE_DONE, PURGE_PENDING, UserResult};
use crate::state::State;
use crate::table;

use crate::db::Item as Key;

/// Items of the user's partition read and purged at a time: one page bounds the memory and the
/// work between two checks of the deadline.
pub const PURGE_PAGE: i32 = 250;
/// How many items of other partitions a purge deletes at once.
const PURGE_CONCURRENCY: usize = 16;
/// Time an invocation keeps for its last page and its checkpoint (and for the checkpoints of the
/// batch's records that find no time left): a page of counted edges at [`PURGE_CONCURRENCY`]
/// takes well under a second on DynamoDB, even with throttling retries.
pub const PURGE_RESERVE: Duration = Duration::from_secs(60);

/// When a purge stops starting new pages. One invocation's records share it (clones share its
/// first page): the invocation's first page starts whatever the time, so every invocation
/// progresses even when it is given less than the reserve; every later page, of that record or
/// of the next ones in the batch, starts only before the deadline.
#[derive(Debug, Clone)]
pub struct Deadline {
    at: Option<Instant>,
    first_page_unused: Arc<AtomicBool>,
}

impl Deadline {
    /// No limit: run to the end.
    pub fn none() -> Self {
        Self::at(None)
    }

    /// Stop starting pages once less than `reserve` is left of `remaining`.
    pub fn within(remaining: Duration, reserve: Duration) -> Self {
        Self::at(Some(Instant::now() + remaining.saturating_sub(reserve)))
    }

    fn at(at: Option<Instant>) -> Self {
        Self {
            at,
            first_page_unused: Arc::new(AtomicBool::new(true)),
        }
    }

    /// From a Lambda invocation's deadline (milliseconds since the epoch), keeping
    /// [`PURGE_RESERVE`].
    pub fn from_lambda(deadline_epoch_ms: u64) -> Self {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        Self::within(
            Duration::from_millis(deadline_epoch_ms.saturating_sub(now_ms)),
            PURGE_RESERVE,
        )
    }

    fn passed(&self) -> bool {
        self.at.is_some_and(|at| Instant::now() >= at)
    }

    /// Whether a page may start now: the invocation's first always (asking uses it up), any
    /// other only before the deadline.
    fn may_start_page(&self) -> bool {
        let first = self.first_page_unused.swap(false, Ordering::Relaxed);
        first || !self.passed()
    }
}

// ---- the stream record --------------------------------------------------------------------

/// What the purge needs from a changed USER item (a stream record's new image).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserImage {
    pub pk: String,
    pub sk: String,
    pub state: String,
    pub purge_state: String,
    pub purge_operation: String,
    /// The checkpoints the purge had written when this image was (`purgeRounds`; 0 before the
    /// first): the record's place in the chain.
    pub purge_rounds: u64,
}

impl UserImage {
    /// Builds the image from any attribute map, given a way to read an attribute as text (a
    /// number in its decimal form, as DynamoDB sends it).
    pub fn from_strings(get: impl Fn(&str) -> Option<String>) -> Self {
        Self {
            pk: get(table::PK).unwrap_or_default(),
            sk: get(table::SK).unwrap_or_default(),
            state: get("state").unwrap_or_default(),
            purge_state: get("purgeState").unwrap_or_default(),
            purge_operation: get("purgeOperation").unwrap_or_default(),
            purge_rounds: get("purgeRounds")
                .and_then(|rounds| rounds.parse().ok())
                .unwrap_or(0),
        }
    }

    /// A user soft-deleted whose data still has to be purged.
    pub fn needs_purge(&self) -> bool {
        self.sk == table::SK_USER
            && self.state == "soft-deleted"
            && self.purge_state == PURGE_PENDING
    }

    /// Whether this record is the live link of its purge's chain, judged from the user as
    /// `stored` now: still pending this record's operation, at this record's checkpoint. A
    /// record of an earlier checkpoint (delivered again or late, or overtaken by another record
    /// of its checkpoint) is not: the chain already went on from there.
    fn is_current_in(&self, stored: &UserImage) -> bool {
        stored.needs_purge()
            && stored.purge_operation == self.purge_operation
            && stored.purge_rounds == self.purge_rounds
    }
}

/// Handles one stream change: purges (or goes on purging) a soft-deleted user, ignores
/// everything else. Idempotent: a record delivered twice purges nothing twice and reports `done`
/// again.
pub async fn on_user_change(
    state: &State,
    image: &UserImage,
    deadline: Deadline,
) -> Result<(), ApiError> {
    if !image.needs_purge() {
        return Ok(());
    }
    let Some((app_key, user_id)) = table::parse_user_pk(&image.pk) else {
        return Ok(());
    };
    // Records arrive late and more than once: decide from the user as stored now. One restored,
    // or removed and registered again, or soft-deleted again by a later operation, is not this
    // record's to purge; nor is a purge that already went on from this record's checkpoint.
    let stored = image_of(&current_user(state, &image.pk).await?);
    if !image.is_current_in(&stored) {
        tracing::info!(pk = %image.pk, rounds = image.purge_rounds, "stale purge record: the user is no longer pending this purge at this checkpoint");
        return Ok(());
    }
    let purged =
        purge_user_data(state, app_key, user_id, Others::KeepTheirBlocks, deadline).await?;
    crate::metrics::purge_round(purged.removed as u64, purged.finished);
    if !purged.finished {
        tracing::info!(pk = %image.pk, removed = purged.removed, "purge checkpointed; it continues from the stream");
        return checkpoint(state, image, purged.removed).await;
    }
    let finished = crate::db::update_item(state)
        .set_key(Some(crate::users::key(app_key, user_id)))
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
        Err(err) if crate::db::condition_failed(&err) => {}
        Err(err) => return Err(err.into()),
    }
    let done = UserResult::new(user_id, PURGE_DONE, None);
    operations::set_results(state, app_key, &image.purge_operation, &[done]).await
}

/// Records that the purge stopped short of the end (`purgeRounds`, `purgeRemoved`,
/// `purgeUpdatedAt`), if it is still at `image`'s checkpoint. The change is the stream record
/// the purge goes on from; of two records of one checkpoint (a duplicate, the sweeper's re-sent
/// one) only the first to get here writes it, so a checkpoint has one successor at most.
async fn checkpoint(state: &State, image: &UserImage, removed: usize) -> Result<(), ApiError> {
    let update = crate::db::update_item(state)
        .key(table::PK, s(&image.pk))
        .key(table::SK, s(table::SK_USER))
        .update_expression(
            "SET purgeRounds = if_not_exists(purgeRounds, :zero) + :one, \
             purgeRemoved = if_not_exists(purgeRemoved, :zero) + :removed, purgeUpdatedAt = :now",
        )
        .expression_attribute_values(":zero", n(0))
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":removed", n(removed))
        .expression_attribute_values(":now", n(state.clock.now_ms()));
    match if_still_at(update, image, "").send().await {
        Ok(_) => Ok(()),
        // Finished, removed, or gone on from this checkpoint by another record meanwhile: the
        // chain continues (or ended) without this record.
        Err(err) if crate::db::condition_failed(&err) => Ok(()),
        Err(err) => Err(err.into()),
    }
}

/// Conditions `update` of the USER item on its purge being where `image` saw it: soft-deleted,
/// pending `image`'s operation, at `image`'s checkpoint; `and` adds to that condition.
fn if_still_at(
    update: UpdateItemFluentBuilder,
    image: &UserImage,
    and: &str,
) -> UpdateItemFluentBuilder {
    let at_checkpoint = match image.purge_rounds {
        0 => "attribute_not_exists(purgeRounds)",
        _ => "purgeRounds = :rounds",
    };
    let update = update
        .condition_expression(format!(
            "#state = :deleted AND purgeState = :pending AND purgeOperation = :operation \
             AND {at_checkpoint}{and}"
        ))
        .expression_attribute_names("#state", "state")
        .expression_attribute_values(":deleted", s("soft-deleted"))
        .expression_attribute_values(":pending", s(PURGE_PENDING))
        .expression_attribute_values(":operation", s(&image.purge_operation));
    match image.purge_rounds {
        0 => update,
        rounds => update.expression_attribute_values(":rounds", n(rounds)),
    }
}

/// The USER item as stored now (strongly consistent), with the purge's progress stamps.
async fn current_user(
    state: &State,
    user_pk: &str,
) -> Result<HashMap<String, AttributeValue>, ApiError> {
    let out = crate::db::get_item(state)
        .key(table::PK, s(user_pk))
        .key(table::SK, s(table::SK_USER))
        .projection_expression(
            "PK, SK, #state, purgeState, purgeOperation, purgeRounds, deletedAt, purgeUpdatedAt, \
             purgeRedrivenAt",
        )
        .expression_attribute_names("#state", "state")
        .consistent_read(true)
        .send()
        .await?;
    Ok(out.item.unwrap_or_default())
}

fn image_of(item: &HashMap<String, AttributeValue>) -> UserImage {
    UserImage::from_strings(|name| {
        let value = item.get(name)?;
        value.as_s().or_else(|_| value.as_n()).ok().cloned()
    })
}

// ---- what a purge removes -------------------------------------------------------------------

/// How much of what refers to a user from other partitions a purge removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Others {
    /// A soft delete: other users' blocklist entries naming the user are the blockers' data
    /// and stay (a restored user is still blocked by whoever blocked them).
    KeepTheirBlocks,
    /// A test user removed for good (its ID may be registered again): nothing stays.
    RemoveAll,
}

/// How far one run of [`purge_user_data`] got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Purged {
    /// Items deleted (the user's own and their mirrors elsewhere).
    pub removed: usize,
    /// Everything is gone (only the USER item is left); otherwise the deadline stopped it.
    pub finished: bool,
}

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
    let key = |pk: String, sk: String| db::key(pk, sk);
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
/// (test-user removal), which also deletes those, found through the `EDGES` index.
///
/// Page by page: a page's items elsewhere go first, then the page's own items, so a purge cut
/// short (by `deadline`, a timeout or a failure) finds the rest again when it runs again. No
/// page starts once `deadline` says so, the first included (then nothing is done at all).
pub async fn purge_user_data(
    state: &State,
    app_key: &str,
    user_id: &str,
    others: Others,
    deadline: Deadline,
) -> Result<Purged, ApiError> {
    let out_of_time = |removed| Purged {
        removed,
        finished: false,
    };
    if !deadline.may_start_page() {
        return Ok(out_of_time(0));
    }
    // The hosted profile leaves the profile list's counts too, not only the table.
    let mut removed = usize::from(crate::profiles::remove(state, app_key, user_id).await?);
    // So do the ban and the mute, from their lists' counts.
    crate::moderation::forget(state, app_key, user_id).await?;
    let pk = table::user_pk(app_key, user_id);
    let mut start = None;
    loop {
        let out = crate::db::query(state)
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(":pk", s(&pk))
            .projection_expression("PK, SK")
            .consistent_read(true)
            .limit(PURGE_PAGE)
            .set_exclusive_start_key(start)
            .send()
            .await?;
        let own: Vec<Key> = out
            .items
            .unwrap_or_default()
            .iter()
            .filter(|item| {
                item.get(table::SK)
                    .and_then(|v| v.as_s().ok())
                    .map(String::as_str)
                    != Some(table::SK_USER)
            })
            .filter_map(db::key_of)
            .collect();
        removed += purge_page(state, app_key, user_id, own).await?;
        start = out.last_evaluated_key;
        if start.is_none() {
            break;
        }
        if !deadline.may_start_page() {
            return Ok(out_of_time(removed));
        }
    }
    if others == Others::RemoveAll {
        removed += remove_blocks_of(state, &pk).await?;
    }
    Ok(Purged {
        removed,
        finished: true,
    })
}

/// Deletes a page of the user's own items after what they mirror elsewhere; answers how many
/// items went.
async fn purge_page(
    state: &State,
    app_key: &str,
    user_id: &str,
    own: Vec<Key>,
) -> Result<usize, ApiError> {
    let mut friend_edges = Vec::new();
    let mut plain = Vec::new();
    for key in &own {
        let sk = key.get(table::SK).and_then(|v| v.as_s().ok());
        match sk.and_then(|sk| mirror_of(app_key, user_id, sk)) {
            Some(Mirror::FriendEdge(edge)) => friend_edges.push(edge),
            Some(Mirror::Plain(item)) => plain.push(item),
            None => {}
        }
    }
    let removed = own.len() + friend_edges.len() + plain.len();
    delete_all(state, plain).await?;
    futures::stream::iter(friend_edges)
        .map(|key| delete_counted_edge(state, key, table::SK_FRIEND_COUNT))
        .buffer_unordered(PURGE_CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
    delete_all(state, own).await?;
    Ok(removed)
}

/// Other users' blocks of `user_pk` (test-user removal only), through the `EDGES` index: a block
/// has no mirror in the blocked user's partition, so this is the one eventually consistent read
/// of a purge; the index is read until it is empty.
async fn remove_blocks_of(state: &State, user_pk: &str) -> Result<usize, ApiError> {
    let mut removed = 0;
    for attempt in 0..50 {
        if attempt > 0 {
            tokio::time::sleep(crate::db::backoff(attempt)).await;
        }
        let out = crate::db::query(state)
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
            return Ok(removed);
        }
        for block in &blocks {
            if let (Some(key), Some(counter)) =
                (db::key_of(block), db::text(block, crate::edges::COUNTED_IN))
            {
                delete_counted_edge(state, key, counter).await?;
                removed += 1;
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
        .build()?;
    let decrement = Update::builder()
        .table_name(&state.table)
        .key(table::PK, edge_pk)
        .key(table::SK, s(counter_sk))
        .update_expression("ADD #count :minus")
        .condition_expression("attribute_exists(PK)")
        .expression_attribute_names("#count", crate::edges::COUNT)
        .expression_attribute_values(":minus", n(-1))
        .build()?;
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
    // Only failed conditions mean "already gone"; a conflict or throttling is retried with
    // backoff, and what still fails is an error (the stream delivers the record again).
    let items = vec![
        TransactWriteItem::builder().delete(delete).build(),
        TransactWriteItem::builder().update(update).build(),
    ];
    Ok(crate::db::transact(state, items).await?.is_none())
}

/// Deletes the items, 25 per `BatchWriteItem`.
async fn delete_all(state: &State, keys: Vec<Key>) -> Result<(), ApiError> {
    let writes = keys.into_iter().map(db::delete).collect::<Result<_, _>>()?;
    db::write_all(state, writes).await
}

// ---- the sweeper ----------------------------------------------------------------------------

/// How long a purge may show no progress before the sweeper re-drives it. Its live invocations
/// checkpoint at least every few minutes (a Lambda runs 300 s at most), so a purge this quiet has
/// lost its record, or its record waits in a backlog; a re-drive is safe in either case.
pub const STUCK_AFTER: Duration = Duration::from_secs(15 * 60);
/// What one sweep did, and the purge backlog it counted on the way (its census).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Swept {
    /// Operations older than the cut-off looked at.
    pub operations: usize,
    /// Users whose purge's record was sent again.
    pub redriven: usize,
    /// Users whose result was recorded late (their purge finished, or they were removed).
    pub settled: usize,
    /// Operations with no pending user left, whose tickets were deleted.
    pub finished: usize,
    /// Users of soft deletes whose purge has not finished (as their operations record them).
    pub pending_users: usize,
    /// The age of the oldest soft delete with such a user, in seconds (0: none).
    pub oldest_pending_seconds: u64,
    /// Whether the census read every ticket (a sweep the deadline cut short counted part of the
    /// backlog only).
    pub census_complete: bool,
    /// When the oldest soft delete with a pending user was made (ms).
    #[serde(skip)]
    oldest_pending_at: Option<i64>,
}

impl std::ops::AddAssign for Swept {
    fn add_assign(&mut self, other: Self) {
        self.operations += other.operations;
        self.redriven += other.redriven;
        self.settled += other.settled;
        self.finished += other.finished;
        self.pending_users += other.pending_users;
        self.oldest_pending_at = match (self.oldest_pending_at, other.oldest_pending_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
}

impl Swept {
    /// The census as taken at `now_ms`, `complete` if every ticket was read.
    fn counted(self, now_ms: i64, complete: bool) -> Self {
        let age_ms = self.oldest_pending_at.map_or(0, |at| (now_ms - at).max(0));
        Self {
            oldest_pending_seconds: u64::try_from(age_ms / 1000).unwrap_or(0),
            census_complete: complete,
            ..self
        }
    }

    /// The age of the oldest soft delete whose purge has not finished, if any.
    pub fn oldest_pending(&self) -> Option<Duration> {
        (self.pending_users > 0).then(|| Duration::from_secs(self.oldest_pending_seconds))
    }
}

/// Re-drives every purge that has shown no progress for `stuck_after`: each pending user of an
/// older soft-delete operation whose USER item is still pending gets its current checkpoint's
/// stream record again ([`redrive`]); results a purge finished but could not record are
/// recorded. On the way it counts the backlog (every ticket's operation: its users still
/// pending, and the oldest soft delete with any), and forgets an operation with none pending at
/// once, whatever its age. Safe to run at any time and more than once: everything it decides is
/// read strongly consistently, a re-sent record never forks the purge's chain, and the purge is
/// idempotent. `app_key` limits it to one app's operations. No page of tickets starts past
/// `deadline` (the invocation's first always does).
pub async fn sweep(
    state: &State,
    stuck_after: Duration,
    app_key: Option<&str>,
    deadline: Deadline,
) -> Result<Swept, ApiError> {
    let now = state.clock.now_ms();
    let cutoff = now - stuck_after.as_millis() as i64;
    let mut swept = Swept::default();
    for shard in TICKET_SHARDS.chars() {
        let mut start = None;
        loop {
            if !deadline.may_start_page() {
                return Ok(swept.counted(now, false));
            }
            // Every ticket, oldest first: the census needs the young ones too.
            let mut query = crate::db::query(state)
                .key_condition_expression("PK = :pk")
                .expression_attribute_values(":pk", s(PurgeTicket::shard_pk(shard)))
                .consistent_read(true)
                .limit(100)
                .set_exclusive_start_key(start);
            if let Some(app_key) = app_key {
                query = query
                    .filter_expression("appKey = :app")
                    .expression_attribute_values(":app", s(app_key));
            }
            let out = query.send().await?;
            for ticket in out.items.unwrap_or_default() {
                swept += sweep_operation(state, &ticket, cutoff).await?;
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
    }
    Ok(swept.counted(now, true))
}

/// When a ticket's soft delete was made: its sort key starts with it ([`PurgeTicket`]). An
/// unreadable one counts as old, so the sweeper looks at its operation rather than never.
fn ticket_time(ticket: &HashMap<String, AttributeValue>) -> i64 {
    db::text(ticket, table::SK)
        .and_then(|sk| sk.split('#').next())
        .and_then(|ms| ms.parse().ok())
        .unwrap_or(0)
}

/// One ticket: counts its operation's users still pending; past the cut-off, re-drives those
/// whose purge shows no progress and records the results of those no longer pending; deletes
/// the ticket once no user is pending.
async fn sweep_operation(
    state: &State,
    ticket: &HashMap<String, AttributeValue>,
    cutoff: i64,
) -> Result<Swept, ApiError> {
    let PurgeTicket {
        app_key,
        operation_id,
        ..
    } = PurgeTicket::from_item(ticket.clone())?;
    let made_at = ticket_time(ticket);
    let old = made_at < cutoff;
    let pending: Vec<String> = match operations::get_operation(state, &app_key, &operation_id).await
    {
        Ok(operation) => operation
            .users
            .into_iter()
            .filter(|user| user.status == PURGE_PENDING)
            .map(|user| user.user_id)
            .collect(),
        Err(ApiError::NotFound(_)) if old => Vec::new(),
        // The ticket and the record are written in one batch, not one transaction: a young
        // ticket may be read before its record lands, and is kept.
        Err(ApiError::NotFound(_)) => return Ok(Swept::default()),
        Err(err) => return Err(err),
    };
    let mut swept = Swept::default();
    let mut settled = Vec::new();
    if old {
        swept.operations = 1;
        for user_id in &pending {
            let user = current_user(state, &table::user_pk(&app_key, user_id)).await?;
            let image = image_of(&user);
            if image.needs_purge() && image.purge_operation == operation_id {
                let number = |name: &str| {
                    user.get(name)
                        .and_then(|v| v.as_n().ok())
                        .and_then(|v| v.parse::<i64>().ok())
                        .unwrap_or(0)
                };
                let last_progress = ["deletedAt", "purgeUpdatedAt", "purgeRedrivenAt"]
                    .into_iter()
                    .map(number)
                    .max()
                    .unwrap_or(0);
                if last_progress < cutoff && redrive(state, &image, cutoff).await? {
                    tracing::warn!(app_key, user_id, operation_id, "re-drove a stuck purge");
                    swept.redriven += 1;
                }
            } else {
                // Not pending this operation's purge any more: it finished (and the report was
                // lost), or the console removed the user meanwhile. Either way its data is gone.
                settled.push(UserResult::new(user_id, PURGE_DONE, None));
            }
        }
        swept.settled = settled.len();
        operations::set_results(state, &app_key, &operation_id, &settled).await?;
    }
    let still_pending = pending.len() - settled.len();
    if still_pending > 0 {
        swept.pending_users = still_pending;
        swept.oldest_pending_at = Some(made_at);
        return Ok(swept);
    }
    let key =
        db::key_of(ticket).ok_or_else(|| ApiError::Internal("a ticket without a key".into()))?;
    crate::db::delete_item(state)
        .set_key(Some(key))
        .send()
        .await?;
    swept.finished = 1;
    Ok(swept)
}

/// Sends the record of a purge that has shown no progress since `cutoff` again: sets
/// `purgeRedrivenAt` and leaves the checkpoint as it is, so the new record is the same link of
/// the chain as one that may still wait in a backlog; whichever arrives first goes on, the other
/// finds the chain past it. Written only if the purge is still at the checkpoint the sweeper
/// read and no one re-drove it since `cutoff`, so sweeps running at once re-drive it once;
/// answers whether this one did.
async fn redrive(state: &State, image: &UserImage, cutoff: i64) -> Result<bool, ApiError> {
    let update = crate::db::update_item(state)
        .key(table::PK, s(&image.pk))
        .key(table::SK, s(table::SK_USER))
        .update_expression("SET purgeRedrivenAt = :now")
        .expression_attribute_values(":now", n(state.clock.now_ms()))
        .expression_attribute_values(":cutoff", n(cutoff));
    let not_redriven_since =
        " AND (attribute_not_exists(purgeRedrivenAt) OR purgeRedrivenAt < :cutoff)";
    match if_still_at(update, image, not_redriven_since).send().await {
        Ok(_) => Ok(true),
        // It progressed, finished, or another sweep re-drove it since it was read.
        Err(err) if crate::db::condition_failed(&err) => Ok(false),
        Err(err) => Err(err.into()),
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
            purge_rounds: 0,
        };
        assert!(image("USER", "soft-deleted", "pending").needs_purge());
        assert!(!image("USER", "soft-deleted", "done").needs_purge());
        assert!(!image("USER", "active", "").needs_purge());
        assert!(!image("PROFILE", "soft-deleted", "pending").needs_purge());
        assert!(!image("USER", "soft-deleted", "console").needs_purge());
    }

    #[test]
    fn a_deadline_keeps_its_reserve_and_none_never_passes() {
        assert!(!Deadline::none().passed());
        assert!(Deadline::within(Duration::from_secs(30), PURGE_RESERVE).passed());
        assert!(!Deadline::within(Duration::from_secs(120), PURGE_RESERVE).passed());
        assert!(Deadline::from_lambda(0).passed());
    }

    #[test]
    fn past_its_deadline_an_invocation_starts_its_first_page_only() {
        let spent = Deadline::within(Duration::ZERO, PURGE_RESERVE);
        let next_record = spent.clone();
        assert!(spent.may_start_page(), "every invocation progresses");
        assert!(!spent.may_start_page());
        assert!(
            !next_record.may_start_page(),
            "the batch shares the first page"
        );
        let ample = Deadline::within(Duration::from_secs(120), PURGE_RESERVE);
        assert!(ample.may_start_page() && ample.may_start_page());
        let none = Deadline::none();
        assert!(none.may_start_page() && none.may_start_page());
    }

    #[test]
    fn a_census_adds_pending_users_and_keeps_the_oldest_soft_delete() {
        let ticket = PurgeTicket {
            app_key: "k".into(),
            operation_id: "0abc".into(),
            created_at: 1_764_000_000_000,
        }
        .item()
        .expect("ticket");
        assert_eq!(ticket_time(&ticket), 1_764_000_000_000);
        assert_eq!(ticket_time(&HashMap::new()), 0, "unreadable: old");

        let pending = |users, at| Swept {
            pending_users: users,
            oldest_pending_at: Some(at),
            ..Swept::default()
        };
        let mut swept = Swept {
            finished: 1,
            ..Swept::default()
        };
        swept += pending(2, 9_000);
        swept += pending(1, 4_000);
        swept += Swept::default();
        let counted = swept.counted(10_500, true);
        assert_eq!(
            (counted.pending_users, counted.oldest_pending_seconds),
            (3, 6)
        );
        assert_eq!(counted.oldest_pending(), Some(Duration::from_secs(6)));
        let json = serde_json::to_value(counted).expect("json");
        assert_eq!(json["pendingUsers"], 3);
        assert_eq!(json["oldestPendingSeconds"], 6);
        assert_eq!(json["censusComplete"], true);
        let none = Swept::default().counted(10_500, true);
        assert_eq!(
            (none.oldest_pending_seconds, none.oldest_pending()),
            (0, None)
        );
    }

    #[test]
    fn a_record_goes_on_only_at_the_stored_checkpoint_of_its_operation() {
        let image = |operation: &str, rounds: u64| UserImage {
            pk: "APP#k#U#u".into(),
            sk: "USER".into(),
            state: "soft-deleted".into(),
            purge_state: "pending".into(),
            purge_operation: operation.into(),
            purge_rounds: rounds,
        };
        assert!(image("op", 2).is_current_in(&image("op", 2)));
        assert!(!image("op", 1).is_current_in(&image("op", 2)));
        assert!(!image("op", 2).is_current_in(&image("later", 2)));
        let finished = UserImage {
            purge_state: "done".into(),
            ..image("op", 2)
        };
        assert!(!image("op", 2).is_current_in(&finished));
        let read = |name: &str| (name == "purgeRounds").then(|| "3".to_owned());
        assert_eq!(UserImage::from_strings(read).purge_rounds, 3);
    }
}
