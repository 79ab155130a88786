//! The sweeper: on its EventBridge schedule, re-drives every purge of soft-deleted users that has
//! shown no progress for [`STUCK_AFTER`] (its stream record lost, or its batch given up on after
//! its retries), and records results a purge finished without recording. Invoked by hand with
//! `{"stuckAfterSeconds": 0}` it re-drives every pending purge at once (the documented re-drive
//! of the purge failure queue); `"appKey"` limits it to one app. Each run also counts the purge
//! backlog (users pending, the oldest soft delete's age) for the metrics and its answer.

use std::time::Duration;

use serde_json::{Value, json};
use shared::State;
use shared::purge::{self, Deadline, STUCK_AFTER};

/// How long a purge must have shown no progress: the event's `stuckAfterSeconds` (a manual
/// invocation), else [`STUCK_AFTER`] (the schedule's event has no such field).
pub fn stuck_after(event: &Value) -> Duration {
    event["stuckAfterSeconds"]
        .as_u64()
        .map(Duration::from_secs)
        .unwrap_or(STUCK_AFTER)
}

/// One sweep: answers what it did and the backlog it counted (`pendingUsers`,
/// `oldestPendingSeconds`), or the error (the schedule runs it again anyway). A sweep of every
/// app sets the purge backlog's metrics; one limited to an app (`"appKey"`) counted that app
/// only, and leaves them.
pub async fn handle(state: &State, event: &Value, deadline: Deadline) -> Value {
    shared::metrics::invoked(&state.cold_start, "sweep-stuck-purges");
    let app_key = event["appKey"].as_str();
    match purge::sweep(state, stuck_after(event), app_key, deadline).await {
        Ok(swept) => {
            if !swept.census_complete {
                tracing::warn!(
                    ?swept,
                    "the sweep ran out of time: the backlog is larger than counted"
                );
            }
            if app_key.is_none() {
                shared::metrics::purge_backlog(swept.pending_users as u64, swept.oldest_pending());
            }
            tracing::info!(?swept, "sweep done");
            json!(swept)
        }
        Err(err) => {
            tracing::error!(error = ?err, "sweep failed");
            json!({ "error": err.to_string() })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_invocation_may_shorten_the_wait() {
        let scheduled = json!({"source": "aws.scheduler", "detail-type": "Scheduled Event"});
        assert_eq!(stuck_after(&scheduled), STUCK_AFTER);
        assert_eq!(
            stuck_after(&json!({"stuckAfterSeconds": 0})),
            Duration::ZERO
        );
        assert_eq!(stuck_after(&json!({"stuckAfterSeconds": "x"})), STUCK_AFTER);
    }
}
