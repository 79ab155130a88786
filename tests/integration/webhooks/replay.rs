//! Replay by id and since; nothing is sent for a refused request or an event the app did not select.

use super::*;

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
