//! The delivery log: one item per event (`items::WebhookDelivery`) holding the body every attempt
//! sends, its status and every attempt, kept 7 days, in one partition per app and hour; listed
//! newest first; replayed on demand. Every read here is bounded per call (a page, or a replay's
//! share), whatever the log holds.

use aws_sdk_dynamodb::types::AttributeValue;
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;

use crate::db::{self, n, s};
use crate::error::ApiError;
use crate::items::{
    AttemptRecord, Kind as _, MAX_ATTEMPT_RECORDS, WEBHOOK_HOUR_MS, WebhookDelivery, WebhookHours,
};
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
/// Queries one listing call sends at most: a status filter that leaves a page short answers it
/// short, with a page token, rather than reading on without bound.
pub const MAX_READS_PER_PAGE: usize = 10;
/// Events one `since` replay call restarts (about: whole pages of the log are finished); the
/// answer's page token continues from there.
pub const MAX_REPLAYED_PER_CALL: usize = 1_000;
/// Deliveries one replay query evaluates, and restarts sent at once.
const REPLAY_PAGE: i32 = 100;
const RESTARTS_AT_ONCE: usize = 25;
/// A pending delivery whose attempt was due this long ago has no queue message left (SQS delays
/// 15 minutes at most, a claim holds 15 s): the message was dead-lettered, or lost with a replay
/// cut short. `since` replays it with the failed ones.
pub const STUCK_AFTER_MS: i64 = 20 * 60 * 1000;
/// An attempt's error text is kept to this many bytes (it can name every resolved address).
pub const MAX_ERROR_BYTES: usize = 300;

/// Records an event (a repeated stream record finds it recorded and changes nothing) and answers
/// the queue message of its first attempt. The event's hour is listed in the app's
/// [`WebhookHours`] beside it.
pub async fn record(state: &State, event: &Event, now_ms: i64) -> Result<QueuedDelivery, ApiError> {
    let hour = WebhookDelivery::hour_of(&event.id)
        .ok_or_else(|| ApiError::Internal(format!("event ID {} is not a UUID v7", event.id)))?;
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
        request_id: event.request_id.clone(),
    }
    .item()?;
    let put = async {
        match db::put_item(state)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(err) if db::condition_failed(&err) => Ok(()),
            Err(err) => Err(ApiError::from(err)),
        }
    };
    // An hour the log no longer keeps is not listed (the stream holds records 24 h: never).
    let listed = async {
        match hour < first_kept_hour(now_ms) {
            true => Ok(()),
            false => list_hour(state, &event.app_key, hour, now_ms).await,
        }
    };
    let (listed, put) = tokio::join!(listed, put);
    listed?;
    put?;
    Ok(QueuedDelivery {
        app_key: event.app_key.clone(),
        event_id: event.id.clone(),
        attempt: 0,
        retry: 0,
        due_at: now_ms,
    })
}

/// The first hour the log still keeps at `now_ms` (an event's TTL runs from its own time or
/// from when it was recorded, whichever is later: one hour of slack).
fn first_kept_hour(now_ms: i64) -> i64 {
    (now_ms - KEEP_MS).div_euclid(WEBHOOK_HOUR_MS) - 1
}

/// Adds `hour` to the app's [`WebhookHours`] (once per app and hour per container) and drops the
/// hours the log no longer keeps.
async fn list_hour(state: &State, app_key: &str, hour: i64, now_ms: i64) -> Result<(), ApiError> {
    if !state.webhooks.claim_hour(app_key, hour) {
        return Ok(());
    }
    let added = db::update_item(state)
        .set_key(Some(WebhookHours::key_of(app_key)))
        .update_expression("ADD hours :hour")
        .expression_attribute_values(":hour", AttributeValue::Ns(vec![hour.to_string()]))
        .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
        .send()
        .await;
    let added = match added {
        Ok(out) => out,
        Err(err) => {
            state.webhooks.release_hour(app_key, hour);
            return Err(err.into());
        }
    };
    let expired: Vec<String> = hours_in(added.attributes.as_ref())
        .into_iter()
        .filter(|h| *h < first_kept_hour(now_ms))
        .map(|h| h.to_string())
        .collect();
    if !expired.is_empty() {
        db::update_item(state)
            .set_key(Some(WebhookHours::key_of(app_key)))
            .update_expression("DELETE hours :expired")
            .expression_attribute_values(":expired", AttributeValue::Ns(expired))
            .send()
            .await?;
    }
    Ok(())
}

/// The hours of a [`WebhookHours`] item.
fn hours_in(item: Option<&db::Item>) -> Vec<i64> {
    item.and_then(|item| item.get("hours"))
        .and_then(|hours| hours.as_ns().ok())
        .map(|hours| hours.iter().filter_map(|h| h.parse().ok()).collect())
        .unwrap_or_default()
}

/// The hours of the app's log still kept, oldest first (one strongly consistent read).
async fn kept_hours(state: &State, app_key: &str, now_ms: i64) -> Result<Vec<i64>, ApiError> {
    let out = db::get_item(state)
        .set_key(Some(WebhookHours::key_of(app_key)))
        .consistent_read(true)
        .send()
        .await?;
    let mut hours: Vec<i64> = hours_in(out.item.as_ref())
        .into_iter()
        .filter(|h| *h >= first_kept_hour(now_ms))
        .collect();
    hours.sort_unstable();
    Ok(hours)
}

/// Where a read of the log goes on: an hour, and the last event ID read in it (`None`: none yet).
/// Page tokens carry it as a key (`PK` of the hour, `SK` the ID or `""`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Position {
    hour: i64,
    after: Option<String>,
}

impl Position {
    fn key(&self, app_key: &str) -> db::Item {
        db::key(
            WebhookDelivery::pk_of(app_key, self.hour),
            self.after.clone().unwrap_or_default(),
        )
    }

    fn of_key(app_key: &str, key: &db::Item) -> Result<Self, ApiError> {
        let invalid = || ApiError::invalid("pageToken", "is not a page token of this listing");
        let hour = db::text(key, crate::table::PK)
            .and_then(|pk| WebhookDelivery::hour_of_pk(app_key, pk))
            .ok_or_else(invalid)?;
        let after = db::text(key, crate::table::SK).ok_or_else(invalid)?;
        Ok(Self {
            hour,
            after: (!after.is_empty()).then(|| after.to_owned()),
        })
    }

    /// Where a read of `hour` starts: where the page token left it, if it left it in this hour,
    /// else at the hour's start.
    fn resuming(hour: i64, token: Option<&Position>) -> Self {
        match token {
            Some(token) if token.hour == hour => token.clone(),
            _ => Position { hour, after: None },
        }
    }

    /// Where a read goes on after a query left it here: further in this hour while the query
    /// stopped short of its end, else at the start of `following` (the next hour to read, if
    /// any); as a page token's key.
    fn next(&self, app_key: &str, following: Option<&i64>) -> Option<db::Item> {
        match (&self.after, following) {
            (Some(_), _) => Some(self.key(app_key)),
            (None, Some(&hour)) => Some(Position { hour, after: None }.key(app_key)),
            (None, None) => None,
        }
    }

    /// The key a query of this position's hour starts after.
    fn start(&self, app_key: &str) -> Option<db::Item> {
        self.after.is_some().then(|| self.key(app_key))
    }
}

/// The `SK` of a key a query answered as its last.
fn last_id(last_key: Option<&db::Item>) -> Option<String> {
    last_key
        .and_then(|key| db::text(key, crate::table::SK))
        .map(str::to_owned)
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
    let Some(key) = WebhookDelivery::key_of(app_key, event_id) else {
        return Ok(None);
    };
    let out = db::get_item(state)
        .set_key(Some(key))
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
    /// Its to make: the delivery as it stands (boxed: the other answers carry nothing).
    Claimed(Box<WebhookDelivery>),
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
    let Some(key) = WebhookDelivery::key_of(app_key, event_id) else {
        return Ok(Claim::Missing);
    };
    let result = db::update_item(state)
        .set_key(Some(key))
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
            Some(item) => Ok(Claim::Claimed(Box::new(delivery_of(app_key, item)?))),
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

/// The key of a delivery read from the log.
fn stored_key(delivery: &WebhookDelivery) -> Result<db::Item, ApiError> {
    WebhookDelivery::key_of(&delivery.app_key, &delivery.event_id).ok_or_else(|| {
        ApiError::Internal(format!("event ID {} is not a UUID v7", delivery.event_id))
    })
}

/// Cuts `text` to at most `max` bytes, at a character boundary, marked with `…`.
fn truncate_at_char(text: &mut String, max: usize) {
    if text.len() <= max {
        return;
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push('…');
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
    let mut attempt = attempt;
    if let Some(error) = attempt.error.as_mut() {
        truncate_at_char(error, MAX_ERROR_BYTES);
    }
    let mut request = db::update_item(state)
        .set_key(Some(stored_key(delivery)?))
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DeliveryView {
    pub event_id: String,
    #[serde(rename = "type")]
    #[cfg_attr(feature = "openapi", schema(value_type = crate::app::WebhookEvent))]
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

/// Which deliveries a listing shows: of one status, of one event type, created within a time
/// range (Unix ms, both ends included); `Filter::default()` shows all.
#[derive(Debug, Clone, Copy, Default)]
pub struct Filter<'a> {
    pub status: Option<&'a str>,
    pub event_type: Option<&'a str>,
    pub since: Option<i64>,
    pub until: Option<i64>,
}

impl Filter<'_> {
    /// Whether the log's `hour` may hold deliveries of the time range.
    fn covers_hour(&self, hour: i64) -> bool {
        let after_since = self
            .since
            .is_none_or(|since| hour >= since.div_euclid(WEBHOOK_HOUR_MS));
        let before_until = self
            .until
            .is_none_or(|until| hour <= until.div_euclid(WEBHOOK_HOUR_MS));
        after_since && before_until
    }
}

/// One page of the app's deliveries, newest first, as `filter` selects them, from `start` (a
/// page token's key). Answers the page and where the next starts. A filter reads on until the
/// page is full, the log ends, or [`MAX_READS_PER_PAGE`] queries were sent: a short page with a
/// page token means "more may follow". A time range skips the hours outside it unread.
pub async fn list(
    state: &State,
    app_key: &str,
    filter: Filter<'_>,
    page_size: usize,
    start: Option<db::Item>,
    now_ms: i64,
) -> Result<(Vec<DeliveryView>, Option<db::Item>), ApiError> {
    let start = start
        .map(|key| Position::of_key(app_key, &key))
        .transpose()?;
    let mut hours = kept_hours(state, app_key, now_ms).await?;
    hours.retain(|hour| filter.covers_hour(*hour));
    hours.reverse();
    if let Some(start) = &start {
        hours.retain(|hour| *hour <= start.hour);
    }
    let mut page = Vec::new();
    let mut reads = 0;
    for (i, &hour) in hours.iter().enumerate() {
        let mut position = Position::resuming(hour, start.as_ref());
        loop {
            if reads == MAX_READS_PER_PAGE {
                return Ok((page, Some(position.key(app_key))));
            }
            reads += 1;
            let mut query = db::query(state)
                .key_condition_expression("PK = :pk")
                .expression_attribute_values(":pk", s(WebhookDelivery::pk_of(app_key, hour)))
                .expression_attribute_values(":now", n(now_ms.div_euclid(1000)))
                .expression_attribute_names("#type", "type")
                .expression_attribute_names("#status", "status")
                .expression_attribute_names("#ttl", crate::table::TTL)
                .projection_expression(LISTED)
                .scan_index_forward(false)
                .limit((page_size - page.len()) as i32)
                .set_exclusive_start_key(position.start(app_key));
            // Expired items wait for DynamoDB's TTL deletion: hidden at read time.
            let mut condition = "#ttl > :now".to_owned();
            if let Some(status) = filter.status {
                condition.push_str(" AND #status = :status");
                query = query.expression_attribute_values(":status", s(status));
            }
            if let Some(event_type) = filter.event_type {
                condition.push_str(" AND #type = :type");
                query = query.expression_attribute_values(":type", s(event_type));
            }
            if let Some(since) = filter.since {
                condition.push_str(" AND createdAt >= :since");
                query = query.expression_attribute_values(":since", n(since));
            }
            if let Some(until) = filter.until {
                condition.push_str(" AND createdAt <= :until");
                query = query.expression_attribute_values(":until", n(until));
            }
            let out = query.filter_expression(condition).send().await?;
            for item in out.items.unwrap_or_default() {
                page.push(DeliveryView::from(WebhookDelivery::from_item(item)?));
            }
            position.after = last_id(out.last_evaluated_key.as_ref());
            let next = position.next(app_key, hours.get(i + 1));
            if page.len() >= page_size || next.is_none() {
                return Ok((page, next));
            }
            if position.after.is_none() {
                break;
            }
        }
    }
    Ok((page, None))
}

/// What to replay: named events, or every failed (or stuck) event since an instant, from where
/// the previous call of the same replay stopped.
#[derive(Debug, Clone, PartialEq)]
pub enum Replay {
    Events(Vec<String>),
    FailedSince { since: i64, from: Option<db::Item> },
}

/// What a replay did: how many events it sent again, and for a `since` replay cut short by
/// [`MAX_REPLAYED_PER_CALL`], where the next call goes on.
#[derive(Debug, Clone, PartialEq)]
pub struct Replayed {
    pub count: usize,
    pub next: Option<db::Item>,
}

/// Sends the chosen events again (same IDs), each as a new round of attempts. Unknown or
/// expired IDs are skipped. Each page of events is queued as soon as it is restarted, so a call
/// cut short leaves no restarted event without its message.
pub async fn replay(
    state: &State,
    app_key: &str,
    which: Replay,
    now_ms: i64,
) -> Result<Replayed, ApiError> {
    match which {
        Replay::Events(ids) => {
            let reads = ids.iter().map(|id| get(state, app_key, id));
            let deliveries: Vec<WebhookDelivery> = futures::future::try_join_all(reads)
                .await?
                .into_iter()
                .flatten()
                .filter(|d| d.ttl > now_ms.div_euclid(1000))
                .collect();
            let count = restart_and_queue(state, deliveries, now_ms).await?;
            Ok(Replayed { count, next: None })
        }
        Replay::FailedSince { since, from } => {
            replay_since(state, app_key, since, from, now_ms, MAX_REPLAYED_PER_CALL).await
        }
    }
}

/// Restarts every failed or stuck delivery created at or after `since`, page by page, oldest
/// first, until about `budget` are restarted (event IDs are UUID v7, so an hour's key range
/// starts at the first ID of `since`'s millisecond).
pub async fn replay_since(
    state: &State,
    app_key: &str,
    since: i64,
    from: Option<db::Item>,
    now_ms: i64,
    budget: usize,
) -> Result<Replayed, ApiError> {
    let from = from
        .map(|key| Position::of_key(app_key, &key))
        .transpose()?;
    let first_id = uuid::Builder::from_unix_timestamp_millis(since.max(0) as u64, &[0; 10])
        .into_uuid()
        .hyphenated()
        .to_string();
    let first_hour = since.max(0).div_euclid(WEBHOOK_HOUR_MS);
    let mut hours = kept_hours(state, app_key, now_ms).await?;
    hours.retain(|hour| *hour >= first_hour && from.as_ref().is_none_or(|f| *hour >= f.hour));
    let mut count = 0;
    for (i, &hour) in hours.iter().enumerate() {
        let mut position = Position::resuming(hour, from.as_ref());
        loop {
            let out = db::query(state)
                .key_condition_expression("PK = :pk AND SK >= :first")
                .filter_expression(
                    "#ttl > :now AND (#status = :failed OR \
                     (#status = :pending AND nextAttemptAt < :stuck))",
                )
                .expression_attribute_names("#status", "status")
                .expression_attribute_names("#ttl", crate::table::TTL)
                .expression_attribute_values(":pk", s(WebhookDelivery::pk_of(app_key, hour)))
                .expression_attribute_values(":first", s(first_id.as_str()))
                .expression_attribute_values(":failed", s(FAILED))
                .expression_attribute_values(":pending", s(PENDING))
                .expression_attribute_values(":stuck", n(now_ms - STUCK_AFTER_MS))
                .expression_attribute_values(":now", n(now_ms.div_euclid(1000)))
                .consistent_read(true)
                .limit(REPLAY_PAGE.min(i32::try_from(budget - count).unwrap_or(REPLAY_PAGE)))
                .set_exclusive_start_key(position.start(app_key))
                .send()
                .await?;
            let found = out
                .items
                .unwrap_or_default()
                .into_iter()
                .map(|item| delivery_of(app_key, item))
                .collect::<Result<Vec<_>, _>>()?;
            count += restart_and_queue(state, found, now_ms).await?;
            position.after = last_id(out.last_evaluated_key.as_ref());
            let next = position.next(app_key, hours.get(i + 1));
            if next.is_none() || count >= budget {
                return Ok(Replayed { count, next });
            }
            if position.after.is_none() {
                break;
            }
        }
    }
    Ok(Replayed { count, next: None })
}

/// Restarts each delivery ([`RESTARTS_AT_ONCE`] at a time), then queues the first attempt of
/// each one restarted; answers how many.
async fn restart_and_queue(
    state: &State,
    deliveries: Vec<WebhookDelivery>,
    now_ms: i64,
) -> Result<usize, ApiError> {
    let restarted: Vec<WebhookDelivery> = futures::stream::iter(deliveries)
        .map(|delivery| async move {
            Ok::<_, ApiError>(restart(state, &delivery, now_ms).await?.then_some(delivery))
        })
        .buffer_unordered(RESTARTS_AT_ONCE)
        .try_filter_map(|restarted| async move { Ok(restarted) })
        .try_collect()
        .await?;
    let queued: Vec<_> = restarted
        .iter()
        .map(|delivery| {
            let message = QueuedDelivery {
                app_key: delivery.app_key.clone(),
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
        .set_key(Some(stored_key(delivery)?))
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

#[cfg(test)]
mod tests;
