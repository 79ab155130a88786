//! Webhook event notes, deliveries and their attempts, and the hours of an app's delivery log.

use serde::{Deserialize, Serialize};

use super::Kind;
use crate::db::Item;
use crate::table;

/// A change's facts that no stored item keeps (who removed a friendship, who rejected a request):
/// written in the change's own transaction, only while the app has the event delivered, in the
/// acting user's partition (`SK = NOTE#<id>`), and read once, from the table's stream, by the
/// webhook producer. Gone after a day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventNote {
    #[serde(skip)]
    pub app_key: String,
    #[serde(skip)]
    pub user_id: String,
    #[serde(skip)]
    pub note_id: String,
    /// The event type (`user:friendship`).
    pub event_type: String,
    /// The event's `data[0]`, as JSON.
    pub data: String,
    pub time: i64,
    pub ttl: i64,
    /// The request id of the call that wrote it (as [`OperationRecord::request_id`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

pub const SK_NOTE_PREFIX: &str = "NOTE#";

impl Kind for EventNote {
    fn key(&self) -> (String, String) {
        (
            table::user_pk(&self.app_key, &self.user_id),
            format!("{SK_NOTE_PREFIX}{}", self.note_id),
        )
    }
}

/// One webhook event and its delivery (`PK = APP#<app>#WEBHOOKS#<hour>`, `SK = <eventId>`, a
/// UUID v7: newest first is descending order). Kept 7 days (`ttl`).
///
/// One partition per app and hour of the event's time (read from its ID), not one per app: the
/// table has a local index, which caps every partition key value at 10 GB, and one partition
/// serves about 1,000 writes per second. An hour holds what an app can write in it (the
/// partition's write rate binds long before 10 GB), and no partition grows with time. The hours
/// that hold deliveries are listed in the app's [`WebhookHours`] item, so reading the log costs
/// O(page), not one query per hour of the week.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookDelivery {
    #[serde(skip)]
    pub app_key: String,
    pub event_id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    /// The request body every attempt sends, byte for byte (listings leave it out).
    #[serde(default)]
    pub body: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempts: u32,
    pub created_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_status_code: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempt_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<i64>,
    /// Every attempt, oldest first (at most [`MAX_ATTEMPT_RECORDS`]).
    #[serde(default)]
    pub history: Vec<AttemptRecord>,
    pub ttl: i64,
    /// The request id the event carries (its change's, see [`crate::webhooks::events::Event`]),
    /// sent with every attempt as `X-Request-ID`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// The attempts a delivery's history keeps.
pub const MAX_ATTEMPT_RECORDS: usize = 50;
/// The webhook delivery log's partition suffix.
pub const WEBHOOKS: &str = "WEBHOOKS";

/// One delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttemptRecord {
    pub at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    pub latency_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The span of one delivery-log partition.
pub const WEBHOOK_HOUR_MS: i64 = 3_600_000;

impl WebhookDelivery {
    /// The partition of an app's deliveries of one hour (hours since the Unix epoch).
    pub fn pk_of(app_key: &str, hour: i64) -> String {
        format!("{}#{WEBHOOKS}#{hour}", table::app_pk(app_key))
    }

    /// The hour of a delivery partition key of `app_key` (`None`: not one).
    pub fn hour_of_pk(app_key: &str, pk: &str) -> Option<i64> {
        let prefix = format!("{}#{WEBHOOKS}#", table::app_pk(app_key));
        pk.strip_prefix(prefix.as_str())?.parse().ok()
    }

    /// The hour of an event, from the time its UUID v7 ID carries (`None`: not such an ID).
    pub fn hour_of(event_id: &str) -> Option<i64> {
        let id = uuid::Uuid::try_parse(event_id).ok()?;
        if id.get_version_num() != 7 {
            return None;
        }
        let (seconds, nanos) = id.get_timestamp()?.to_unix();
        let ms = i64::try_from(seconds).ok()? * 1000 + i64::from(nanos / 1_000_000);
        Some(ms.div_euclid(WEBHOOK_HOUR_MS))
    }

    /// The key of an event's delivery (`None`: the ID is not an event's).
    pub fn key_of(app_key: &str, event_id: &str) -> Option<Item> {
        let hour = Self::hour_of(event_id)?;
        Some(crate::db::key(Self::pk_of(app_key, hour), event_id))
    }
}

impl Kind for WebhookDelivery {
    fn key(&self) -> (String, String) {
        let hour =
            Self::hour_of(&self.event_id).unwrap_or(self.created_at.div_euclid(WEBHOOK_HOUR_MS));
        (Self::pk_of(&self.app_key, hour), self.event_id.clone())
    }
}

/// The hours of an app's delivery log that hold deliveries (`PK = APP#<app>#WEBHOOKS`,
/// `SK = HOURS`): a number set the producer adds each hour to before its first delivery there
/// (once per app and hour per container), and from which hours past the log's 7 days are
/// dropped.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WebhookHours {
    #[serde(default)]
    pub hours: std::collections::BTreeSet<i64>,
}

impl WebhookHours {
    pub const SK: &'static str = "HOURS";

    pub fn key_of(app_key: &str) -> Item {
        crate::db::key(format!("{}#{WEBHOOKS}", table::app_pk(app_key)), Self::SK)
    }
}
