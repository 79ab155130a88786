//! Soft delete and restore as the API sees them: gone at once, the purge's reach, the one-hour restore rule, the list, limits.

use super::*;

#[tokio::test]
async fn a_soft_deleted_user_is_gone_for_the_api_at_once() {
    // A stack of its own: other tests' stream followers on the shared table would purge alice.
    let env = integration_tests::isolated_env("lifecycle-gone").await;
    let app = env.dev_app().await;
    let token = env.issue(&app, "alice").await;
    assert_eq!(rejection(access::verify(&env.state, &token).await), None);

    let operation_id = soft_delete(&env, &app, &["alice", "nobody"]).await;
    assert_eq!(
        rejection(access::verify(&env.state, &token).await),
        Some(Rejection::SoftDeleted)
    );
    let issue = env
        .call(
            &app,
            "/v4/auth/access-token/issue",
            json!({"userId": "alice", "name": "A"}),
        )
        .await;
    assert_eq!(issue.outcome(), (403, 20101));
    assert_eq!(
        env.call(&app, "/v4/user/get", json!({"userId": "alice"}))
            .await
            .outcome(),
        (404, 400)
    );
    assert_eq!(
        env.call(
            &app,
            "/v4/user/update",
            json!({"userId": "alice", "name": "B"})
        )
        .await
        .outcome(),
        (403, 20101)
    );
    let listed = env.call(&app, LIST, json!({})).await;
    assert_eq!(listed.body["result"]["userIds"], json!(["alice"]));

    let operation = env
        .call(
            &app,
            "/v4/ext/operation/get",
            json!({"operationId": operation_id}),
        )
        .await;
    assert_eq!(operation.body["result"]["type"], "soft-delete");
    let users = &operation.body["result"]["users"];
    assert_eq!(users[0]["userId"], "alice");
    assert_eq!(
        users[0]["status"], "pending",
        "nothing purges without the stream follower"
    );
    assert_eq!(
        users[1],
        json!({"userId": "nobody", "status": "refused", "code": 400})
    );
    // Soft-deleting again is refused per user, and counts no second deletion.
    let again = soft_delete(&env, &app, &["alice"]).await;
    let again = env
        .call(&app, "/v4/ext/operation/get", json!({"operationId": again}))
        .await;
    assert_eq!(again.body["result"]["users"][0]["code"], 20101);
}

#[tokio::test]
async fn the_purge_removes_everything_of_the_user_and_nothing_of_others() {
    let env = env().await;
    let _purge = env.follow_stream().await;
    let app = env.dev_app().await;
    for user in ["alice", "bob", "carol", "dave"] {
        env.issue(&app, user).await;
    }
    befriend(&env, &app, "alice", "bob").await;
    befriend(&env, &app, "bob", "carol").await;
    befriend(&env, &app, "alice", "dave").await;
    // alice blocks carol; carol blocks alice; alice asked dave to be friends; dave asked alice.
    put(
        &env,
        &[
            ("PK", pk(&app, "alice")),
            ("SK", s("BLOCK#carol")),
            ("edgeTo", pk(&app, "carol")),
        ],
    )
    .await;
    put(
        &env,
        &[
            ("PK", pk(&app, "carol")),
            ("SK", s("BLOCK#alice")),
            ("edgeTo", pk(&app, "alice")),
        ],
    )
    .await;
    put(
        &env,
        &[
            ("PK", pk(&app, "dave")),
            ("SK", s("FRIEND_REQUEST#alice")),
            ("edgeTo", pk(&app, "alice")),
        ],
    )
    .await;
    // The request's mirror in the requester's partition, written with it.
    put(
        &env,
        &[("PK", pk(&app, "alice")), ("SK", s("REQUEST_SENT#dave"))],
    )
    .await;
    put(
        &env,
        &[
            ("PK", pk(&app, "alice")),
            ("SK", s("FRIEND_REQUEST#dave")),
            ("edgeTo", pk(&app, "dave")),
        ],
    )
    .await;
    put(
        &env,
        &[
            ("PK", pk(&app, "alice")),
            ("SK", s("TAGS")),
            ("tags", AttributeValue::Ss(vec!["vip".into()])),
        ],
    )
    .await;
    let ban_until = env.state.clock.now_ms() + HOUR_MS;
    put(
        &env,
        &[
            ("PK", pk(&app, "alice")),
            ("SK", s("BAN")),
            ("banExpiresAt", AttributeValue::N(ban_until.to_string())),
        ],
    )
    .await;
    put(&env, &[("PK", pk(&app, "alice")), ("SK", s("MUTE#PERSON"))]).await;
    put(
        &env,
        &[
            ("PK", pk(&app, "alice")),
            ("SK", s("PROFILE")),
            ("version", AttributeValue::N("1".into())),
        ],
    )
    .await;
    let before = env.app_items(&app.app_key).await;
    assert!(
        items_of(&before, &app, "alice").len() >= 11,
        "the setup wrote alice's data"
    );
    assert_eq!(friend_count(&env, &app, "bob").await, 2);

    let operation_id = soft_delete(&env, &app, &["alice"]).await;
    let operation = env.wait_for_operation(&app, &operation_id).await;
    assert_eq!(
        operation["users"],
        json!([{"userId": "alice", "status": "done"}])
    );

    // Read the whole app's data: of alice only the bare soft-deleted record is left, and of what
    // names her, carol's block (carol's blocklist is carol's data: it stays).
    let after = env.app_items(&app.app_key).await;
    let (left, others): (Vec<_>, Vec<_>) = items_of(&after, &app, "alice")
        .into_iter()
        .partition(|item| item["PK"] == pk(&app, "alice"));
    assert_eq!(left.len(), 1, "{left:#?}");
    assert_eq!(others.len(), 1, "{others:#?}");
    assert_eq!(
        (&others[0]["PK"], &others[0]["SK"]),
        (&pk(&app, "carol"), &s("BLOCK#alice"))
    );
    let record = left[0];
    assert_eq!(record["SK"], s("USER"));
    assert_eq!(record["state"], s("soft-deleted"));
    assert!(
        !record.contains_key("name") && !record.contains_key("avatarUrl"),
        "{record:?}"
    );
    // Others keep their data; counters follow the edges that are gone.
    for item in before.iter().filter(|item| !concerns(item, &app, "alice")) {
        assert!(
            after.contains(item) || item["SK"] == s("FRIEND_COUNT"),
            "lost {item:?}"
        );
    }
    assert_eq!(friend_count(&env, &app, "bob").await, 1, "bob keeps carol");
    assert_eq!(friend_count(&env, &app, "dave").await, 0);
    assert_eq!(friend_count(&env, &app, "carol").await, 1);
}

#[tokio::test]
async fn restore_follows_the_one_hour_rule_and_brings_no_data_back() {
    let env = env().await;
    let _purge = env.follow_stream().await;
    let app = env.dev_app().await;
    let old_token = env.issue(&app, "alice").await;
    env.issue(&app, "bob").await;
    let deleted = soft_delete(&env, &app, &["alice"]).await;
    env.wait_for_operation(&app, &deleted).await;

    let early = restore(&env, &app, &["alice", "bob", "nobody"]).await;
    assert_eq!(early["type"], "restore");
    assert_eq!(
        early["users"],
        json!([
            {"userId": "alice", "status": "refused", "code": 20102},
            {"userId": "bob", "status": "refused", "code": 20103},
            {"userId": "nobody", "status": "refused", "code": 20103}
        ])
    );
    env.state.clock.advance_ms(HOUR_MS + 1_000);
    let restored = restore(&env, &app, &["alice"]).await;
    assert_eq!(
        restored["users"],
        json!([{"userId": "alice", "status": "done"}])
    );

    let user = env
        .call(&app, "/v4/user/get", json!({"userId": "alice"}))
        .await;
    assert_eq!(user.outcome(), (200, 0));
    assert_eq!(
        (
            user.body["result"]["name"].as_str(),
            user.body["result"]["avatarUrl"].as_str()
        ),
        (Some(""), Some(""))
    );
    assert_eq!(
        env.call(&app, LIST, json!({})).await.body["result"]["userIds"],
        json!([])
    );
    assert_eq!(
        rejection(access::verify(&env.state, &old_token).await),
        Some(Rejection::Expired),
        "old tokens stay dead"
    );
    let new_token = env.issue(&app, "alice").await;
    assert_eq!(
        rejection(access::verify(&env.state, &new_token).await),
        None
    );
    assert_eq!(
        env.user_count(&app.app_key).await,
        2,
        "a soft delete never freed the slot"
    );
}

#[tokio::test]
async fn the_soft_deleted_list_is_oldest_first_and_paged() {
    let env = env().await;
    let app = env.dev_app().await;
    for i in 0..5 {
        env.issue(&app, &format!("u{i}")).await;
    }
    for i in [3, 1, 4, 0] {
        soft_delete(&env, &app, &[&format!("u{i}")]).await;
        env.state.clock.advance_ms(10);
    }
    let page = |page: u32, size: u32| env.call(&app, LIST, json!({"page": page, "pageSize": size}));
    assert_eq!(
        page(1, 50).await.body["result"]["userIds"],
        json!(["u3", "u1", "u4", "u0"])
    );
    assert_eq!(page(2, 3).await.body["result"]["userIds"], json!(["u0"]));
    assert_eq!(page(3, 2).await.body["result"]["userIds"], json!([]));
    assert_eq!(page(1, 51).await.outcome(), (400, 1005));
}

#[tokio::test]
async fn limits_and_unknown_operations() {
    let env = env().await;
    let (app, other) = (env.dev_app().await, env.dev_app().await);
    env.issue(&app, "alice").await;
    let ids: Vec<String> = (0..101).map(|i| format!("u{i}")).collect();
    assert_eq!(
        env.call(&app, SOFT_DELETE, json!({"userIds": ids}))
            .await
            .outcome(),
        (400, 1005)
    );
    assert_eq!(
        env.call(&app, RESTORE, json!({"userIds": ids}))
            .await
            .outcome(),
        (400, 1005)
    );
    assert_eq!(
        env.call(&app, SOFT_DELETE, json!({"userIds": ["a-b"]}))
            .await
            .outcome(),
        (400, 1002)
    );
    assert_eq!(
        env.call(&app, "/v4/user/get", json!({"userId": "alice"}))
            .await
            .outcome(),
        (200, 0),
        "nothing changed"
    );
    let operation_id = soft_delete(&env, &app, &["alice"]).await;
    let unknown = env
        .call(
            &app,
            "/v4/ext/operation/get",
            json!({"operationId": "feedfacefeedface"}),
        )
        .await;
    assert_eq!(unknown.outcome(), (404, 1015));
    let foreign = env
        .call(
            &other,
            "/v4/ext/operation/get",
            json!({"operationId": operation_id}),
        )
        .await;
    assert_eq!(
        foreign.outcome(),
        (404, 1015),
        "another app's operation is invisible"
    );
}
