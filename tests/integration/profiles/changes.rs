//! Concurrent sets of different keys, and delete.

use super::*;

#[tokio::test]
async fn concurrent_sets_of_different_keys_lose_no_key() {
    let env = env().await;
    let app = env.dev_app().await;
    register(&env, &app, &["alice".into()]).await;
    let standard = [
        ("uniqueId", json!("A1")),
        ("name", json!("Alice")),
        ("portraitUri", json!("https://example.com/a.png")),
        ("email", json!("alice@example.com")),
        ("birthday", json!("2000-01-01")),
        ("gender", json!(2)),
        ("location", json!("Paris")),
        ("role", json!(7)),
        ("level", json!(9)),
    ];
    let mut bodies: Vec<Value> = standard
        .iter()
        .map(|(k, v)| {
            let mut part = serde_json::Map::new();
            part.insert((*k).to_owned(), v.clone());
            json!({"userId": "alice", "userProfile": part})
        })
        .collect();
    bodies.extend((0..20).map(
        |i| json!({"userId": "alice", "userExtProfile": {format!("ext_k{i:02}"): format!("v{i}")}}),
    ));
    // The first writes race to create the profile, the rest to update it.
    let responses =
        futures::future::join_all(bodies.iter().map(|b| set(&env, &app, b.clone()))).await;
    for (body, response) in bodies.iter().zip(&responses) {
        assert_eq!(response.outcome(), (200, 0), "{body}: {}", response.body);
    }
    let alice = get_one(&env, &app, "alice").await.expect("alice");
    let expected: serde_json::Map<String, Value> = standard
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    assert_eq!(alice["userProfile"], Value::Object(expected));
    let ext = alice["userExtProfile"].as_object().expect("ext");
    assert_eq!(ext.len(), 20, "{ext:?}");
    for i in 0..20 {
        assert_eq!(ext[&format!("ext_k{i:02}")], format!("v{i}"));
    }
    // Created once: listed once.
    assert_eq!(page(&env, &app, 1, 20, 0).await, ["alice"]);
    assert_eq!(page(&env, &app, 2, 1, 0).await, Vec::<String>::new());
}

#[tokio::test]
async fn delete_clears_both_parts_and_the_list() {
    let env = env().await;
    let app = env.dev_app().await;
    register(&env, &app, &["alice".into(), "bob".into(), "carol".into()]).await;
    for user in ["alice", "bob"] {
        set_ok(
            &env,
            &app,
            json!({"userId": user, "userProfile": {"name": user}, "userExtProfile": {"ext_a": "1"}}),
        )
        .await;
    }
    let old_version = get_one(&env, &app, "alice").await.expect("alice")["version"]
        .as_i64()
        .expect("version");
    // Unknown users and users without a profile are skipped.
    let deleted = env
        .call(
            &app,
            DELETE,
            json!({"userIds": ["alice", "carol", "nobody", "alice"]}),
        )
        .await;
    assert_eq!(deleted.outcome(), (200, 0), "{}", deleted.body);
    assert_eq!(
        ids(&Value::Array(get(&env, &app, &["alice", "bob"]).await)),
        ["bob"]
    );
    assert_eq!(page(&env, &app, 1, 20, 0).await, ["bob"]);
    assert_eq!(page(&env, &app, 2, 1, 1).await, Vec::<String>::new());
    // Deleting again is fine; setting again starts from nothing, with a larger version.
    let again = env.call(&app, DELETE, json!({"userIds": ["alice"]})).await;
    assert_eq!(again.outcome(), (200, 0));
    set_ok(
        &env,
        &app,
        json!({"userId": "alice", "userProfile": {"level": 3}}),
    )
    .await;
    let alice = get_one(&env, &app, "alice").await.expect("alice");
    assert_eq!(alice["userProfile"], json!({"level": 3}));
    assert!(alice.get("userExtProfile").is_none());
    assert!(alice["version"].as_i64().expect("version") > old_version);
    assert_eq!(page(&env, &app, 1, 20, 0).await, ["alice", "bob"]);
    assert_eq!(page(&env, &app, 2, 1, 0).await, ["bob"]);
    // The purge entry point removes a profile and its place in the list.
    assert!(
        shared::profiles::remove(&env.state, &app.app_key, "bob")
            .await
            .expect("remove")
    );
    assert!(
        !shared::profiles::remove(&env.state, &app.app_key, "bob")
            .await
            .expect("remove")
    );
    assert_eq!(page(&env, &app, 1, 20, 1).await, ["alice"]);
    assert_eq!(page(&env, &app, 2, 1, 1).await, Vec::<String>::new());
}
