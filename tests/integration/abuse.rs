//! Abuse costs almost nothing: made-up App-Keys and forged token claims are answered from the
//! container's memory after one read, and claims that could not be a key cost no read at all.

use base64::Engine as _;
use integration_tests::{logged_env, post, sign_headers};
use serde_json::json;
use shared::access::{self, Rejection, VerifyError};

/// A JWT-shaped token with these claims and a signature of nothing: what an attacker can forge.
fn forged_token(app: &str, sub: &str) -> String {
    let part = |value: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
    };
    let header = part(json!({"alg": "HS256", "typ": "JWT"}));
    let claims = part(json!({"app": app, "sub": sub, "iat": 1, "iatMs": 1000, "jti": "x"}));
    format!("{header}.{claims}.c2lnbmF0dXJl")
}

#[tokio::test]
async fn a_hundred_unknown_app_keys_cost_one_read_each_then_none() {
    let (env, log) = logged_env().await;
    let keys: Vec<String> = (0..100)
        .map(|i| format!("nosuchapp{i}x{}", uuid::Uuid::new_v4().simple()))
        .collect();
    let mut refused = 0;
    for round in 0..3 {
        for key in &keys {
            let mut request = post("/v4/user/get", json!({"userId": "alice"}).to_string());
            sign_headers(
                request.headers_mut(),
                key,
                "made-up-secret",
                env.state.clock.now_ms(),
            );
            let outcome = env.send(request).await.outcome();
            assert_eq!(outcome.0, 401, "round {round}: {outcome:?}");
            refused += 1;
        }
        let requests = log.take();
        let expected = if round == 0 { keys.len() } else { 0 };
        assert_eq!(
            requests.len(),
            expected,
            "round {round}: {} requests for {} unknown keys: {requests:?}",
            requests.len(),
            keys.len()
        );
    }
    assert_eq!(refused, 300);
}

#[tokio::test]
async fn forged_token_claims_cost_one_read_per_app_and_impossible_ones_none() {
    let (env, log) = logged_env().await;
    let rejection = |result: Result<access::VerifiedToken, VerifyError>| match result {
        Err(VerifyError::Rejected(r)) => r,
        other => panic!("expected a rejection, got {other:?}"),
    };
    let forged_app = format!("forged{}", uuid::Uuid::new_v4().simple());
    for attempt in 0..20 {
        let token = forged_token(&forged_app, &format!("user{attempt}"));
        assert_eq!(
            rejection(access::verify(&env.state, &token).await),
            Rejection::UnknownApp
        );
    }
    assert_eq!(
        log.take().len(),
        1,
        "one BatchGetItem for 20 forged tokens of one app"
    );

    // Claims no real key or user ID could have are refused before any read.
    for (app, sub) in [
        ("a".repeat(3_000), "u".to_owned()),
        ("k".into(), "u".repeat(3_000)),
        ("k#1".into(), "u".into()),
    ] {
        assert_eq!(
            rejection(access::verify(&env.state, &forged_token(&app, &sub)).await),
            Rejection::Invalid
        );
    }
    assert_eq!(log.take(), Vec::<String>::new());
}

/// App-Keys are public in client apps: a flood of requests signed with a wrong secret re-reads
/// the (cached) app at most once per container per second, not once per request, so it cannot
/// spend the app item's read capacity; the right secret still works throughout.
#[tokio::test]
async fn a_flood_of_bad_signatures_costs_one_app_read_per_second() {
    let (env, log) = logged_env().await;
    let app = env.dev_app().await;
    env.issue(&app, "alice").await;
    env.warm(&app);
    log.take();
    let started = std::time::Instant::now();
    let mut refused = 0;
    for _ in 0..6 {
        let flood = (0..50).map(|_| {
            let mut request = post("/v4/user/get", json!({"userId": "alice"}).to_string());
            sign_headers(
                request.headers_mut(),
                &app.app_key,
                "not-the-secret",
                env.state.clock.now_ms(),
            );
            env.send(request)
        });
        for response in futures::future::join_all(flood).await {
            assert_eq!(response.outcome(), (401, 1004), "{}", response.body);
            refused += 1;
        }
        let good = env
            .call(&app, "/v4/user/get", json!({"userId": "alice"}))
            .await;
        assert_eq!(good.outcome(), (200, 0), "{}", good.body);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let seconds = started.elapsed().as_secs() + 1;
    let app_reads = log
        .take()
        .iter()
        .filter(|name| name.as_str() == "GetItem")
        .count()
        // The six good calls' own reads of alice.
        - 6;
    assert_eq!(refused, 300);
    assert!(
        app_reads as u64 <= seconds,
        "{app_reads} re-reads of the app in {seconds} s of 300 bad signatures"
    );
}
