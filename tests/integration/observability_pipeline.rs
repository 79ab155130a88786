//! Observability through the asynchronous pipeline: a call's request id travels with its change
//! to the webhook receiver and into the operation record of a soft delete, and the purge
//! sweeper counts the backlog. Metric values are read as differences of what the local API
//! collects (`local_api::metrics`), so figures other calls of the process add do not matter.
//! Each test has a stack of its own (`isolated_env`): its stream, pipeline and sweeps see only
//! its own changes.

use std::time::Duration;

use integration_tests::receiver::{Received, Receiver};
use integration_tests::{Env, Response, isolated_env};
use local_api::metrics::{prometheus, value};
use serde_json::{Value, json};
use shared::apps::{App, WebhookEvent};
use shared::lambda_http::http::HeaderValue;

/// Long enough for the stream (a batch waits 200 ms, and comes twice) and the queue.
const WAIT: Duration = Duration::from_secs(20);

const EVENTS: &str = "chat_users_webhook_events_total";
const ATTEMPTS: &str = "chat_users_webhook_attempts_total";
const LATENCIES: &str = "chat_users_webhook_delivery_latency_seconds_count";
const PURGE_ROUNDS: &str = "chat_users_purge_rounds_total";
const PURGE_PENDING: &str = "chat_users_purge_pending";
const COLD_STARTS: &str = "chat_users_cold_starts_total";

/// A sample's value now.
fn now(name: &str, labels: &[(&str, &str)]) -> f64 {
    value(&prometheus(), name, labels)
}

/// Waits until `holds` (the sender counts an attempt just after the receiver answers it), or
/// panics naming `what` after 10 s.
async fn eventually(what: &str, holds: impl Fn() -> bool) {
    for _ in 0..200 {
        if holds() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what}: still not so after 10 s");
}

/// A signed call sent with `X-Request-ID: request_id`.
async fn call_as(env: &Env, app: &App, request_id: &str, path: &str, body: Value) -> Response {
    let mut request = env.signed(app, path, &body);
    let id = HeaderValue::from_str(request_id).expect("a header value");
    request.headers_mut().insert("x-request-id", id);
    let response = env.send(request).await;
    assert_eq!(response.outcome(), (200, 0), "{path}: {}", response.body);
    assert_eq!(response.headers["x-request-id"], request_id, "echoed");
    response
}

/// Waits for the first event of `kind` whose data matches.
async fn expect(receiver: &Receiver, kind: &str, matches: impl Fn(&Value) -> bool) -> Received {
    let find = |received: &[Received]| {
        received
            .iter()
            .find(|r| r.event_type() == kind && matches(r.data()))
            .cloned()
    };
    let received = receiver.wait_for(WAIT, |r| find(r).is_some()).await;
    find(&received).expect("found")
}

fn request_id_of(received: &Received) -> Option<&str> {
    received.headers.get("x-request-id").map(String::as_str)
}

#[tokio::test]
async fn a_profile_set_reaches_the_receiver_with_its_request_id_and_a_removal_with_none() {
    let env = isolated_env("observability-profile").await;
    let receiver = Receiver::start().await;
    let app = receiver.app_of(&env, &[WebhookEvent::ProfileUpdate]).await;
    env.issue(&app, "alice").await;
    let profile_updates = [("type", "user:profile_update")];
    let delivered = [("outcome", "delivered")];
    let (produced, attempts, latencies) = (
        now(EVENTS, &profile_updates),
        now(ATTEMPTS, &delivered),
        now(LATENCIES, &[]),
    );
    let _pipeline = env.deliver_webhooks(&[Duration::from_millis(500)]).await;

    let set = json!({"userId": "alice", "userProfile": {"name": "A"}});
    call_as(&env, &app, "req-abc", "/v4/user/profile/set", set).await;
    let update = expect(&receiver, "user:profile_update", |d| {
        d["operationType"] == 1
    })
    .await;
    assert_eq!(request_id_of(&update), Some("req-abc"));
    // The header is outside what is signed: both signatures verify as before.
    update
        .verify(&app.app_key, &app.app_secret, &app.settings.webhook_secret)
        .expect("signed both ways");

    // The removal's record has no new image: its event carries no request id at all, rather
    // than the id of the set that last wrote the profile.
    let gone = json!({"userIds": ["alice"]});
    call_as(&env, &app, "req-gone", "/v4/user/profile/delete", gone).await;
    let cleared = expect(&receiver, "user:profile_update", |d| {
        d["operationType"] == 0
    })
    .await;
    assert_eq!(request_id_of(&cleared), None);

    // Two events produced (a record the stream delivers twice counts twice: at least once),
    // two first deliveries, each timed from its commit.
    assert!(now(EVENTS, &profile_updates) - produced >= 2.0);
    eventually("two deliveries counted", || {
        now(ATTEMPTS, &delivered) - attempts >= 2.0 && now(LATENCIES, &[]) - latencies >= 2.0
    })
    .await;
}

#[tokio::test]
async fn a_soft_delete_keeps_its_request_id_from_the_call_to_the_purges_webhook() {
    let env = isolated_env("observability-soft-delete").await;
    // The test moves the stack's clock (a restore waits an hour); the receiver's moves with it.
    let receiver = Receiver::start_with_clock(env.state.clock.clone()).await;
    let app = receiver
        .app_of(&env, &[WebhookEvent::ActivationState])
        .await;
    env.issue(&app, "alice").await;
    let _pipeline = env.deliver_webhooks(&[Duration::from_millis(500)]).await;

    let deleted = call_as(
        &env,
        &app,
        "req-soft-delete",
        "/v4/user/soft-delete",
        json!({"userIds": ["alice"]}),
    )
    .await;
    let operation_id = deleted.body["result"]["operationId"]
        .as_str()
        .expect("operationId")
        .to_owned();
    let operation = env.wait_for_operation(&app, &operation_id).await;
    assert_eq!(operation["requestId"], "req-soft-delete", "{operation}");
    let purged = expect(&receiver, "user:activation_state", |d| {
        d["operationType"] == 0
    })
    .await;
    assert_eq!(request_id_of(&purged), Some("req-soft-delete"));

    env.state
        .clock
        .advance_ms(shared::lifecycle::RESTORE_AFTER_MS + 1_000);
    let restored = call_as(
        &env,
        &app,
        "req-restore",
        "/v4/user/restore",
        json!({"userIds": ["alice"]}),
    )
    .await;
    let operation_id = restored.body["result"]["operationId"]
        .as_str()
        .expect("operationId");
    let operation = env.wait_for_operation(&app, operation_id).await;
    assert_eq!(
        (&operation["requestId"], &operation["users"][0]["status"]),
        (&json!("req-restore"), &json!("done")),
        "{operation}"
    );
    let decided = expect(&receiver, "user:activation_state", |d| {
        d["operationType"] == 1
    })
    .await;
    assert_eq!(request_id_of(&decided), Some("req-restore"));
}

/// One scheduled run of the sweeper: over every app (what sets the backlog's metrics), or over
/// `app`'s operations only.
async fn sweep(env: &Env, app: Option<&App>) -> Value {
    let mut event = json!({"detail-type": "Scheduled Event"});
    if let Some(app) = app {
        event["appKey"] = json!(app.app_key);
    }
    let answer =
        local_api::schedule::invoke(&env.functions, local_api::schedule::SWEEP_FUNCTION, event)
            .await
            .expect("invoke");
    assert!(answer.get("error").is_none(), "{answer}");
    assert_eq!(answer["censusComplete"], true, "{answer}");
    answer
}

#[tokio::test]
async fn the_sweepers_census_counts_users_whose_purge_has_not_run_and_none_after() {
    let env = isolated_env("observability-census").await;
    let app = env.dev_app().await;
    let users = ["alice", "bob"];
    for user in users {
        env.issue(&app, user).await;
    }
    let sweeper = [("operation", "sweep-stuck-purges")];
    let (cold_starts, rounds) = (now(COLD_STARTS, &sweeper), now(PURGE_ROUNDS, &[]));
    // Nothing follows the stream: the purge waits until the test runs it.
    let deleted = env
        .answered(
            &app,
            "/v4/user/soft-delete",
            json!({"userIds": users}),
            &[0],
        )
        .await;
    let operation_id = deleted["result"]["operationId"]
        .as_str()
        .expect("operationId")
        .to_owned();
    env.state.clock.advance_ms(90_000);

    let census = sweep(&env, Some(&app)).await;
    assert_eq!(census["pendingUsers"], 2, "{census}");
    let age = census["oldestPendingSeconds"].as_u64().unwrap_or(0);
    assert!((90..=95).contains(&age), "{census}");
    assert_eq!(
        (&census["operations"], &census["finished"]),
        (&json!(0), &json!(0)),
        "younger than the cut-off, and pending: nothing re-driven, its ticket kept: {census}"
    );
    // The sweep over every app (this stack's own table) sets the gauge to what it counted.
    let everything = sweep(&env, None).await;
    assert!(
        everything["pendingUsers"].as_u64() >= Some(2),
        "{everything}"
    );
    assert_eq!(
        now(PURGE_PENDING, &[]),
        everything["pendingUsers"].as_f64().unwrap_or(-1.0)
    );

    for user in users {
        let answer = env
            .deliver_to_purge(&Env::purge_record(&app, user, &operation_id))
            .await;
        assert_eq!(answer, json!({"batchItemFailures": []}));
    }
    assert!(now(PURGE_ROUNDS, &[]) - rounds >= 2.0, "a round per user");

    let census = sweep(&env, Some(&app)).await;
    assert_eq!(
        (&census["pendingUsers"], &census["oldestPendingSeconds"]),
        (&json!(0), &json!(0)),
        "{census}"
    );
    assert_eq!(census["finished"], 1, "forgotten at once: {census}");
    let everything = sweep(&env, None).await;
    assert_eq!(
        now(PURGE_PENDING, &[]),
        everything["pendingUsers"].as_f64().unwrap_or(-1.0)
    );
    assert_eq!(
        sweep(&env, Some(&app)).await["finished"],
        0,
        "the ticket is gone"
    );
    assert_eq!(
        now(COLD_STARTS, &sweeper) - cold_starts,
        1.0,
        "five sweeps, one container, one cold start"
    );
}
