//! The sender: one queued attempt of one event. It signs the stored body both ways, posts it
//! (5 s, guarded destinations), records the attempt, and queues the next one by the retry
//! schedule, or marks the event failed once the schedule is spent. A message that is not due
//! yet goes back to the queue with what is left of its delay (SQS holds a message 15 minutes at
//! most); a stale one (its attempt already made) is dropped. Each attempt also carries the
//! request id of the call whose change made the event (`X-Request-ID`), and is counted by its
//! outcome (`crate::metrics`).

use std::time::Duration;

use serde_json::{Value, json};

use crate::apps::{self, AppSettings};
use crate::error::ApiError;
use crate::items::{AttemptRecord, WebhookDelivery};
use crate::metrics::{self, Attempt as Outcome};
use crate::queue::QueuedDelivery;
use crate::state::State;
use crate::webhooks::deliveries::{self, Claim, DELIVERED, FAILED, PENDING};
use crate::webhooks::post::{Attempt, Poster};
use crate::webhooks::sign;

/// How long a receiver has to answer.
pub const TIMEOUT: Duration = Duration::from_secs(5);
/// A message due within this much is attempted now.
const EARLY_MS: i64 = 1000;

/// Handles a batch of queue messages (SQS's `{"Records": [...]}`); answers the failed ones'
/// message IDs, which the queue delivers again (and, after its receive limit, dead-letters).
pub async fn handle(state: &State, poster: &Poster, batch: &Value) -> Value {
    let records = batch["Records"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let attempts = records.iter().map(|record| async move {
        let message_id = record["messageId"].as_str().unwrap_or_default();
        let outcome = match serde_json::from_str::<QueuedDelivery>(
            record["body"].as_str().unwrap_or_default(),
        ) {
            Ok(message) => deliver(state, poster, message).await,
            // Nothing can ever make it readable: dropped, and said so.
            Err(err) => {
                tracing::error!(message_id, error = %err, "unreadable webhook message dropped");
                Ok(())
            }
        };
        outcome.err().map(|err| {
            match err {
                ApiError::Busy => tracing::info!(message_id, "webhook attempt busy elsewhere"),
                err => tracing::error!(message_id, error = %err, "webhook delivery failed"),
            }
            json!({ "itemIdentifier": message_id })
        })
    });
    let failures: Vec<Value> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .flatten()
        .collect();
    json!({ "batchItemFailures": failures })
}

/// One queued attempt.
pub async fn deliver(
    state: &State,
    poster: &Poster,
    message: QueuedDelivery,
) -> Result<(), ApiError> {
    let now = state.clock.now_ms();
    if message.due_at > now + EARLY_MS {
        let delay = message.delay_from(now);
        return state.webhooks.queue().send(vec![(message, delay)]).await;
    }
    let (claim, app) = tokio::try_join!(
        deliveries::claim(
            state,
            &message.app_key,
            &message.event_id,
            message.attempt,
            now
        ),
        apps::fetch(state, &message.app_key),
    )?;
    let delivery = match claim {
        Claim::Claimed(delivery) => *delivery,
        // Another copy of this message is making the attempt, or queued it before recording
        // the last one: this copy comes back later and finds out which.
        Claim::Busy => return Err(ApiError::Busy),
        Claim::Stale | Claim::Missing => return Ok(()),
    };
    let url = app
        .as_ref()
        .and_then(|app| app.settings.webhook_url.clone());
    let attempt = match (&app, url) {
        (Some(app), Some(url)) => {
            let body = delivery.body.clone().into_bytes();
            match sign::sign(
                &url,
                &app.app_key,
                &app.app_secret,
                &webhook_secrets(&app.settings, now),
                &delivery.event_id,
                &body,
                now,
            ) {
                Ok(mut signed) => {
                    signed.headers.extend(request_id_header(&delivery));
                    poster
                        .post(&signed.url, &signed.headers, body, TIMEOUT)
                        .await
                }
                Err(err) => not_sent(format!("cannot sign: {err}")),
            }
        }
        _ => not_sent("the app has no webhook URL now".to_owned()),
    };
    let retry_delay = match attempt.delivered() {
        true => None,
        false => state.webhooks.retry_delay(message.retry),
    };
    let (status, outcome) = match (attempt.delivered(), retry_delay) {
        (true, _) => (DELIVERED, Outcome::Delivered),
        (false, Some(_)) => (PENDING, Outcome::Retry),
        (false, None) => (FAILED, Outcome::Failed),
    };
    let first_success = attempt.delivered() && !delivered_before(&delivery);
    let since_commit = first_success
        .then(|| Duration::from_millis(u64::try_from(now - delivery.created_at).unwrap_or(0)));
    metrics::webhook_attempt(outcome, since_commit);
    let next_at = retry_delay.map(|delay| now + delay.as_millis() as i64);
    let record = AttemptRecord {
        at: now,
        status_code: attempt.status_code,
        latency_ms: attempt.latency_ms,
        error: attempt.error.clone(),
    };
    tracing::info!(
        event = %delivery.event_id,
        attempt = delivery.attempts + 1,
        status_code = attempt.status_code,
        latency_ms = attempt.latency_ms,
        error = attempt.error.as_deref().unwrap_or(""),
        status,
        "webhook attempt"
    );
    // The next attempt is queued before this one is recorded: if recording fails, this message
    // comes again and the attempt is made again, so no failure can end the chain.
    if let (Some(due_at), Some(delay)) = (next_at, retry_delay) {
        let next = QueuedDelivery {
            attempt: message.attempt + 1,
            retry: message.retry + 1,
            due_at,
            ..message
        };
        state
            .webhooks
            .queue()
            .send(vec![(next, delay.min(crate::queue::MAX_DELAY))])
            .await?;
    }
    deliveries::record_attempt(state, &delivery, record, status, next_at).await?;
    Ok(())
}

/// The secrets a delivery at `now_ms` is signed with: the current one, then, until the overlap
/// of the last rotation ends, the one it replaced (receivers still holding it keep verifying).
fn webhook_secrets(settings: &AppSettings, now_ms: i64) -> Vec<&str> {
    let previous = settings
        .previous_webhook_secret
        .as_deref()
        .filter(|secret| !secret.is_empty())
        .filter(|_| {
            settings
                .previous_webhook_secret_until
                .is_some_and(|until| now_ms < until)
        });
    std::iter::once(settings.webhook_secret.as_str())
        .chain(previous)
        .collect()
}

/// The `X-Request-ID` header of a delivery: the request id of the call whose change made the
/// event. It is outside both signatures (they cover the body, `webhook-id` and the timestamp),
/// so they stay Nexconn's and Standard Webhooks' own. A value no header may hold (request ids
/// are visible ASCII: never) is left out rather than failing every attempt.
fn request_id_header(delivery: &WebhookDelivery) -> Option<(&'static str, String)> {
    let id = delivery.request_id.as_deref()?;
    hyper::header::HeaderValue::from_str(id).ok()?;
    Some(("x-request-id", id.to_owned()))
}

/// Whether an earlier round delivered the event: a replay of a delivered event is not its first
/// success. Read from the attempts its history keeps (the first
/// [`crate::items::MAX_ATTEMPT_RECORDS`], over five rounds: a success after that many failed
/// attempts is not seen there).
fn delivered_before(delivery: &WebhookDelivery) -> bool {
    delivery
        .history
        .iter()
        .any(|record| crate::outbound::post::accepted(record.status_code))
}

fn not_sent(reason: String) -> Attempt {
    Attempt {
        status_code: None,
        latency_ms: 0,
        error: Some(reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(request_id: Option<&str>, history: &[Option<u16>]) -> WebhookDelivery {
        WebhookDelivery {
            app_key: "k".into(),
            event_id: "e".into(),
            event_type: "user:profile_update".into(),
            body: "{}".into(),
            status: PENDING.into(),
            attempts: history.len() as u32,
            created_at: 1,
            last_status_code: None,
            last_attempt_at: None,
            next_attempt_at: None,
            history: history
                .iter()
                .map(|&status_code| AttemptRecord {
                    at: 1,
                    status_code,
                    latency_ms: 1,
                    error: None,
                })
                .collect(),
            ttl: 1,
            request_id: request_id.map(str::to_owned),
        }
    }

    #[test]
    fn the_request_id_header_is_sent_only_when_a_header_can_hold_it() {
        assert_eq!(
            request_id_header(&delivery(Some("req-abc"), &[])),
            Some(("x-request-id", "req-abc".to_owned()))
        );
        assert_eq!(request_id_header(&delivery(None, &[])), None);
        assert_eq!(request_id_header(&delivery(Some("a\nb"), &[])), None);
    }

    #[test]
    fn a_replayed_delivered_event_is_no_first_success() {
        assert!(!delivered_before(&delivery(None, &[])));
        assert!(!delivered_before(&delivery(
            None,
            &[None, Some(500), Some(302)]
        )));
        assert!(delivered_before(&delivery(None, &[Some(500), Some(204)])));
    }

    #[test]
    fn the_replaced_secret_signs_too_until_its_overlap_ends() {
        let settings = AppSettings {
            webhook_secret: "whsec_new".into(),
            previous_webhook_secret: Some("whsec_old".into()),
            previous_webhook_secret_until: Some(1_000),
            ..AppSettings::default()
        };
        assert_eq!(webhook_secrets(&settings, 999), ["whsec_new", "whsec_old"]);
        assert_eq!(webhook_secrets(&settings, 1_000), ["whsec_new"]);
        let never_rotated = AppSettings {
            webhook_secret: "whsec_new".into(),
            ..AppSettings::default()
        };
        assert_eq!(webhook_secrets(&never_rotated, 0), ["whsec_new"]);
        // An app that had no secret before its rotation has none to keep.
        let had_none = AppSettings {
            previous_webhook_secret: Some(String::new()),
            ..settings
        };
        assert_eq!(webhook_secrets(&had_none, 0), ["whsec_new"]);
    }
}
