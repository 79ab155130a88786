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

#[tokio::test]
async fn every_user_event_reaches_the_receiver_signed_both_ways_with_its_fields() {
    let env = isolated_env("webhooks-events").await;
    // The test moves the stack's clock; the receiver's moves with it, as a real one agrees.
    let receiver = Receiver::start_with_clock(env.state.clock.clone()).await;
    let app = receiver.app_of(&env, &ALL).await;
    let _pipeline = env.deliver_webhooks(&[Duration::from_millis(500)]).await;
    for user in ["alice", "bob", "carol", "dave"] {
        env.issue(&app, user).await;
    }
    let addr = serve(&env).await;

    // Connections: open, then close.
    let token = env.issue(&app, "alice").await;
    let socket = connect(addr, &token).await.expect("alice connects");
    let opened = expect(&receiver, "user:connection_status", |d| {
        d["userId"] == "alice" && d["status"] == "0"
    })
    .await;
    let session = opened.data()["sessionId"]
        .as_str()
        .expect("sessionId")
        .to_owned();
    assert_eq!(opened.data()["os"], "Websocket");
    assert_eq!(opened.data()["clientIp"], "127.0.0.1:0");
    assert!(opened.data()["time"].as_i64().is_some());
    drop(socket);
    let closed = expect(&receiver, "user:connection_status", |d| {
        d["userId"] == "alice" && d["status"] == "1"
    })
    .await;
    assert_eq!(closed.data()["sessionId"], session.as_str());
    assert!(
        closed.data()["time"].as_i64() >= opened.data()["time"].as_i64(),
        "closed after opened"
    );

    // Hosted profiles: set (as stored), then cleared.
    let profile = json!({"userId": "alice", "userProfile": {"name": "Alice", "level": 3}, "userExtProfile": {"ext_color": "blue"}});
    ok(&env, &app, "/v4/user/profile/set", profile).await;
    let set = expect(&receiver, "user:profile_update", |d| {
        d["operationType"] == 1
    })
    .await;
    assert_eq!(set.data()["operatorId"], "alice");
    assert_eq!(
        set.data()["userProfile"],
        json!({"name": "Alice", "level": 3})
    );
    assert_eq!(set.data()["userMetaData"], json!({"ext_color": "blue"}));
    ok(
        &env,
        &app,
        "/v4/user/profile/delete",
        json!({"userIds": ["alice"]}),
    )
    .await;
    let cleared = expect(&receiver, "user:profile_update", |d| {
        d["operationType"] == 0
    })
    .await;
    assert_eq!(cleared.data()["operatorId"], "alice");
    assert!(
        cleared.data().get("userProfile").is_none(),
        "empty fields are left out"
    );

    // Friendships: requested, accepted, added directly, removed, requested and rejected,
    // and removed all.
    let request = json!({"userId": "alice", "targetId": "bob", "action": 1, "extra": "hi"});
    ok(&env, &app, "/v4/friend/add", request).await;
    let requested = expect(&receiver, "user:friendship", |d| {
        friendship(d, 1, "alice", "bob")
    })
    .await;
    assert_eq!(
        (&requested.data()["extra"], &requested.data()["os"]),
        (&json!("hi"), &json!("Server"))
    );
    ok(
        &env,
        &app,
        "/v4/ext/friend/request/accept",
        json!({"userId": "bob", "requesterId": "alice"}),
    )
    .await;
    expect(&receiver, "user:friendship", |d| {
        friendship(d, 2, "bob", "alice")
    })
    .await;
    ok(
        &env,
        &app,
        "/v4/friend/add",
        json!({"userId": "alice", "targetId": "carol", "action": 2}),
    )
    .await;
    let direct = expect(&receiver, "user:friendship", |d| {
        friendship(d, 5, "alice", "carol")
    })
    .await;
    assert!(direct.data().get("extra").is_none());
    ok(
        &env,
        &app,
        "/v4/friend/remove",
        json!({"userId": "alice", "targetIds": ["bob"]}),
    )
    .await;
    expect(&receiver, "user:friendship", |d| {
        friendship(d, 4, "alice", "bob")
    })
    .await;
    ok(
        &env,
        &app,
        "/v4/friend/add",
        json!({"userId": "dave", "targetId": "alice", "action": 1}),
    )
    .await;
    expect(&receiver, "user:friendship", |d| {
        friendship(d, 1, "dave", "alice")
    })
    .await;
    ok(
        &env,
        &app,
        "/v4/ext/friend/request/reject",
        json!({"userId": "alice", "requesterId": "dave"}),
    )
    .await;
    expect(&receiver, "user:friendship", |d| {
        friendship(d, 3, "alice", "dave")
    })
    .await;
    ok(
        &env,
        &app,
        "/v4/friend/add",
        json!({"userId": "bob", "targetId": "dave", "action": 2}),
    )
    .await;
    ok(
        &env,
        &app,
        "/v4/friend/add",
        json!({"userId": "bob", "targetId": "alice", "action": 2}),
    )
    .await;
    ok(
        &env,
        &app,
        "/v4/friend/remove-all",
        json!({"userId": "bob"}),
    )
    .await;
    expect(&receiver, "user:friendship", |d| {
        friendship(d, 4, "bob", "dave")
    })
    .await;
    expect(&receiver, "user:friendship", |d| {
        friendship(d, 4, "bob", "alice")
    })
    .await;

    // A soft delete closes carol's live connection ("2"); its purge completes (0); an hour
    // later a restore is decided for carol (1, "0") and refused for bob (1, "20103").
    let token = env.issue(&app, "carol").await;
    let _carol = connect(addr, &token).await.expect("carol connects");
    expect(&receiver, "user:connection_status", |d| {
        d["userId"] == "carol" && d["status"] == "0"
    })
    .await;
    let deleted = ok(
        &env,
        &app,
        "/v4/user/soft-delete",
        json!({"userIds": ["carol"]}),
    )
    .await;
    let operation = deleted["result"]["operationId"]
        .as_str()
        .expect("operationId")
        .to_owned();
    expect(&receiver, "user:connection_status", |d| {
        d["userId"] == "carol" && d["status"] == "2"
    })
    .await;
    let purged = expect(&receiver, "user:activation_state", |d| {
        d["userId"] == "carol"
    })
    .await;
    assert_eq!(
        (
            &purged.data()["operationType"],
            &purged.data()["code"],
            &purged.data()["operateId"]
        ),
        (&json!(0), &json!("0"), &json!(operation))
    );
    env.state.clock.advance_ms(61 * 60 * 1000);
    let restored = ok(
        &env,
        &app,
        "/v4/user/restore",
        json!({"userIds": ["carol", "bob"]}),
    )
    .await;
    let restore = restored["result"]["operationId"]
        .as_str()
        .expect("operationId")
        .to_owned();
    for (user, code) in [("carol", "0"), ("bob", "20103")] {
        let decided = expect(&receiver, "user:activation_state", |d| {
            d["userId"] == user && d["operationType"] == 1
        })
        .await;
        assert_eq!(
            (&decided.data()["code"], &decided.data()["operateId"]),
            (&json!(code), &json!(restore))
        );
    }

    // Every request carries both signatures; the envelope is as documented; each change made
    // exactly one event (the stream's duplicates made the same IDs); no connection event "1"
    // for carol, whose connection the soft delete reported.
    let received = receiver.received();
    let events = distinct(&received);
    for event in &received {
        event
            .verify(&app.app_key, &app.app_secret, &app.settings.webhook_secret)
            .unwrap_or_else(|e| panic!("{e}: {:?}", event.json));
        assert_eq!(event.path, "/hooks/chat");
        assert_eq!(event.query["source"], "test", "the URL's own query is kept");
        let envelope = &event.json;
        assert_eq!(envelope["data"].as_array().map(Vec::len), Some(1));
        assert!(envelope["time"].as_i64().is_some());
        assert_eq!(
            uuid::Uuid::parse_str(event.id()).map(|u| u.get_version_num()),
            Ok(7)
        );
        assert!(
            !envelope.to_string().contains("null"),
            "no nulls: {envelope}"
        );
    }
    let carol_closed: Vec<_> = events
        .iter()
        .filter(|r| r.event_type() == "user:connection_status" && r.data()["userId"] == "carol")
        .map(|r| r.data()["status"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(carol_closed, ["0", "2"]);
    let count = |kind: &str| events.iter().filter(|r| r.event_type() == kind).count();
    // 1, 2, 5, 4; 1, 3; bob's two direct adds (5) and his remove-all (4 per pair).
    assert_eq!(
        count("user:friendship"),
        10,
        "{:#?}",
        events.iter().map(|e| e.data()).collect::<Vec<_>>()
    );
    assert_eq!(count("user:profile_update"), 2);
    assert_eq!(count("user:activation_state"), 3);

    // The log has each of them, delivered once.
    let log = settled_log(&env, &app, Some("delivered"), |log| {
        log.len() >= events.len()
    })
    .await;
    assert_eq!(log.len(), events.len(), "{log:#?}");
    for entry in &log {
        assert_eq!(entry["attempts"], 1, "{entry}");
        assert_eq!(entry["lastStatusCode"], 204);
    }
}

#[tokio::test]
async fn a_failed_attempt_is_retried_with_the_same_id_and_every_attempt_is_logged() {
    let env = isolated_env("webhooks-retry").await;
    let receiver = Receiver::start().await;
    let app = receiver.app_of(&env, &[WebhookEvent::ProfileUpdate]).await;
    let _pipeline = env
        .deliver_webhooks(&[Duration::from_millis(300), Duration::from_millis(300)])
        .await;
    env.issue(&app, "alice").await;
    // A 500, then a receiver that does not answer within 5 s, then success.
    receiver.reply_next(&[Reply::Status(500), Reply::Hang(Duration::from_secs(6))]);
    ok(
        &env,
        &app,
        "/v4/user/profile/set",
        json!({"userId": "alice", "userProfile": {"name": "A"}}),
    )
    .await;
    let received = receiver
        .wait_for(Duration::from_secs(30), |r| {
            r.iter().any(|r| r.reply == 204)
        })
        .await;
    let ids: std::collections::HashSet<&str> = received.iter().map(Received::id).collect();
    assert_eq!(ids.len(), 1, "every attempt carries the same id");
    let replies: Vec<u16> = received.iter().map(|r| r.reply).collect();
    assert_eq!(
        replies,
        [500, 200, 204],
        "500, the timeout (answered too late), then success"
    );
    let gap = received[2].at - received[1].at;
    assert!(
        gap >= Duration::from_secs(5),
        "the timed-out attempt waited 5 s: {gap:?}"
    );
    let log = settled_log(&env, &app, None, |log| {
        log.first().is_some_and(|d| d["status"] != "pending")
    })
    .await;
    assert_eq!(log.len(), 1);
    assert_eq!(
        (
            &log[0]["status"],
            &log[0]["attempts"],
            &log[0]["lastStatusCode"]
        ),
        (&json!("delivered"), &json!(3), &json!(204))
    );
    assert_eq!(log[0]["eventId"], received[0].id());
    assert!(log[0].get("nextAttemptAt").is_none());
    // The attempts themselves: code, latency and time of each.
    let stored = shared::webhooks::deliveries::get(&env.state, &app.app_key, received[0].id())
        .await
        .expect("read")
        .expect("logged");
    let codes: Vec<Option<u16>> = stored.history.iter().map(|a| a.status_code).collect();
    assert_eq!(codes, [Some(500), None, Some(204)]);
    assert!(
        stored.history[1]
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("timed out")
    );
    assert!(stored.history[1].latency_ms >= 5000);
    assert!(stored.history.windows(2).all(|w| w[0].at < w[1].at));
}

#[tokio::test]
async fn failed_events_are_replayed_by_id_and_since_with_their_ids() {
    let env = isolated_env("webhooks-replay").await;
    let receiver = Receiver::start().await;
    let app = receiver.app_of(&env, &[WebhookEvent::ProfileUpdate]).await;
    // One retry, then failed.
    let _pipeline = env.deliver_webhooks(&[Duration::from_millis(200)]).await;
    env.issue(&app, "alice").await;
    env.issue(&app, "bob").await;
    let before = env.state.clock.now_ms();
    receiver.reply_next(&[Reply::Status(503); 4]);
    for user in ["alice", "bob"] {
        ok(
            &env,
            &app,
            "/v4/user/profile/set",
            json!({"userId": user, "userProfile": {"name": user}}),
        )
        .await;
    }
    for _ in 0..200 {
        if delivery_log(&env, &app, Some("failed")).await.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let failed = delivery_log(&env, &app, Some("failed")).await;
    assert_eq!(failed.len(), 2, "{failed:#?}");
    assert!(
        failed
            .iter()
            .all(|f| f["attempts"] == 2 && f["lastStatusCode"] == 503)
    );
    assert!(delivery_log(&env, &app, Some("pending")).await.is_empty());
    assert!(
        failed[0]["createdAt"].as_i64() >= failed[1]["createdAt"].as_i64(),
        "newest first"
    );
    let first_id = failed[1]["eventId"].as_str().expect("id").to_owned();

    // By id: that one event again, with its id.
    let replayed = ok(
        &env,
        &app,
        "/v4/ext/webhook/replay",
        json!({"eventIds": [first_id]}),
    )
    .await;
    assert_eq!(replayed["result"]["replayed"], 1);
    receiver
        .wait_for(WAIT, |r| {
            r.iter().filter(|r| r.id() == first_id).count() == 3
        })
        .await;
    let mut delivered = Vec::new();
    for _ in 0..100 {
        delivered = delivery_log(&env, &app, Some("delivered")).await;
        if !delivered.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(delivered.len(), 1);
    assert_eq!(
        (&delivered[0]["eventId"], &delivered[0]["attempts"]),
        (&json!(first_id), &json!(3))
    );

    // Since: every event still failed since then (the other one).
    let replayed = ok(
        &env,
        &app,
        "/v4/ext/webhook/replay",
        json!({"since": before}),
    )
    .await;
    assert_eq!(replayed["result"]["replayed"], 1);
    let second_id = failed[0]["eventId"].as_str().expect("id").to_owned();
    receiver
        .wait_for(WAIT, |r| {
            r.iter().any(|r| r.id() == second_id && r.reply == 204)
        })
        .await;
    // Nothing failed since later than both.
    let later = ok(
        &env,
        &app,
        "/v4/ext/webhook/replay",
        json!({"since": env.state.clock.now_ms() + 1}),
    )
    .await;
    assert_eq!(later["result"]["replayed"], 0);
    // An id of no event replays nothing; a malformed one is refused.
    let unknown = ok(
        &env,
        &app,
        "/v4/ext/webhook/replay",
        json!({"eventIds": [unused_event_id()]}),
    )
    .await;
    assert_eq!(unknown["result"]["replayed"], 0);
    let bad = env
        .call(&app, "/v4/ext/webhook/replay", json!({"eventIds": ["x"]}))
        .await;
    assert_eq!(bad.outcome(), (400, 1002));
    let log = settled_log(&env, &app, None, |log| {
        log.iter().all(|d| d["status"] == "delivered")
    })
    .await;
    for entry in log {
        assert_eq!(entry["status"], "delivered", "{entry}");
    }
}

#[tokio::test]
async fn nothing_is_sent_for_a_refused_request_or_an_event_not_selected() {
    let env = isolated_env("webhooks-unsent").await;
    let receiver = Receiver::start().await;
    let app = receiver.app_of(&env, &[WebhookEvent::Friendship]).await;
    let _pipeline = env.deliver_webhooks(&[Duration::from_millis(200)]).await;
    env.issue(&app, "alice").await;
    env.issue(&app, "bob").await;
    // Refused: a friend who does not exist; a removal of friends who are not friends.
    let refused = env
        .call(
            &app,
            "/v4/friend/add",
            json!({"userId": "alice", "targetId": "nobody", "action": 2}),
        )
        .await;
    assert_ne!(refused.status, 200, "{}", refused.body);
    ok(
        &env,
        &app,
        "/v4/friend/remove",
        json!({"userId": "alice", "targetIds": ["bob"]}),
    )
    .await;
    // Not selected: profiles.
    ok(
        &env,
        &app,
        "/v4/user/profile/set",
        json!({"userId": "alice", "userProfile": {"name": "A"}}),
    )
    .await;
    // Then two selected changes in alice's partition, the second a sentinel: once it is here,
    // anything the earlier changes of the partition made would be here too (a slow pipeline
    // makes the test wait, never pass).
    ok(
        &env,
        &app,
        "/v4/friend/add",
        json!({"userId": "alice", "targetId": "bob", "action": 2}),
    )
    .await;
    ok(
        &env,
        &app,
        "/v4/friend/remove",
        json!({"userId": "alice", "targetIds": ["bob"]}),
    )
    .await;
    expect(&receiver, "user:friendship", |d| {
        friendship(d, 4, "alice", "bob")
    })
    .await;
    let events = distinct(&receiver.received());
    assert_eq!(
        events.len(),
        2,
        "the add and the sentinel only: {:#?}",
        events.iter().map(|e| &e.json).collect::<Vec<_>>()
    );
    assert!(
        find(&events, "user:friendship", |d| friendship(
            d, 5, "alice", "bob"
        ))
        .is_some()
    );
    // An app without a webhook URL gets nothing logged.
    let quiet = env
        .new_app(AppChanges {
            webhook_events: Some(ALL.to_vec()),
            ..Default::default()
        })
        .await;
    env.issue(&quiet, "alice").await;
    ok(
        &env,
        &quiet,
        "/v4/user/profile/set",
        json!({"userId": "alice", "userProfile": {"name": "A"}}),
    )
    .await;
    // The producer itself, handed the change's stream record (no waiting on the pipeline): it
    // answers without failures and logs nothing for an app without a URL.
    let record = json!({"eventID": "quiet-1", "eventName": "REMOVE", "dynamodb": {
        "ApproximateCreationDateTime": env.state.clock.now_ms() / 1000,
        "Keys": {"PK": {"S": shared::table::user_pk(&quiet.app_key, "alice")}, "SK": {"S": "PROFILE"}},
        "SequenceNumber": "1",
    }});
    let answer = shared::webhooks::producer::handle(
        &env.function("produce-webhook-events"),
        &json!({"Records": [record]}),
    )
    .await;
    assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
    assert!(delivery_log(&env, &quiet, None).await.is_empty());
}

#[tokio::test]
async fn on_aws_a_loopback_receiver_is_refused_and_the_refusal_logged() {
    let env = isolated_env("webhooks-ssrf").await;
    let receiver = Receiver::start().await;
    let app = receiver.app_of(&env, &[WebhookEvent::ProfileUpdate]).await;
    env.functions.set_retry_delays(vec![]);
    let sender = env.function("send-webhooks");
    // The stream's producer, by hand: the record of a profile set.
    env.issue(&app, "alice").await;
    ok(
        &env,
        &app,
        "/v4/user/profile/set",
        json!({"userId": "alice", "userProfile": {"name": "A"}}),
    )
    .await;
    let event = shared::webhooks::events::Event {
        app_key: app.app_key.clone(),
        kind: WebhookEvent::ProfileUpdate,
        id: unused_event_id(),
        time: env.state.clock.now_ms(),
        data: json!({"operatorId": "alice", "operationType": 0, "time": 1}),
        request_id: None,
    };
    let message = shared::webhooks::deliveries::record(
        &env.function("produce-webhook-events"),
        &event,
        event.time,
    )
    .await
    .expect("recorded");
    // The deployed sender's poster: public destinations only.
    let poster = Poster::new(Destinations::PublicOnly);
    shared::webhooks::sender::deliver(&sender, &poster, message)
        .await
        .expect("attempted");
    assert!(receiver.received().is_empty(), "nothing reached 127.0.0.1");
    let stored = shared::webhooks::deliveries::get(&env.state, &app.app_key, &event.id)
        .await
        .expect("read")
        .expect("logged");
    assert_eq!((stored.status.as_str(), stored.attempts), ("failed", 1));
    let error = stored.history[0].error.clone().unwrap_or_default();
    assert!(error.contains("destination refused"), "{error}");
    assert_eq!(stored.history[0].status_code, None);
}

#[tokio::test]
async fn the_console_sets_the_webhook_and_rotates_its_secret() {
    let env = isolated_env("webhooks-console").await;
    let created = env.console("/console/v1/apps/create", json!({"webhookUrl": "https://hooks.example.com/chat", "webhookEvents": ["user:friendship", "user:friendship"]})).await;
    assert_eq!(created.outcome(), (200, 0), "{}", created.body);
    let app_key = created.body["result"]["appKey"]
        .as_str()
        .expect("appKey")
        .to_owned();
    let shown = env
        .console("/console/v1/apps/get", json!({"appKey": app_key}))
        .await;
    let settings = &shown.body["result"]["settings"];
    assert_eq!(settings["webhookUrl"], "https://hooks.example.com/chat");
    assert_eq!(settings["webhookEvents"], json!(["user:friendship"]));
    let secret = settings["webhookSecret"]
        .as_str()
        .expect("secret")
        .to_owned();
    assert!(
        secret.starts_with("whsec_") && secret.len() == 6 + 44,
        "{secret}"
    );
    let rotated = env
        .console(
            "/console/v1/apps/rotate-webhook-secret",
            json!({"appKey": app_key}),
        )
        .await;
    assert_eq!(rotated.outcome(), (200, 0), "{}", rotated.body);
    let new_secret = rotated.body["result"]["webhookSecret"]
        .as_str()
        .expect("secret");
    assert_ne!(new_secret, secret);
    let shown = env
        .console("/console/v1/apps/get", json!({"appKey": app_key}))
        .await;
    assert_eq!(
        shown.body["result"]["settings"]["webhookSecret"],
        new_secret
    );
    for bad in [
        json!({"webhookUrl": "ftp://x"}),
        json!({"webhookEvents": ["user:online"]}),
        json!({"callbackUrl": "https://x.example.com"}),
    ] {
        let mut body = bad.clone();
        body["appKey"] = json!(app_key);
        let refused = env.console("/console/v1/apps/update", body).await;
        assert_eq!(refused.status, 400, "{bad}: {}", refused.body);
    }
    let off = env
        .console(
            "/console/v1/apps/update",
            json!({"appKey": app_key, "webhookUrl": ""}),
        )
        .await;
    assert_eq!(off.outcome(), (200, 0), "{}", off.body);
    assert!(
        off.body["result"]["settings"]
            .get("webhookUrl")
            .is_none_or(Value::is_null)
    );
    let unknown = env
        .console(
            "/console/v1/apps/rotate-webhook-secret",
            json!({"appKey": "nosuchapp"}),
        )
        .await;
    assert_eq!(unknown.status, 404, "{}", unknown.body);
}

#[tokio::test]
async fn a_message_that_keeps_failing_is_dead_lettered_and_its_event_replayed() {
    let env = isolated_env("webhooks-dead-letter").await;
    let receiver = Receiver::start().await;
    let app = receiver.app_of(&env, &[WebhookEvent::ProfileUpdate]).await;
    let _pipeline = env.deliver_webhooks(&[Duration::from_millis(200)]).await;
    env.issue(&app, "alice").await;
    // An event in the log, and a message for an attempt whose predecessor never recorded (as
    // if that one were lost): the sender answers "busy" to every receive.
    let now = env.state.clock.now_ms();
    let event = shared::webhooks::events::Event {
        app_key: app.app_key.clone(),
        kind: WebhookEvent::ProfileUpdate,
        id: uuid::Builder::from_unix_timestamp_millis(now as u64, &[9; 10])
            .into_uuid()
            .to_string(),
        time: now,
        data: json!({"operatorId": "alice", "operationType": 0, "time": now}),
        request_id: None,
    };
    let producer = env.function("produce-webhook-events");
    let first = shared::webhooks::deliveries::record(&producer, &event, now)
        .await
        .expect("recorded");
    let ahead = shared::queue::QueuedDelivery {
        attempt: 1,
        ..first
    };
    producer
        .webhooks
        .queue()
        .send(vec![(ahead, Duration::ZERO)])
        .await
        .expect("queued");
    let dead = env.functions.webhook_queue.dead_letters.clone();
    for _ in 0..200 {
        if !dead.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        dead.lock().unwrap().len(),
        1,
        "dead-lettered after 5 receives"
    );
    assert!(receiver.received().is_empty(), "nothing was posted");
    let log = delivery_log(&env, &app, Some("pending")).await;
    assert_eq!((log.len(), &log[0]["attempts"]), (1, &json!(0)), "{log:#?}");
    // What the README says to do: replay it by id.
    let replayed = ok(
        &env,
        &app,
        "/v4/ext/webhook/replay",
        json!({"eventIds": [event.id]}),
    )
    .await;
    assert_eq!(replayed["result"]["replayed"], 1);
    let received = receiver
        .wait_for(WAIT, |r| r.iter().any(|r| r.id() == event.id))
        .await;
    received[0]
        .verify(&app.app_key, &app.app_secret, &app.settings.webhook_secret)
        .expect("signed");
    let log = settled_log(&env, &app, Some("delivered"), |log| log.len() == 1).await;
    assert_eq!(log.len(), 1, "{log:#?}");
}
