//! The delivery log: one item per event (`items::WebhookDelivery`) holding the body every attempt
//! sends, its status and every attempt, kept 7 days; listed newest first; replayed on demand.

use serde::Serialize;

use crate::db::{self, n, s};
use crate::error::ApiError;
use crate::items::{AttemptRecord, Kind as _, MAX_ATTEMPT_RECORDS, WebhookDelivery};
use crate::queue::QueuedDelivery;
use crate::state::State;
use crate::webhooks::events::Event;

pub const PENDING: &str = "pending";
pub const DELIVERED: &str = "delivered";
pub const FAILED: &str = "failed";
/// How long the log keeps an event.
pub const KEEP_MS: i64 = 7 * 24 * 3600 * 1000;
/// Events one replay call may name.
pub const MAX_REPLAY_IDS: usize = 100;
/// Deliveries per page: default and most.
pub const DEFAULT_PAGE_SIZE: usize = 50;
pub const MAX_PAGE_SIZE: u32 = 100;

/// Records an event (a repeated stream record finds it recorded and changes nothing) and answers
/// the queue message of its first attempt.
pub async fn record(state: &State, event: &Event, now_ms: i64) -> Result<QueuedDelivery, ApiError> {
    let item = WebhookDelivery {
        app_key: event.app_key.clone(),
        event_id: event.id.clone(),
        event_type: event.kind.name().to_owned(),
        body: event.body(),
        status: PENDING.to_owned(),
        attempts: 0,
        created_at: event.time,
        last_status_code: None,
        last_attempt_at: None,
        next_attempt_at: Some(now_ms),
        history: Vec::new(),
        ttl: (event.time.max(now_ms) + KEEP_MS).div_euclid(1000),
    }
    .item()?;
    match db::put_item(state)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(PK)")
        .send()
        .await
    {
        Ok(_) => {}
        Err(err) if db::condition_failed(&err) => {}
        Err(err) => return Err(err.into()),
    }
    Ok(QueuedDelivery {
        app_key: event.app_key.clone(),
        event_id: event.id.clone(),
        attempt: 0,
        retry: 0,
        due_at: now_ms,
    })
}

/// A stored delivery of `app_key` (the key is not among its attributes).
fn delivery_of(app_key: &str, item: db::Item) -> Result<WebhookDelivery, ApiError> {
    let mut delivery = WebhookDelivery::from_item(item)?;
    delivery.app_key = app_key.to_owned();
    Ok(delivery)
}

/// The delivery of an event, read strongly consistently.
pub async fn get(
    state: &State,
    app_key: &str,
    event_id: &str,
) -> Result<Option<WebhookDelivery>, ApiError> {
    let out = db::get_item(state)
        .set_key(Some(WebhookDelivery::key_of(app_key, event_id)))
        .consistent_read(true)
        .send()
        .await?;
    out.item.map(|item| delivery_of(app_key, item)).transpose()
}

/// How long a sender holds an attempt it claimed (its 5 s, with room).
const CLAIM_MS: i64 = 15_000;

/// What a sender finds when it claims an attempt.
#[derive(Debug)]
pub enum Claim {
    /// Its to make: the delivery as it stands.
    Claimed(WebhookDelivery),
    /// Being made by another sender (a duplicate message), or queued by an attempt whose
    /// record has not landed: try later.
    Busy,
    /// Made already, or overtaken by a replay, or the event is settled: nothing to do.
    Stale,
    /// Not in the log (expired).
    Missing,
}

/// Claims attempt `attempt` of an event, so that copies of its message (the queue delivers at
/// least once) do not post it again: one `UpdateItem` that also reads the delivery.
pub async fn claim(
    state: &State,
    app_key: &str,
    event_id: &str,
    attempt: u32,
    now_ms: i64,
) -> Result<Claim, ApiError> {
    use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
    use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};
    let result = db::update_item(state)
        .set_key(Some(WebhookDelivery::key_of(app_key, event_id)))
        .update_expression("SET claimedUntil = :until")
        .condition_expression(
            "attempts = :attempt AND #status = :pending AND \
             (attribute_not_exists(claimedUntil) OR claimedUntil < :now)",
        )
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":attempt", n(attempt))
        .expression_attribute_values(":pending", s(PENDING))
        .expression_attribute_values(":now", n(now_ms))
        .expression_attribute_values(":until", n(now_ms + CLAIM_MS))
        .return_values(ReturnValue::AllNew)
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await;
    match result {
        Ok(out) => match out.attributes {
            Some(item) => Ok(Claim::Claimed(delivery_of(app_key, item)?)),
            None => Err(ApiError::Internal("the claim returned no item".into())),
        },
        Err(err) => match err.as_service_error() {
            Some(UpdateItemError::ConditionalCheckFailedException(failed)) => {
                let Some(item) = failed.item().cloned() else {
                    return Ok(Claim::Missing);
                };
                let delivery = delivery_of(app_key, item)?;
                let pending = delivery.status == PENDING;
                if pending && (delivery.attempts == attempt || delivery.attempts + 1 == attempt) {
                    Ok(Claim::Busy)
                } else {
                    Ok(Claim::Stale)
                }
            }
            _ => Err(err.into()),
        },
    }
}

/// Records attempt number `delivery.attempts + 1` and the status it leaves, on the condition that
/// no other attempt was recorded meanwhile; `false` if one was (this one is a duplicate).
pub async fn record_attempt(
    state: &State,
    delivery: &WebhookDelivery,
    attempt: AttemptRecord,
    status: &str,
    next_attempt_at: Option<i64>,
) -> Result<bool, ApiError> {
    let mut sets = vec![
        "attempts = :next",
        "#status = :status",
        "lastAttemptAt = :at",
    ];
    let mut request = db::update_item(state)
        .set_key(Some(WebhookDelivery::key_of(
            &delivery.app_key,
            &delivery.event_id,
        )))
        .condition_expression("attempts = :attempts")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":attempts", n(delivery.attempts))
        .expression_attribute_values(":next", n(delivery.attempts + 1))
        .expression_attribute_values(":status", s(status))
        .expression_attribute_values(":at", n(attempt.at));
    let mut removes = vec!["claimedUntil"];
    match attempt.status_code {
        Some(code) => {
            sets.push("lastStatusCode = :code");
            request = request.expression_attribute_values(":code", n(code));
        }
        None => removes.push("lastStatusCode"),
    }
    match next_attempt_at {
        Some(at) => {
            sets.push("nextAttemptAt = :due");
            request = request.expression_attribute_values(":due", n(at));
        }
        None => removes.push("nextAttemptAt"),
    }
    if delivery.history.len() < MAX_ATTEMPT_RECORDS {
        sets.push("history = list_append(if_not_exists(history, :none), :one)");
        request = request
            .expression_attribute_values(
                ":none",
                aws_sdk_dynamodb::types::AttributeValue::L(vec![]),
            )
            .expression_attribute_values(":one", serde_dynamo::to_attribute_value(vec![attempt])?);
    }
    let expression = format!("SET {} REMOVE {}", sets.join(", "), removes.join(", "));
    match request.update_expression(expression).send().await {
        Ok(_) => Ok(true),
        Err(err) if db::condition_failed(&err) => Ok(false),
        Err(err) => Err(err.into()),
    }
}

/// One delivery as `/v4/ext/webhook/delivery/list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryView {
    pub event_id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub status: String,
    pub attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_status_code: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_attempt_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<i64>,
    pub created_at: i64,
}

impl From<WebhookDelivery> for DeliveryView {
    fn from(d: WebhookDelivery) -> Self {
        Self {
            event_id: d.event_id,
            event_type: d.event_type,
            next_attempt_at: d.next_attempt_at.filter(|_| d.status == PENDING),
            status: d.status,
            attempts: d.attempts,
            last_status_code: d.last_status_code,
            last_attempt_at: d.last_attempt_at,
            created_at: d.created_at,
        }
    }
}

/// The attributes a listing reads (not the bodies).
const LISTED: &str = "eventId, #type, #status, attempts, lastStatusCode, lastAttemptAt, \
                      nextAttemptAt, createdAt, #ttl";

/// One page of the app's deliveries, newest first, optionally of one status, from `start`
/// (a page token's key). Answers the page and where the next starts. A status filter reads on
/// until the page is full or the log ends, so a page is short only at the end.
pub async fn list(
    state: &State,
    app_key: &str,
    status: Option<&str>,
    page_size: usize,
    mut start: Option<db::Item>,
    now_ms: i64,
) -> Result<(Vec<DeliveryView>, Option<db::Item>), ApiError> {
    let mut page = Vec::new();
    loop {
        let mut query = db::query(state)
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(":pk", s(WebhookDelivery::pk_of(app_key)))
            .expression_attribute_values(":now", n(now_ms.div_euclid(1000)))
            .expression_attribute_names("#type", "type")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#ttl", crate::table::TTL)
            .projection_expression(LISTED)
            .scan_index_forward(false)
            .limit((page_size - page.len()) as i32)
            .set_exclusive_start_key(start.take());
        // Expired items wait for DynamoDB's TTL deletion: hidden at read time.
        let mut filter = "#ttl > :now".to_owned();
        if let Some(status) = status {
            filter.push_str(" AND #status = :status");
            query = query.expression_attribute_values(":status", s(status));
        }
        let out = query.filter_expression(filter).send().await?;
        for item in out.items.unwrap_or_default() {
            page.push(DeliveryView::from(WebhookDelivery::from_item(item)?));
        }
        start = out.last_evaluated_key;
        if page.len() >= page_size || start.is_none() {
            return Ok((page, start));
        }
    }
}

/// What to replay: named events, or every failed event since an instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replay {
    Events(Vec<String>),
    FailedSince(i64),
}

/// Sends the chosen events again (same IDs), each as a new round of attempts; answers how many.
/// Unknown or expired IDs are skipped.
pub async fn replay(
    state: &State,
    app_key: &str,
    which: Replay,
    now_ms: i64,
) -> Result<usize, ApiError> {
    let deliveries: Vec<WebhookDelivery> = match which {
        Replay::Events(ids) => {
            let reads = ids.iter().map(|id| get(state, app_key, id));
            futures::future::try_join_all(reads)
                .await?
                .into_iter()
                .flatten()
                .filter(|d| d.ttl > now_ms.div_euclid(1000))
                .collect()
        }
        Replay::FailedSince(since) => failed_since(state, app_key, since, now_ms).await?,
    };
    let restarts = deliveries
        .iter()
        .map(|delivery| restart(state, delivery, now_ms));
    let restarted = futures::future::try_join_all(restarts).await?;
    let queued: Vec<_> = deliveries
        .iter()
        .zip(restarted)
        .filter(|(_, restarted)| *restarted)
        .map(|(delivery, _)| {
            let message = QueuedDelivery {
                app_key: app_key.to_owned(),
                event_id: delivery.event_id.clone(),
                attempt: delivery.attempts,
                retry: 0,
                due_at: now_ms,
            };
            (message, std::time::Duration::ZERO)
        })
        .collect();
    let count = queued.len();
    state.webhooks.queue().send(queued).await?;
    Ok(count)
}

/// Puts a delivery back to pending as read (a delivery changed meanwhile is left to its
/// current round).
async fn restart(state: &State, delivery: &WebhookDelivery, now_ms: i64) -> Result<bool, ApiError> {
    let result = db::update_item(state)
        .set_key(Some(WebhookDelivery::key_of(
            &delivery.app_key,
            &delivery.event_id,
        )))
        .update_expression("SET #status = :pending, nextAttemptAt = :now")
        .condition_expression("attempts = :attempts")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":pending", s(PENDING))
        .expression_attribute_values(":now", n(now_ms))
        .expression_attribute_values(":attempts", n(delivery.attempts))
        .send()
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(err) if db::condition_failed(&err) => Ok(false),
        Err(err) => Err(err.into()),
    }
}

/// Every failed delivery created at or after `since` (event IDs are UUID v7, so the key range
/// starts at the first ID of that millisecond).
async fn failed_since(
    state: &State,
    app_key: &str,
    since: i64,
    now_ms: i64,
) -> Result<Vec<WebhookDelivery>, ApiError> {
    let first_id = uuid::Builder::from_unix_timestamp_millis(since.max(0) as u64, &[0; 10])
        .into_uuid()
        .hyphenated()
        .to_string();
    let mut found = Vec::new();
    let mut start = None;
    loop {
        let out = db::query(state)
            .key_condition_expression("PK = :pk AND SK >= :first")
            .filter_expression("#status = :failed AND #ttl > :now")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#ttl", crate::table::TTL)
            .expression_attribute_values(":pk", s(WebhookDelivery::pk_of(app_key)))
            .expression_attribute_values(":first", s(first_id.as_str()))
            .expression_attribute_values(":failed", s(FAILED))
            .expression_attribute_values(":now", n(now_ms.div_euclid(1000)))
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await?;
        for item in out.items.unwrap_or_default() {
            found.push(delivery_of(app_key, item)?);
        }
        start = out.last_evaluated_key;
        if start.is_none() {
            return Ok(found);
        }
    }
}
