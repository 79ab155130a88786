//! The webhook delivery queue (SQS on AWS, the local API's emulation locally) and the retry
//! schedule a container holds: infrastructure, below the domain modules (no `State`).
//!
//! A message names one event to deliver and when: SQS delays a message by at most 15 minutes,
//! so a later attempt travels as a chain of messages, each delayed by what is left (a "hop"),
//! until it is due.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// SQS's longest message delay.
pub const MAX_DELAY: Duration = Duration::from_secs(900);

/// The retry schedule on AWS: the delay before each retry after a failed attempt (about 44
/// hours in all, so retries cover more than a day).
pub const AWS_RETRY_DELAYS: [Duration; 8] = [
    Duration::from_secs(5),
    Duration::from_secs(60),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(6 * 3600),
    Duration::from_secs(12 * 3600),
    Duration::from_secs(24 * 3600),
];

/// One queued delivery attempt of an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueuedDelivery {
    pub app_key: String,
    pub event_id: String,
    /// The attempts the event has had when this one is due: a message whose count is behind the
    /// stored one is stale (an earlier chain, overtaken by a replay or a duplicate).
    pub attempt: u32,
    /// This attempt's place in the retry schedule (0: the first try of a round; a replay
    /// starts a new round).
    pub retry: u32,
    /// When the attempt is due (Unix ms).
    pub due_at: i64,
}

impl QueuedDelivery {
    /// How long SQS should hold it, from `now_ms`: what is left, at most [`MAX_DELAY`].
    pub fn delay_from(&self, now_ms: i64) -> Duration {
        let left = u64::try_from(self.due_at.saturating_sub(now_ms)).unwrap_or(0);
        Duration::from_millis(left).min(MAX_DELAY)
    }
}

pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<(), ApiError>> + Send + 'a>>;

/// Sends delivery messages, each held back by its delay.
pub trait DeliveryQueue: Send + Sync {
    fn send<'a>(&'a self, messages: Vec<(QueuedDelivery, Duration)>) -> SendFuture<'a>;
}

/// A container without a queue (a function the template gives no `WEBHOOK_QUEUE_URL`).
pub struct NoQueue;

impl DeliveryQueue for NoQueue {
    fn send<'a>(&'a self, messages: Vec<(QueuedDelivery, Duration)>) -> SendFuture<'a> {
        Box::pin(async move {
            match messages.is_empty() {
                true => Ok(()),
                false => Err(ApiError::Internal(
                    "this function has no webhook queue (WEBHOOK_QUEUE_URL)".into(),
                )),
            }
        })
    }
}

/// The deployed queue: SQS `SendMessageBatch`, ten messages per request, concurrently.
pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl SqsQueue {
    pub fn new(sdk_config: &aws_config::SdkConfig, url: &str) -> Self {
        Self {
            client: aws_sdk_sqs::Client::new(sdk_config),
            url: url.to_owned(),
        }
    }

    async fn send_batch(&self, batch: &[(QueuedDelivery, Duration)]) -> Result<(), ApiError> {
        let mut request = self.client.send_message_batch().queue_url(&self.url);
        for (index, (message, delay)) in batch.iter().enumerate() {
            let entry = aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                .id(index.to_string())
                .message_body(
                    serde_json::to_string(message)
                        .map_err(|e| ApiError::Internal(e.to_string()))?,
                )
                .delay_seconds(delay.as_secs_f64().ceil() as i32)
                // SQS fair queues: on a standard queue, the group is the tenant whose backlog
                // must not hold back the others' messages (one app's failing receiver).
                .message_group_id(&message.app_key)
                .build()
                .map_err(|e| ApiError::Internal(format!("SendMessageBatch entry: {e}")))?;
            request = request.entries(entry);
        }
        let out = request.send().await.map_err(|err| {
            ApiError::Internal(format!(
                "SendMessageBatch: {}",
                aws_smithy_types::error::display::DisplayErrorContext(&err)
            ))
        })?;
        match out.failed.first() {
            None => Ok(()),
            Some(failed) => Err(ApiError::Internal(format!(
                "SendMessageBatch refused {} message(s): {} {}",
                out.failed.len(),
                failed.code,
                failed.message.as_deref().unwrap_or_default()
            ))),
        }
    }
}

impl DeliveryQueue for SqsQueue {
    fn send<'a>(&'a self, messages: Vec<(QueuedDelivery, Duration)>) -> SendFuture<'a> {
        Box::pin(async move {
            let batches = messages.chunks(10).map(|batch| self.send_batch(batch));
            futures::future::try_join_all(batches).await.map(|_| ())
        })
    }
}

/// What a container holds for webhooks: the queue (replaceable: the local API installs its
/// emulation) and the retry schedule.
pub struct Webhooks {
    queue: RwLock<Arc<dyn DeliveryQueue>>,
    retry_delays: RwLock<Vec<Duration>>,
    /// The (app, hour) pairs this container listed in the delivery log's hours: each is added
    /// once per container, not once per event.
    listed_hours: std::sync::Mutex<std::collections::HashSet<(String, i64)>>,
}

/// How many (app, hour) pairs a container remembers before it starts again.
const MAX_LISTED_HOURS: usize = 10_000;

impl Default for Webhooks {
    fn default() -> Self {
        Self {
            queue: RwLock::new(Arc::new(NoQueue)),
            retry_delays: RwLock::new(AWS_RETRY_DELAYS.to_vec()),
            listed_hours: Default::default(),
        }
    }
}

impl Webhooks {
    /// Whether this call is the container's first to list `hour` for `app_key` (the caller then
    /// lists it, and [`Webhooks::release_hour`]s it if that fails).
    pub fn claim_hour(&self, app_key: &str, hour: i64) -> bool {
        let mut listed = self
            .listed_hours
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if listed.len() >= MAX_LISTED_HOURS {
            listed.clear();
        }
        listed.insert((app_key.to_owned(), hour))
    }

    pub fn release_hour(&self, app_key: &str, hour: i64) {
        self.listed_hours
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(&(app_key.to_owned(), hour));
    }

    pub fn set_queue(&self, queue: Arc<dyn DeliveryQueue>) {
        if let Ok(mut slot) = self.queue.write() {
            *slot = queue;
        }
    }

    pub fn queue(&self) -> Arc<dyn DeliveryQueue> {
        match self.queue.read() {
            Ok(slot) => slot.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The delays before each retry (the local API shortens them).
    pub fn set_retry_delays(&self, delays: Vec<Duration>) {
        if let Ok(mut slot) = self.retry_delays.write() {
            *slot = delays;
        }
    }

    /// The delay before retry number `retry` (0-based), or `None` once the schedule is spent.
    pub fn retry_delay(&self, retry: u32) -> Option<Duration> {
        let delays = match self.retry_delays.read() {
            Ok(slot) => slot,
            Err(poisoned) => poisoned.into_inner(),
        };
        delays.get(retry as usize).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_aws_schedule_retries_for_more_than_a_day() {
        let total: Duration = AWS_RETRY_DELAYS.iter().sum();
        assert!(total > Duration::from_secs(24 * 3600), "{total:?}");
        assert_eq!(AWS_RETRY_DELAYS[0], Duration::from_secs(5));
        let webhooks = Webhooks::default();
        assert_eq!(webhooks.retry_delay(7), Some(Duration::from_secs(86_400)));
        assert_eq!(webhooks.retry_delay(8), None);
    }

    #[test]
    fn a_delay_is_what_is_left_at_most_fifteen_minutes() {
        let message = |due_at| QueuedDelivery {
            app_key: "a".into(),
            event_id: "e".into(),
            attempt: 1,
            retry: 1,
            due_at,
        };
        assert_eq!(message(1_000).delay_from(5_000), Duration::ZERO);
        assert_eq!(
            message(6_500).delay_from(5_000),
            Duration::from_millis(1_500)
        );
        assert_eq!(message(i64::MAX).delay_from(0), MAX_DELAY);
    }
}
