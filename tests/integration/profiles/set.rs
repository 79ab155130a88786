//! Setting profiles: merge and version, every key rule, declared ext keys, unknown and soft-deleted users.

use super::*;

#[tokio::test]
async fn set_merges_bumps_the_version_and_batch_get_reads_it_back() {
    let env = env().await;
    let app = env.dev_app().await;
    register(&env, &app, &["alice".into(), "bob".into(), "carol".into()]).await;

    set_ok(
        &env,
        &app,
        json!({"userId": "alice", "userProfile": {"name": "Alice", "gender": 1, "email": "a@example.com"},
               "userExtProfile": {"ext_color": "blue"}}),
    )
    .await;
    let first = get_one(&env, &app, "alice")
        .await
        .expect("alice has a profile");
    assert_eq!(
        (&first["userProfile"], &first["userExtProfile"]),
        (
            &json!({"name": "Alice", "gender": 1, "email": "a@example.com"}),
            &json!({"ext_color": "blue"})
        )
    );
    let v1 = first["version"].as_i64().expect("version");

    // Keys not sent keep their values; sent keys replace; null and "" remove.
    set_ok(
        &env,
        &app,
        json!({"userId": "alice", "userProfile": {"level": 5, "name": "Alicia", "email": ""},
               "userExtProfile": {"ext_size": "M"}}),
    )
    .await;
    let second = get_one(&env, &app, "alice").await.expect("alice");
    assert_eq!(
        second["userProfile"],
        json!({"name": "Alicia", "gender": 1, "level": 5})
    );
    assert_eq!(
        second["userExtProfile"],
        json!({"ext_color": "blue", "ext_size": "M"})
    );
    let v2 = second["version"].as_i64().expect("version");
    assert!(v2 > v1, "{v2} > {v1}");
    set_ok(
        &env,
        &app,
        json!({"userId": "alice", "userExtProfile": {"ext_color": null, "ext_size": null}}),
    )
    .await;
    let third = get_one(&env, &app, "alice").await.expect("alice");
    assert!(third["version"].as_i64().expect("version") > v2);
    // An empty part is left out.
    assert!(third.get("userExtProfile").is_none(), "{third}");

    // Only an ext part for bob: no userProfile in the answer. carol has no profile, dave does
    // not exist: both left out. Request order is kept, duplicates once.
    set_ok(
        &env,
        &app,
        json!({"userId": "bob", "userExtProfile": {"ext_team": "red"}}),
    )
    .await;
    let users = get(&env, &app, &["bob", "carol", "dave", "alice", "bob"]).await;
    assert_eq!(ids(&Value::Array(users.clone())), ["bob", "alice"]);
    assert_eq!(
        users[0],
        json!({"userId": "bob", "version": users[0]["version"], "userExtProfile": {"ext_team": "red"}})
    );

    // The hosted profile is not the user record: get-user still answers the token name.
    let user = env
        .call(&app, "/v4/user/get", json!({"userId": "alice"}))
        .await;
    assert_eq!(user.body["result"]["name"], "name of alice");
}

#[tokio::test]
async fn every_key_rule_is_enforced_and_a_refusal_changes_nothing() {
    let env = env().await;
    let app = env.dev_app().await;
    register(&env, &app, &["alice".into()]).await;
    set_ok(
        &env,
        &app,
        json!({"userId": "alice", "userProfile": {"name": "A"}}),
    )
    .await;
    let long = |n: usize| "x".repeat(n);
    // (userProfile, userExtProfile, code, profileKey)
    let cases = [
        (json!({"uniqueId": long(33)}), json!(null), 1005, "uniqueId"),
        (json!({"uniqueId": 7}), json!(null), 1002, "uniqueId"),
        (json!({"name": long(65)}), json!(null), 1005, "name"),
        (json!({"name": ["A"]}), json!(null), 1002, "name"),
        (
            json!({"portraitUri": long(1025)}),
            json!(null),
            1005,
            "portraitUri",
        ),
        (
            json!({"email": format!("{}@example.com", long(117))}),
            json!(null),
            1005,
            "email",
        ),
        (
            json!({"email": "alice.example.com"}),
            json!(null),
            1002,
            "email",
        ),
        (
            json!({"email": "alice@localhost"}),
            json!(null),
            1002,
            "email",
        ),
        (json!({"birthday": long(33)}), json!(null), 1005, "birthday"),
        (json!({"gender": 3}), json!(null), 1002, "gender"),
        (json!({"gender": "1"}), json!(null), 1002, "gender"),
        (json!({"location": long(33)}), json!(null), 1005, "location"),
        (json!({"role": 101}), json!(null), 1002, "role"),
        (json!({"role": -1}), json!(null), 1002, "role"),
        (json!({"level": 100.5}), json!(null), 1002, "level"),
        (json!({"level": 101}), json!(null), 1002, "level"),
        (json!({"appName": "x"}), json!(null), 1002, "appName"),
        // A valid key beside a bad one: nothing is written either.
        (
            json!({"name": "B", "gender": 9}),
            json!(null),
            1002,
            "gender",
        ),
        (json!(null), json!({"color": "red"}), 1002, "color"),
        (json!(null), json!({"ext_a-b": "red"}), 1002, "ext_a-b"),
        (
            json!(null),
            json!({format!("ext_{}", long(29)): "v"}),
            1005,
            "ext_xxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        ),
        (json!(null), json!({"ext_a": long(257)}), 1005, "ext_a"),
        (json!(null), json!({"ext_a": 1}), 1002, "ext_a"),
    ];
    let before = data(&env, &app).await;
    for (profile, ext, code, key) in cases {
        let response = set(
            &env,
            &app,
            json!({"userId": "alice", "userProfile": profile, "userExtProfile": ext}),
        )
        .await;
        let what = format!("{profile} {ext}: {}", response.body);
        assert_eq!(response.outcome(), (400, code), "{what}");
        assert_eq!(response.body["profileKey"], key, "{what}");
        let message = response.body["errorMessage"].as_str().unwrap_or_default();
        let field = if ext.is_null() {
            "userProfile"
        } else {
            "userExtProfile"
        };
        assert!(message.contains(field), "{what}");
    }
    // Neither part, or nothing in them: 400/1002 naming the field, no profileKey.
    for body in [
        json!({"userId": "alice"}),
        json!({"userId": "alice", "userProfile": {}, "userExtProfile": {}}),
        json!({"userId": "alice", "userProfile": "name=A"}),
    ] {
        let response = set(&env, &app, body.clone()).await;
        assert_eq!(response.outcome(), (400, 1002), "{body}");
        assert!(response.body.get("profileKey").is_none(), "{body}");
    }
    assert_eq!(data(&env, &app).await, before, "refusals wrote nothing");

    // At most 20 ext pairs in the merged profile: 19 stored + 2 new is refused, naming the first
    // key over the limit; removing one in the same request makes room.
    let nineteen: serde_json::Map<String, Value> = (0..19)
        .map(|i| (format!("ext_k{i:02}"), json!("v")))
        .collect();
    set_ok(
        &env,
        &app,
        json!({"userId": "alice", "userExtProfile": nineteen}),
    )
    .await;
    let before = data(&env, &app).await;
    let over = set(
        &env,
        &app,
        json!({"userId": "alice", "userExtProfile": {"ext_new1": "a", "ext_new2": "b"}}),
    )
    .await;
    assert_eq!(over.outcome(), (400, 1005), "{}", over.body);
    assert_eq!(over.body["profileKey"], "ext_new2");
    assert!(
        over.body["errorMessage"]
            .as_str()
            .unwrap_or_default()
            .contains("20"),
        "{}",
        over.body
    );
    assert_eq!(data(&env, &app).await, before);
    set_ok(
        &env,
        &app,
        json!({"userId": "alice", "userExtProfile": {"ext_new1": "a", "ext_new2": "b", "ext_k00": null}}),
    )
    .await;
    let alice = get_one(&env, &app, "alice").await.expect("alice");
    assert_eq!(
        alice["userExtProfile"].as_object().map(|m| m.len()),
        Some(20)
    );

    // Request limits of the other operations.
    let ids21: Vec<String> = names("u", 21);
    for path in [GET, DELETE] {
        let response = env.call(&app, path, json!({"userIds": ids21})).await;
        assert_eq!(response.outcome(), (400, 1005), "{path}");
        assert!(
            response.body["errorMessage"]
                .as_str()
                .unwrap_or_default()
                .contains("userIds")
        );
    }
    for (body, code, field) in [
        (json!({"pageSize": 101}), 1005, "pageSize"),
        (json!({"pageSize": 0}), 1002, "pageSize"),
        (json!({"order": 2}), 1002, "order"),
        (json!({"page": "1"}), 1002, "page"),
    ] {
        let response = env.call(&app, LIST, body.clone()).await;
        assert_eq!(response.outcome(), (400, code), "{body}");
        assert!(
            response.body["errorMessage"]
                .as_str()
                .unwrap_or_default()
                .contains(field)
        );
    }
}

#[tokio::test]
async fn declared_ext_keys_refuse_undeclared_ones() {
    let env = env().await;
    let app = env.dev_app().await;
    register(&env, &app, &["alice".into()]).await;
    set_ok(
        &env,
        &app,
        json!({"userId": "alice", "userExtProfile": {"ext_legacy": "1"}}),
    )
    .await;
    let updated = env
        .console(
            "/console/v1/apps/update",
            json!({"appKey": app.app_key, "declaredExtProfileKeys": ["ext_color", "ext_size"]}),
        )
        .await;
    assert_eq!(updated.outcome(), (200, 0), "{}", updated.body);
    // The console update forgets the cached app in this process, so the next call sees it.
    let refused = set(
        &env,
        &app,
        json!({"userId": "alice", "userExtProfile": {"ext_color": "red", "ext_shape": "round"}}),
    )
    .await;
    assert_eq!(refused.outcome(), (400, 1002), "{}", refused.body);
    assert_eq!(refused.body["profileKey"], "ext_shape");
    let alice = get_one(&env, &app, "alice").await.expect("alice");
    assert_eq!(alice["userExtProfile"], json!({"ext_legacy": "1"}));
    // Declared keys are accepted; an undeclared stored key can still be removed.
    set_ok(
        &env,
        &app,
        json!({"userId": "alice", "userExtProfile": {"ext_color": "red", "ext_legacy": null}}),
    )
    .await;
    let alice = get_one(&env, &app, "alice").await.expect("alice");
    assert_eq!(alice["userExtProfile"], json!({"ext_color": "red"}));
}

async fn mark_soft_deleted(env: &Env, app: &App, user_id: &str) {
    env.state
        .db
        .update_item()
        .table_name(&env.state.table)
        .set_key(Some(shared::users::key(&app.app_key, user_id)))
        .update_expression("SET #state = :deleted")
        .expression_attribute_names("#state", "state")
        .expression_attribute_values(":deleted", AttributeValue::S("soft-deleted".into()))
        .send()
        .await
        .expect("mark soft-deleted");
}

#[tokio::test]
async fn unknown_and_soft_deleted_users_are_refused() {
    let env = env().await;
    let app = env.dev_app().await;
    register(&env, &app, &["alice".into(), "bob".into()]).await;
    set_ok(
        &env,
        &app,
        json!({"userId": "bob", "userProfile": {"name": "Bob"}}),
    )
    .await;
    let before = data(&env, &app).await;
    let unknown = set(
        &env,
        &app,
        json!({"userId": "nobody", "userProfile": {"name": "N"}}),
    )
    .await;
    assert_eq!(unknown.outcome(), (404, 400), "{}", unknown.body);
    assert!(
        unknown.body["errorMessage"]
            .as_str()
            .unwrap_or_default()
            .contains("nobody")
    );
    assert_eq!(
        data(&env, &app).await,
        before,
        "nothing written for an unknown user"
    );

    mark_soft_deleted(&env, &app, "alice").await;
    mark_soft_deleted(&env, &app, "bob").await;
    let before = data(&env, &app).await;
    for user in ["alice", "bob"] {
        let refused = set(
            &env,
            &app,
            json!({"userId": user, "userProfile": {"name": "X"}}),
        )
        .await;
        assert_eq!(refused.outcome(), (404, 400), "{user}: {}", refused.body);
    }
    assert_eq!(data(&env, &app).await, before);
    // bob's profile (until the purge removes it) is no longer served.
    assert!(get(&env, &app, &["alice", "bob"]).await.is_empty());
}
