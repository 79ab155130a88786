//! The console API the Console page calls: lists of apps, users and the audit log, one user's
//! details, the Server API's user actions run for the console, the access token validity
//! setting. Each route is a function under its own policy, like every other.

use integration_tests::{Env, env};
use serde_json::{Value, json};
use shared::access::{self, Rejection, VerifyError};
use shared::apps::App;

/// A console call that must succeed: its `result`.
async fn ok(env: &Env, path: &str, body: Value) -> Value {
    let response = env.console(path, body).await;
    assert_eq!(response.outcome(), (200, 0), "{path}: {}", response.body);
    response.body["result"].clone()
}

/// The audit entries of `app`, newest first.
async fn audit(env: &Env, app: &App) -> Vec<Value> {
    let result = ok(
        env,
        "/console/v1/audit/list",
        json!({"appKey": app.app_key}),
    )
    .await;
    result["entries"].as_array().cloned().unwrap_or_default()
}

fn user_ids(users: &Value) -> Vec<&str> {
    users
        .as_array()
        .map(|users| users.iter().filter_map(|u| u["userId"].as_str()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_app_list_shows_every_app_newest_first_with_its_users_and_pages() {
    let env = env().await;
    let older = env.dev_app().await;
    let newer = env.dev_app().await;
    env.issue(&newer, "alice").await;
    env.issue(&newer, "bob").await;

    let mut seen = Vec::new();
    let mut token = Value::Null;
    // Every other test's apps are in the list too: page until both are found.
    for _ in 0..1000 {
        let mut body = json!({"pageSize": 100});
        if !token.is_null() {
            body["pageToken"] = token.clone();
        }
        let page = ok(&env, "/console/v1/apps/list", body).await;
        for listed in page["apps"].as_array().expect("apps") {
            seen.push(listed.clone());
        }
        token = page["pageToken"].clone();
        if token.is_null() {
            break;
        }
    }
    let position = |key: &str| seen.iter().position(|a| a["appKey"] == key);
    let (older_at, newer_at) = (position(&older.app_key), position(&newer.app_key));
    assert!(
        newer_at.expect("newer listed") < older_at.expect("older listed"),
        "newest first"
    );
    let listed = &seen[newer_at.expect("newer")];
    assert_eq!(listed["userCount"], 2, "{listed}");
    assert_eq!(listed["environment"], "development");
    assert!(
        listed.get("appSecret").is_none(),
        "never a secret: {listed}"
    );

    let first = ok(&env, "/console/v1/apps/list", json!({"pageSize": 1})).await;
    assert_eq!(first["apps"].as_array().map(Vec::len), Some(1));
    assert!(first["pageToken"].is_string(), "{first}");
    for bad in [
        json!({"pageSize": 0}),
        json!({"pageSize": 101}),
        json!({"pageToken": "x.y"}),
        json!({"page": 2}),
    ] {
        let response = env.console("/console/v1/apps/list", bad.clone()).await;
        assert_eq!(response.status, 400, "{bad}: {}", response.body);
    }
}

#[tokio::test]
async fn the_user_list_pages_every_registered_user_newest_first_with_its_state() {
    let env = env().await;
    let app = env.dev_app().await;
    for user in ["u1", "u2", "u3"] {
        env.issue(&app, user).await;
        env.state.clock.advance_ms(2);
    }
    let soft_deleted = env
        .call(&app, "/v4/user/soft-delete", json!({"userIds": ["u2"]}))
        .await;
    assert_eq!(soft_deleted.outcome(), (200, 0), "{}", soft_deleted.body);

    let first = ok(
        &env,
        "/console/v1/users/list",
        json!({"appKey": app.app_key, "pageSize": 2}),
    )
    .await;
    assert_eq!(user_ids(&first["users"]), ["u3", "u2"]);
    assert_eq!(first["users"][1]["state"], "soft-deleted");
    assert_eq!(first["users"][0]["state"], "active");
    assert_eq!(first["users"][0]["name"], "name of u3");
    let token = first["pageToken"].as_str().expect("a next page");
    let second = ok(
        &env,
        "/console/v1/users/list",
        json!({"appKey": app.app_key, "pageSize": 2, "pageToken": token}),
    )
    .await;
    assert_eq!(user_ids(&second["users"]), ["u1"]);
    assert!(second.get("pageToken").is_none(), "the last page: {second}");

    // A page token is bound to its app.
    let other = env.dev_app().await;
    let response = env
        .console(
            "/console/v1/users/list",
            json!({"appKey": other.app_key, "pageToken": token}),
        )
        .await;
    assert_eq!(response.outcome(), (400, 1002), "{}", response.body);
}

#[tokio::test]
async fn user_details_show_what_the_console_needs_about_one_user() {
    let env = env().await;
    let app = env.dev_app().await;
    for user in ["alice", "bob", "carol"] {
        env.issue(&app, user).await;
    }
    for (path, body) in [
        (
            "/v4/user/tag/batch/set",
            json!({"userIds": ["alice"], "tags": ["vip", "beta"]}),
        ),
        (
            "/v4/user/blocklist/add",
            json!({"userId": "alice", "targetUserIds": ["carol"]}),
        ),
        (
            "/v4/user/ban",
            json!({"userIds": ["alice"], "durationMinutes": 60}),
        ),
    ] {
        let response = env.call(&app, path, body).await;
        assert_eq!(response.status, 200, "{path}: {}", response.body);
    }
    let alice = ok(
        &env,
        "/console/v1/users/get",
        json!({"appKey": app.app_key, "userId": "alice"}),
    )
    .await;
    assert_eq!(alice["name"], "name of alice");
    assert_eq!(alice["state"], "active");
    assert_eq!(alice["online"], false);
    assert_eq!(alice["blockedCount"], 1, "{alice}");
    assert_eq!(alice["friendCount"], 0, "{alice}");
    assert!(alice["banExpiresAt"].as_i64().unwrap_or(0) > env.state.clock.now_ms());
    let tags = alice["tags"].as_array().expect("tags").len();
    assert_eq!(tags, 2, "{alice}");

    let ghost = env
        .console(
            "/console/v1/users/get",
            json!({"appKey": app.app_key, "userId": "ghost"}),
        )
        .await;
    assert_eq!(ghost.status, 404, "{}", ghost.body);
}

#[tokio::test]
async fn a_user_action_runs_the_server_api_operation_for_the_console_and_is_audited() {
    let env = env().await;
    let app = env.dev_app().await;
    env.issue(&app, "alice").await;

    // An operator's typo changes nothing: refused, no ban, nothing audited.
    let typo = env
        .console(
            "/console/v1/users/ban",
            json!({"appKey": app.app_key, "userIds": ["alice"], "durationMinute": 60}),
        )
        .await;
    assert_eq!(typo.outcome(), (400, 1002), "{}", typo.body);
    let unnamed = env
        .console(
            "/console/v1/users/ban",
            json!({"userIds": ["alice"], "durationMinutes": 60}),
        )
        .await;
    assert_eq!(unnamed.outcome(), (400, 1002), "{}", unnamed.body);
    let banned = ok(
        &env,
        "/console/v1/users/banned",
        json!({"appKey": app.app_key}),
    )
    .await;
    assert!(!banned.to_string().contains("alice"), "{banned}");
    assert!(
        audit(&env, &app)
            .await
            .iter()
            .all(|e| e["action"] != "users/ban")
    );

    // The Server API's limits hold: 21 users are one too many.
    let many: Vec<String> = (0..21).map(|i| format!("u{i}")).collect();
    let over = env
        .console(
            "/console/v1/users/ban",
            json!({"appKey": app.app_key, "userIds": many, "durationMinutes": 60}),
        )
        .await;
    assert_eq!(over.status, 400, "{}", over.body);

    ok(
        &env,
        "/console/v1/users/ban",
        json!({"appKey": app.app_key, "userIds": ["alice"], "durationMinutes": 60}),
    )
    .await;
    let banned = ok(
        &env,
        "/console/v1/users/banned",
        json!({"appKey": app.app_key}),
    )
    .await;
    assert!(banned.to_string().contains("alice"), "{banned}");
    let entries = audit(&env, &app).await;
    let entry = entries
        .iter()
        .find(|e| e["action"] == "users/ban")
        .expect("the ban is audited");
    assert_eq!(entry["target"], "alice");
    assert_eq!(entry["after"]["durationMinutes"], 60);
    assert!(
        entry["actor"].as_str().is_some_and(|a| !a.is_empty()),
        "{entry}"
    );
    assert!(
        entry["at"].as_i64().is_some() && entry["requestId"].is_string(),
        "{entry}"
    );

    ok(
        &env,
        "/console/v1/users/unban",
        json!({"appKey": app.app_key, "userIds": ["alice"]}),
    )
    .await;
    let soft = ok(
        &env,
        "/console/v1/users/soft-delete",
        json!({"appKey": app.app_key, "userIds": ["alice"]}),
    )
    .await;
    assert!(soft["operationId"].is_string(), "{soft}");
    let details = ok(
        &env,
        "/console/v1/users/get",
        json!({"appKey": app.app_key, "userId": "alice"}),
    )
    .await;
    assert_eq!(details["state"], "soft-deleted", "{details}");
    let actions: Vec<Value> = audit(&env, &app)
        .await
        .iter()
        .map(|e| e["action"].clone())
        .collect();
    assert_eq!(
        actions[..3],
        [
            json!("users/soft-delete"),
            json!("users/unban"),
            json!("users/ban")
        ]
    );
}

#[tokio::test]
async fn app_changes_are_audited_with_before_and_after_and_never_a_secret() {
    let env = env().await;
    let created = ok(
        &env,
        "/console/v1/apps/create",
        json!({"environment": "development"}),
    )
    .await;
    let key = created["appKey"].as_str().expect("appKey").to_owned();
    let secret = created["appSecret"].as_str().expect("appSecret").to_owned();
    ok(
        &env,
        "/console/v1/apps/update",
        json!({"appKey": key, "settings": {"restrictDmToFriends": true}}),
    )
    .await;
    let rotated = ok(
        &env,
        "/console/v1/apps/rotate-secret",
        json!({"appKey": key}),
    )
    .await;
    let webhook = ok(
        &env,
        "/console/v1/apps/rotate-webhook-secret",
        json!({"appKey": key}),
    )
    .await;

    let log = ok(&env, "/console/v1/audit/list", json!({"appKey": key})).await;
    let text = log.to_string();
    for secret in [
        secret.as_str(),
        rotated["appSecret"].as_str().expect("new secret"),
        webhook["webhookSecret"].as_str().expect("webhook secret"),
        created["settings"]["webhookSecret"]
            .as_str()
            .expect("first webhook secret"),
    ] {
        assert!(!text.contains(secret), "a secret in the audit log: {text}");
    }
    let entries = log["entries"].as_array().expect("entries");
    let actions: Vec<&str> = entries
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        [
            "apps/rotate-webhook-secret",
            "apps/rotate-secret",
            "apps/update",
            "apps/create"
        ]
    );
    let update = &entries[2];
    assert_eq!(update["before"]["settings"]["restrictDmToFriends"], false);
    assert_eq!(update["after"]["settings"]["restrictDmToFriends"], true);

    // The log of every app has them too (an index: eventually consistent on AWS).
    let all = ok(&env, "/console/v1/audit/list", json!({"pageSize": 100})).await;
    assert!(
        all["entries"].as_array().is_some_and(|e| !e.is_empty()),
        "{all}"
    );
}

#[tokio::test]
async fn the_access_token_validity_applies_to_tokens_issued_after_it_changes() {
    let env = env().await;
    let app = env.dev_app().await;
    let permanent = env.issue(&app, "alice").await;
    for bad in [json!(59), json!(31_536_001), json!(-1), json!("60")] {
        let response = env
            .console(
                "/console/v1/apps/update",
                json!({"appKey": app.app_key, "settings": {"accessTokenTtlSeconds": bad}}),
            )
            .await;
        assert_eq!(response.outcome(), (400, 1002), "{bad}: {}", response.body);
    }
    let updated = ok(
        &env,
        "/console/v1/apps/update",
        json!({"appKey": app.app_key, "settings": {"accessTokenTtlSeconds": 60}}),
    )
    .await;
    assert_eq!(updated["settings"]["accessTokenTtlSeconds"], 60);
    let shown = ok(&env, "/console/v1/apps/get", json!({"appKey": app.app_key})).await;
    assert_eq!(shown["settings"]["accessTokenTtlSeconds"], 60);

    let limited = env.issue(&app, "alice").await;
    assert!(access::verify(&env.state, &limited).await.is_ok());
    env.state.clock.advance_ms(61_000);
    match access::verify(&env.state, &limited).await {
        Err(VerifyError::Rejected(Rejection::Expired)) => {}
        other => panic!("a token past its validity must be refused as expired: {other:?}"),
    }
    assert!(
        access::verify(&env.state, &permanent).await.is_ok(),
        "a token issued before the change stays permanent"
    );
}
