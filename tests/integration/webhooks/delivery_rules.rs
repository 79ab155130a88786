//! Loopback receivers refused on AWS, the console's webhook settings, and dead-lettered messages.

use super::*;

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
