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

mod removal;
mod sweeper;
#[cfg(test)]
mod tests;

pub use removal::*;
pub use sweeper::*;
