//! Every user event reaches the receiver signed both ways; a failed attempt is retried with the same id.

use super::*;

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
