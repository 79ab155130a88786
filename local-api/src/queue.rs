//! The webhook queue, locally: what SQS and Lambda's SQS event source do for `send-webhooks`.
//! Messages wait out their delay, then the very handler the deployed function runs gets them,
//! in its container, with a poster that allows loopback receivers (the local API's one
//! difference from AWS). A message the handler reports failed comes back after the visibility
//! timeout; after [`MAX_RECEIVES`] receives it goes to the dead-letter list. Functions send to
//! the queue only if their policy allows `sqs:SendMessage` on it ([`PolicedQueue`]). The queue
//! knows the sender's container only as a function that gives its `State`
//! (`crate::functions::Functions::serve_webhook_queue` hands it over), so it imports no
//! container code.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use shared::error::ApiError;
use shared::queue::{DeliveryQueue, QueuedDelivery, SendFuture};
use shared::state::State;
use shared::webhooks::guard::Destinations;
use shared::webhooks::post::Poster;
use tokio::sync::mpsc;

use crate::iam::{self, Policy, webhook_queue_arn};

/// The `State` of the sender's container, as the queue asks for it before each batch.
pub type SenderState = Arc<dyn Fn() -> Result<Arc<State>, ApiError> + Send + Sync>;

/// The function the queue drives.
pub const SENDER_FUNCTION: &str = "send-webhooks";
/// How many sender invocations run at once (template.yaml: the `Deliveries` event's
/// `ScalingConfig.MaximumConcurrency`, the `WebhookSenderConcurrency` parameter's default).
pub const SENDER_CONCURRENCY: usize = 5;
/// The queue's `maxReceiveCount` (template.yaml, `WebhookQueue`'s redrive policy).
pub const MAX_RECEIVES: u32 = 5;
/// How long a failed message stays invisible (shortened from the template's 180 s).
const VISIBILITY_TIMEOUT: Duration = Duration::from_millis(500);

/// The local retry schedule: the first retry within 10 s, the schedule spent in 7 minutes.
pub const LOCAL_RETRY_DELAYS: [Duration; 5] = [
    Duration::from_secs(2),
    Duration::from_secs(10),
    Duration::from_secs(30),
    Duration::from_secs(60),
    Duration::from_secs(300),
];

struct Message {
    id: String,
    body: String,
    receives: u32,
}

/// The queue every function's container sends to.
pub struct LocalQueue {
    ready: mpsc::UnboundedSender<Message>,
    waiting: Mutex<Option<mpsc::UnboundedReceiver<Message>>>,
    /// Messages given up on, as they would sit in the dead-letter queue.
    pub dead_letters: Arc<Mutex<Vec<Value>>>,
}

impl Default for LocalQueue {
    fn default() -> Self {
        let (ready, waiting) = mpsc::unbounded_channel();
        Self {
            ready,
            waiting: Mutex::new(Some(waiting)),
            dead_letters: Arc::default(),
        }
    }
}

impl LocalQueue {
    fn enqueue(&self, message: Message, delay: Duration) {
        let ready = self.ready.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let _ = ready.send(message);
        });
    }

    fn send_now(&self, messages: Vec<(QueuedDelivery, Duration)>) -> Result<(), ApiError> {
        for (message, delay) in messages {
            let body =
                serde_json::to_string(&message).map_err(|e| ApiError::Internal(e.to_string()))?;
            let id = uuid::Uuid::new_v4().to_string();
            self.enqueue(
                Message {
                    id,
                    body,
                    receives: 0,
                },
                delay,
            );
        }
        Ok(())
    }
}

/// A function's view of the queue: its policy decides, then the queue takes the messages.
pub struct PolicedQueue {
    pub queue: Arc<LocalQueue>,
    pub policy: Option<Arc<Policy>>,
}

impl DeliveryQueue for PolicedQueue {
    fn send<'a>(&'a self, messages: Vec<(QueuedDelivery, Duration)>) -> SendFuture<'a> {
        let needs = [iam::Need::new("sqs:SendMessage", webhook_queue_arn())];
        if let Some(Err(denied)) = self.policy.as_ref().map(|p| p.check(&needs)) {
            // SQS answers AccessDenied.
            return Box::pin(async move {
                Err(ApiError::Internal(format!(
                    "SendMessageBatch: AccessDenied: {denied}"
                )))
            });
        }
        Box::pin(async move { self.queue.send_now(messages) })
    }
}

/// Ready messages by app, each handed out to the app with the fewest messages in flight (ties
/// in turn): what SQS fair queues do for a standard queue whose messages carry a
/// `MessageGroupId` (the app key), so one app's backlog (a receiver that never answers) does not
/// hold back the other apps' attempts.
#[derive(Default)]
struct Fair {
    groups: VecDeque<String>,
    ready: HashMap<String, VecDeque<Message>>,
    in_flight: HashMap<String, usize>,
}

impl Fair {
    fn push(&mut self, message: Message) {
        let group = serde_json::from_str::<QueuedDelivery>(&message.body)
            .map(|m| m.app_key)
            .unwrap_or_default();
        let queue = self.ready.entry(group.clone()).or_default();
        if queue.is_empty() {
            self.groups.push_back(group);
        }
        queue.push_back(message);
    }

    /// The next message and its group, counted in flight until [`Fair::done`].
    fn pop(&mut self) -> Option<(String, Message)> {
        let busy = |group: &String| self.in_flight.get(group).copied().unwrap_or(0);
        let (index, _) = self
            .groups
            .iter()
            .enumerate()
            .min_by_key(|(i, group)| (busy(group), *i))?;
        let group = self.groups.remove(index)?;
        let queue = self.ready.get_mut(&group)?;
        let message = queue.pop_front()?;
        if queue.is_empty() {
            self.ready.remove(&group);
        } else {
            self.groups.push_back(group.clone());
        }
        *self.in_flight.entry(group.clone()).or_default() += 1;
        Some((group, message))
    }

    fn done(&mut self, group: &str) {
        if let Some(count) = self.in_flight.get_mut(group) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.in_flight.remove(group);
            }
        }
    }
}

fn lock(fair: &Mutex<Fair>) -> std::sync::MutexGuard<'_, Fair> {
    fair.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Counts a message in flight for its group until dropped (however the handling ends).
struct InFlight {
    fair: Arc<Mutex<Fair>>,
    group: String,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        lock(&self.fair).done(&self.group);
    }
}

/// Starts handing ready messages to `send-webhooks`, fairly across apps, at most
/// [`SENDER_CONCURRENCY`] at once (the event source mapping's `MaximumConcurrency`); runs until
/// the returned task is aborted. Only one consumer per queue: a second call gets `None`.
pub fn serve(
    queue: Arc<LocalQueue>,
    sender_state: SenderState,
) -> Option<tokio::task::JoinHandle<()>> {
    let mut waiting = queue.waiting.lock().ok()?.take()?;
    let poster = Arc::new(Poster::new(Destinations::AllowLoopback));
    let permits = Arc::new(tokio::sync::Semaphore::new(SENDER_CONCURRENCY));
    let fair = Arc::new(Mutex::new(Fair::default()));
    Some(tokio::spawn(async move {
        loop {
            if lock(&fair).groups.is_empty() {
                match waiting.recv().await {
                    Some(message) => lock(&fair).push(message),
                    None => return,
                }
            }
            let Ok(permit) = permits.clone().acquire_owned().await else {
                return;
            };
            // What arrived meanwhile competes for this permit too.
            while let Ok(message) = waiting.try_recv() {
                lock(&fair).push(message);
            }
            let Some((group, mut message)) = lock(&fair).pop() else {
                continue;
            };
            let sender_state = sender_state.clone();
            let poster = poster.clone();
            let queue = queue.clone();
            let fair = fair.clone();
            tokio::spawn(async move {
                let _permit = permit;
                let _in_flight = InFlight { fair, group };
                message.receives += 1;
                let event = json!({"Records": [{
                    "messageId": message.id,
                    "body": message.body,
                    "attributes": {"ApproximateReceiveCount": message.receives.to_string()},
                    "eventSource": "aws:sqs",
                    "eventSourceARN": webhook_queue_arn(),
                }]});
                let answer = match sender_state() {
                    Ok(state) => send_webhooks::handle(&state, &poster, &event).await,
                    Err(err) => json!({"batchItemFailures": [{"itemIdentifier": err.to_string()}]}),
                };
                let failed = answer["batchItemFailures"]
                    .as_array()
                    .is_some_and(|f| !f.is_empty());
                if !failed {
                    return;
                }
                if message.receives >= MAX_RECEIVES {
                    tracing::error!(message = %message.body, "webhook message dead-lettered");
                    if let Ok(mut dead) = queue.dead_letters.lock() {
                        dead.push(json!({"messageId": message.id, "body": message.body}));
                    }
                } else {
                    queue.enqueue(message, VISIBILITY_TIMEOUT);
                }
            });
        }
    }))
}
