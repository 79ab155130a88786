//! The sweeper: re-drives purges that have shown no progress, and counts the backlog.

use super::*;

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
    pub(super) oldest_pending_at: Option<i64>,
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
    pub(super) fn counted(self, now_ms: i64, complete: bool) -> Self {
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
pub(super) fn ticket_time(ticket: &HashMap<String, AttributeValue>) -> i64 {
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
