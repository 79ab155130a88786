//! Issue, get and update users; apps never see each other's users.

use integration_tests::env;
use serde_json::json;

#[tokio::test]
async fn issue_registers_then_get_and_update_round_trip() {
    let env = env().await;
    let app = env.dev_app().await;
    let before = shared::clock::format_utc(env.state.clock.now_ms());
    let issued = env
        .call(
            &app,
            "/v4/auth/access-token/issue",
            json!({"userId": "alice", "name": "Alice", "avatarUrl": "https://a/1.png"}),
        )
        .await;
    assert_eq!(issued.outcome(), (200, 0));
    assert_eq!(issued.body["result"]["userId"], "alice");

    let got = env
        .call(&app, "/v4/user/get", json!({"userId": "alice"}))
        .await;
    assert_eq!(got.outcome(), (200, 0));
    let result = &got.body["result"];
    assert_eq!(
        (result["name"].as_str(), result["avatarUrl"].as_str()),
        (Some("Alice"), Some("https://a/1.png"))
    );
    let created = result["createdAt"].as_str().unwrap();
    let after = shared::clock::format_utc(env.state.clock.now_ms());
    // The format sorts like time, so the registration instant lies between the two.
    assert!(
        before.as_str() <= created && created <= after.as_str(),
        "{before} <= {created} <= {after}"
    );

    // An absent field keeps its value.
    assert_eq!(
        env.call(
            &app,
            "/v4/user/update",
            json!({"userId": "alice", "name": "Alice B"})
        )
        .await
        .outcome(),
        (200, 0)
    );
    let got = env
        .call(&app, "/v4/user/get", json!({"userId": "alice"}))
        .await;
    assert_eq!(got.body["result"]["name"], "Alice B");
    assert_eq!(got.body["result"]["avatarUrl"], "https://a/1.png");
    assert_eq!(got.body["result"]["createdAt"], created);

    // Re-issuing overwrites the name, keeps the avatar when none is sent, and the creation time.
    env.call(
        &app,
        "/v4/auth/access-token/issue",
        json!({"userId": "alice", "name": "Alice C"}),
    )
    .await;
    let got = env
        .call(&app, "/v4/user/get", json!({"userId": "alice"}))
        .await;
    assert_eq!(
        (
            got.body["result"]["name"].as_str(),
            got.body["result"]["avatarUrl"].as_str()
        ),
        (Some("Alice C"), Some("https://a/1.png"))
    );
    assert_eq!(got.body["result"]["createdAt"], created);
    assert_eq!(env.user_count(&app.app_key).await, 1);
}

#[tokio::test]
async fn avatar_is_empty_when_never_set() {
    let env = env().await;
    let app = env.dev_app().await;
    env.issue(&app, "bob").await;
    let got = env
        .call(&app, "/v4/user/get", json!({"userId": "bob"}))
        .await;
    assert_eq!(got.body["result"]["avatarUrl"], "");
}

#[tokio::test]
async fn unknown_users_are_404_400_on_get_and_update() {
    let env = env().await;
    let app = env.dev_app().await;
    assert_eq!(
        env.call(&app, "/v4/user/get", json!({"userId": "nobody"}))
            .await
            .outcome(),
        (404, 400)
    );
    assert_eq!(
        env.call(
            &app,
            "/v4/user/update",
            json!({"userId": "nobody", "name": "N"})
        )
        .await
        .outcome(),
        (404, 400)
    );
    assert_eq!(
        env.app_items(&app.app_key).await.len(),
        1,
        "update created nothing"
    );
}

#[tokio::test]
async fn two_apps_cannot_see_each_others_users_or_use_their_tokens() {
    let env = env().await;
    let (a, b) = (env.dev_app().await, env.dev_app().await);
    let token_of_a = env.issue(&a, "shared").await;
    assert_eq!(
        env.call(&b, "/v4/user/get", json!({"userId": "shared"}))
            .await
            .outcome(),
        (404, 400)
    );
    assert_eq!(
        env.call(
            &b,
            "/v4/user/update",
            json!({"userId": "shared", "name": "x"})
        )
        .await
        .outcome(),
        (404, 400)
    );

    // Same user ID in B: a separate user with its own name; A's token stays A's.
    env.call(
        &b,
        "/v4/auth/access-token/issue",
        json!({"userId": "shared", "name": "In B"}),
    )
    .await;
    let in_a = env
        .call(&a, "/v4/user/get", json!({"userId": "shared"}))
        .await;
    assert_eq!(in_a.body["result"]["name"], "name of shared");
    let verified = shared::access::verify(&env.state, &token_of_a)
        .await
        .unwrap();
    assert_eq!(
        (verified.app_key.as_str(), verified.user_id.as_str()),
        (a.app_key.as_str(), "shared")
    );

    // A token of A re-labelled as B's fails its signature.
    let forged = relabel(&token_of_a, &a.app_key, &b.app_key);
    assert_eq!(
        shared::access::verify(&env.state, &forged)
            .await
            .unwrap_err()
            .to_string(),
        "token refused: invalid"
    );
}

/// Rewrites the `app` claim of a token without re-signing it.
fn relabel(token: &str, from: &str, to: &str) -> String {
    use base64::Engine;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = token.split('.').collect();
    let claims = String::from_utf8(engine.decode(parts[1]).unwrap())
        .unwrap()
        .replace(from, to);
    format!("{}.{}.{}", parts[0], engine.encode(claims), parts[2])
}
