//! Access tokens checked "against the records".

use integration_tests::env;
use serde_json::json;
use shared::access::{self, Rejection, VerifyError};

fn rejection(result: Result<access::VerifiedToken, VerifyError>) -> Rejection {
    match result {
        Err(VerifyError::Rejected(r)) => r,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test]
async fn expire_kills_tokens_issued_before_and_keeps_those_after() {
    let env = env().await;
    let app = env.dev_app().await;
    let before = env.issue(&app, "alice").await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let expires_at = env.state.clock.now_ms();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let at_or_after = env.issue(&app, "alice").await;
    let other_user = env.issue(&app, "bob").await;

    let response = env
        .call(
            &app,
            "/v4/auth/access-token/expire",
            json!({"userIds": ["alice"], "expiresAt": expires_at}),
        )
        .await;
    assert_eq!(response.outcome(), (200, 0));

    assert_eq!(
        rejection(access::verify(&env.state, &before).await),
        Rejection::Expired
    );
    assert_eq!(
        access::verify(&env.state, &at_or_after)
            .await
            .unwrap()
            .user_id,
        "alice"
    );
    assert_eq!(
        access::verify(&env.state, &other_user)
            .await
            .unwrap()
            .user_id,
        "bob"
    );

    // An earlier expiresAt never revives what a later one expired.
    env.call(
        &app,
        "/v4/auth/access-token/expire",
        json!({"userIds": ["alice"], "expiresAt": 946_684_800_000_i64}),
    )
    .await;
    assert_eq!(
        rejection(access::verify(&env.state, &before).await),
        Rejection::Expired
    );
}

#[tokio::test]
async fn rotating_the_app_secret_invalidates_tokens() {
    let env = env().await;
    let app = env.dev_app().await;
    let old = env.issue(&app, "carol").await;
    assert!(access::verify(&env.state, &old).await.is_ok());
    shared::apps::rotate_secret(&env.state, &app.app_key)
        .await
        .unwrap();
    assert_eq!(
        rejection(access::verify(&env.state, &old).await),
        Rejection::Invalid
    );
}

#[tokio::test]
async fn garbage_unknown_users_and_offline_apps_are_refused() {
    let env = env().await;
    let app = env.dev_app().await;
    assert_eq!(
        rejection(access::verify(&env.state, "not-a-token").await),
        Rejection::Invalid
    );
    let valid = env.issue(&app, "dave").await;
    let mut tampered = valid.clone();
    tampered.pop();
    tampered.push(if valid.ends_with('A') { 'B' } else { 'A' });
    assert_eq!(
        rejection(access::verify(&env.state, &tampered).await),
        Rejection::Invalid
    );

    shared::apps::update(
        &env.state,
        &app.app_key,
        shared::apps::AppChanges {
            status: Some(shared::apps::AppStatus::Offline),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        rejection(access::verify(&env.state, &valid).await),
        Rejection::AppOffline
    );
}

#[tokio::test]
async fn a_future_expiry_is_refused_and_a_past_one_expires_nothing() {
    let env = env().await;
    let app = env.dev_app().await;
    let token = env.issue(&app, "alice").await;
    let now = env.state.clock.now_ms();
    // Microseconds, more than a day ahead, negative: each would lock users out (for ever, as
    // `tokensValidAfter` only moves forward) or means nothing.
    let expire = |expires_at: i64| {
        env.call(
            &app,
            "/v4/auth/access-token/expire",
            json!({"userIds": ["alice"], "expiresAt": expires_at}),
        )
    };
    for expires_at in [now * 1000, now + 2 * 86_400_000, i64::MAX, -1, i64::MIN] {
        let response = expire(expires_at).await;
        assert_eq!(response.outcome(), (400, 1002), "{expires_at}");
        assert!(
            response.body["errorMessage"]
                .as_str()
                .unwrap_or_default()
                .starts_with("expiresAt"),
            "{}",
            response.body
        );
    }
    // The official OpenAPI example sends 0; a past time (seconds, say) is harmless: it expires
    // nothing issued since.
    for expires_at in [0, 1, now / 1000] {
        assert_eq!(expire(expires_at).await.outcome(), (200, 0), "{expires_at}");
    }
    assert_eq!(
        access::verify(&env.state, &token).await.unwrap().user_id,
        "alice",
        "nothing was expired"
    );
}
