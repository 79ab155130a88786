//! Webhook signatures as receivers and eavesdroppers see them: a delivery's signed URL never
//! authenticates a Server API call, and after a rotation of the webhook secret every delivery
//! carries both signatures for the overlap, then only the new one. Deliveries go through the
//! sender to a real receiver; no pipeline runs (each test records its event and hands the sender
//! the queue message), so the clock can be moved without a retry schedule running beside it.

use integration_tests::receiver::{Received, Receiver};
use integration_tests::{Env, isolated_env, post, signed_operations};
use serde_json::json;
use shared::apps::{App, AppChanges, WEBHOOK_SECRET_OVERLAP_MS, WebhookEvent};
use shared::lambda_http::http::HeaderValue;
use shared::webhooks::events::Event;
use shared::webhooks::guard::Destinations;
use shared::webhooks::post::Poster;
use shared::webhooks::sign::standard_signature;
use shared::webhooks::{deliveries, sender};

async fn app_for(env: &Env, receiver: &Receiver) -> App {
    env.new_app(AppChanges {
        webhook_url: Some(receiver.url.clone()),
        ..Default::default()
    })
    .await
}

/// One event of `app`, sent now (by the stack's clock) by the sender; as the receiver got it.
async fn deliver_one(env: &Env, app: &App, receiver: &Receiver) -> Received {
    let now = env.state.clock.now_ms();
    let random = *uuid::Uuid::new_v4().as_bytes();
    let mut counter = [0; 10];
    counter.copy_from_slice(&random[..10]);
    let event = Event {
        app_key: app.app_key.clone(),
        kind: WebhookEvent::ProfileUpdate,
        id: uuid::Builder::from_unix_timestamp_millis(now as u64, &counter)
            .into_uuid()
            .to_string(),
        time: now,
        data: json!({"operatorId": "alice", "operationType": 0, "time": now}),
        request_id: None,
    };
    // Recorded as the producer would (setup, with the stack's rights); sent by the sender's own
    // container, under its policy.
    let message = deliveries::record(&env.state, &event, now)
        .await
        .expect("recorded");
    sender::deliver(
        &env.function("send-webhooks"),
        &Poster::new(Destinations::AllowLoopback),
        message,
    )
    .await
    .expect("attempted");
    receiver
        .received()
        .into_iter()
        .find(|received| received.id() == event.id)
        .expect("delivered")
}

/// The `webhook-signature` values of a delivery, in order.
fn signatures(delivery: &Received) -> Vec<String> {
    delivery.headers["webhook-signature"]
        .split(' ')
        .map(str::to_owned)
        .collect()
}

/// The delivery's Standard Webhooks signature under `secret`, by the service's own function.
fn signature_under(secret: &str, delivery: &Received) -> String {
    let timestamp_s = delivery.headers["webhook-timestamp"]
        .parse()
        .expect("seconds");
    standard_signature(secret, delivery.id(), timestamp_s, &delivery.body).expect("signed")
}

#[tokio::test]
async fn a_deliverys_signed_url_authenticates_no_api_call() {
    let env = isolated_env("webhook-signing-replay").await;
    let receiver = Receiver::start().await;
    let app = app_for(&env, &receiver).await;
    let delivery = deliver_one(&env, &app, &receiver).await;
    delivery
        .verify(&app.app_key, &app.app_secret, &app.settings.webhook_secret)
        .expect("receivers verify it as Nexconn documents");
    let nonce = &delivery.query["nonce"];
    assert!(
        nonce.len() == 24 && nonce.bytes().all(|b| b.is_ascii_digit()),
        "{nonce}"
    );

    // Whoever sees the URL (a receiver's access log, a proxy) sends its four values as the
    // signing headers, at once, to every signed operation: reads (whose nonces are not
    // recorded) and changes alike are refused.
    let operations = signed_operations();
    assert!(operations.len() > 30, "{operations:?}");
    let mut accepted = Vec::new();
    for (function, path, body) in operations {
        let mut request = post(&path, body.to_string());
        for (header, param) in [
            ("app-key", "appKey"),
            ("nonce", "nonce"),
            ("timestamp", "timestamp"),
            ("signature", "signature"),
        ] {
            let value = HeaderValue::from_str(&delivery.query[param]).expect("header");
            request.headers_mut().insert(header, value);
        }
        let response = env.send(request).await;
        if response.outcome() != (401, 1004) {
            accepted.push(format!("{function} {path}: {}", response.body));
        }
    }
    assert!(
        accepted.is_empty(),
        "not refused with 401/1004: {accepted:#?}"
    );
}

#[tokio::test]
async fn after_a_rotation_both_secrets_sign_until_the_overlap_ends() {
    let env = isolated_env("webhook-signing-rotation").await;
    let receiver = Receiver::start_with_clock(env.state.clock.clone()).await;
    let app = app_for(&env, &receiver).await;
    let rotate = || async {
        let before = env.state.clock.now_ms();
        let rotated = env
            .console(
                "/console/v1/apps/rotate-webhook-secret",
                json!({"appKey": app.app_key}),
            )
            .await;
        assert_eq!(rotated.outcome(), (200, 0), "{}", rotated.body);
        let result = &rotated.body["result"];
        let until = result["previousWebhookSecretUntil"]
            .as_i64()
            .expect("the console states the overlap");
        let after = env.state.clock.now_ms();
        assert!(
            (before + WEBHOOK_SECRET_OVERLAP_MS..=after + WEBHOOK_SECRET_OVERLAP_MS)
                .contains(&until),
            "24 hours: {until}"
        );
        let secret = result["webhookSecret"].as_str().expect("secret").to_owned();
        (secret, until)
    };
    let old = app.settings.webhook_secret.clone();
    let (new, until) = rotate().await;
    assert_ne!(new, old);

    // The console shows the current secret and the overlap's end, never the replaced secret.
    let shown = env
        .console("/console/v1/apps/get", json!({"appKey": app.app_key}))
        .await;
    let settings = &shown.body["result"]["settings"];
    assert_eq!(settings["webhookSecret"], new.as_str());
    assert_eq!(settings["previousWebhookSecretUntil"], until);
    assert!(!shown.body.to_string().contains(&old), "{}", shown.body);

    // During the overlap, a receiver still holding the old key and one holding the new key both
    // verify the same delivery: both signatures, the new one first.
    let during = deliver_one(&env, &app, &receiver).await;
    for key in [&old, &new] {
        during
            .verify(&app.app_key, &app.app_secret, key)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    assert_eq!(
        signatures(&during),
        [
            signature_under(&new, &during),
            signature_under(&old, &during)
        ]
    );

    // A second rotation within the overlap keeps only the secret it replaced.
    let (newest, until) = rotate().await;
    let again = deliver_one(&env, &app, &receiver).await;
    assert_eq!(
        signatures(&again),
        [
            signature_under(&newest, &again),
            signature_under(&new, &again)
        ]
    );
    assert!(
        again
            .verify(&app.app_key, &app.app_secret, &old)
            .is_err_and(|e| e.contains("webhook-signature")),
        "the first secret no longer signs"
    );

    // Once the overlap is over (the receiver's clock moves with the stack's), only the current
    // secret signs.
    env.state.clock.advance_ms(until - env.state.clock.now_ms());
    let past = deliver_one(&env, &app, &receiver).await;
    assert_eq!(signatures(&past), [signature_under(&newest, &past)]);
    past.verify(&app.app_key, &app.app_secret, &newest)
        .expect("the current key verifies");
    assert!(
        past.verify(&app.app_key, &app.app_secret, &new)
            .is_err_and(|e| e.contains("webhook-signature")),
        "the replaced key no longer does"
    );
}
