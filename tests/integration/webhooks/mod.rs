//! Webhooks end to end, with a real receiver: changes through the API, the table's stream (every
//! batch delivered twice and late), the producer, the queue and the sender, to an HTTP server in
//! the test that records what it gets and checks both signatures with its own code. Each test
//! runs on a table of its own (`isolated_env`): a deployment has one pipeline, and the tests
//! running beside this one must not deliver its events with their own retry schedules.

use std::time::Duration;

use integration_tests::receiver::{Received, Receiver, Reply};
use integration_tests::sockets::{connect, serve};
use integration_tests::{Env, isolated_env};
use serde_json::{Value, json};
use shared::apps::{App, AppChanges, WebhookEvent};
use shared::webhooks::guard::Destinations;
use shared::webhooks::post::Poster;

const ALL: [WebhookEvent; 4] = [
    WebhookEvent::ConnectionStatus,
    WebhookEvent::ActivationState,
    WebhookEvent::ProfileUpdate,
    WebhookEvent::Friendship,
];
/// Long enough for the stream (a batch waits 200 ms, and comes twice) and the queue.
const WAIT: Duration = Duration::from_secs(20);

/// A UUID v7 no event has.
fn unused_event_id() -> String {
    uuid::Builder::from_unix_timestamp_millis(1_700_000_000_000, &[7; 10])
        .into_uuid()
        .to_string()
}

/// A call answered 200: code 0, or 25461 (a pending friend request).
async fn ok(env: &Env, app: &App, path: &str, body: Value) -> Value {
    env.answered(app, path, body, &[0, 25461]).await
}

/// The distinct events received (receivers deduplicate on `id`), first copy of each.
fn distinct(received: &[Received]) -> Vec<Received> {
    let mut seen = std::collections::HashSet::new();
    received
        .iter()
        .filter(|r| seen.insert(r.id().to_owned()))
        .cloned()
        .collect()
}

fn find<'a>(
    events: &'a [Received],
    kind: &str,
    matches: impl Fn(&Value) -> bool,
) -> Option<&'a Received> {
    events
        .iter()
        .find(|r| r.event_type() == kind && matches(r.data()))
}

/// Waits for an event of `kind` whose data matches, and answers it.
async fn expect(receiver: &Receiver, kind: &str, matches: impl Fn(&Value) -> bool) -> Received {
    let received = receiver
        .wait_for(WAIT, |r| find(&distinct(r), kind, &matches).is_some())
        .await;
    find(&distinct(&received), kind, &matches)
        .cloned()
        .expect("found")
}

fn friendship(data: &Value, operation_type: i64, user: &str, to: &str) -> bool {
    data["operationType"] == operation_type && data["userId"] == user && data["toUserId"] == to
}

/// The delivery log once `settled` holds of it (a sender records its attempt just after the
/// receiver answers), or as it is after 10 s.
async fn settled_log(
    env: &Env,
    app: &App,
    status: Option<&str>,
    settled: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let mut log = Vec::new();
    for _ in 0..200 {
        log = delivery_log(env, app, status).await;
        if settled(&log) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    log
}

async fn delivery_log(env: &Env, app: &App, status: Option<&str>) -> Vec<Value> {
    let mut body = json!({"pageSize": 100});
    if let Some(status) = status {
        body["status"] = json!(status);
    }
    let response = ok(env, app, "/v4/ext/webhook/delivery/list", body).await;
    response["result"]["deliveries"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

mod delivery_rules;
mod events;
mod replay;
