//! The purge through the stream: races with token issue, redelivery after a restore, lagging indexes, checkpoints and the sweeper.

use super::*;

#[tokio::test]
async fn concurrent_soft_delete_and_issue_never_leave_a_deleted_user_with_a_valid_token() {
    let env = env().await;
    let _purge = env.follow_stream().await;
    let app = env.dev_app().await;
    let users: Vec<String> = (0..30).map(|i| format!("race{i}")).collect();
    // Half exist before the race, half do not.
    for user in users.iter().step_by(2) {
        env.issue(&app, user).await;
    }
    let (env, app) = (&env, &app);
    let races = users.iter().map(|user| async move {
        let body = json!({"userId": user, "name": "N"});
        let (deleted, issued) = futures::join!(
            env.call(app, SOFT_DELETE, json!({"userIds": [user]})),
            env.call(app, "/v4/auth/access-token/issue", body)
        );
        (user.clone(), deleted, issued)
    });
    let outcomes = join_all(races).await;
    let mut operations = Vec::new();
    for (user, deleted, issued) in &outcomes {
        let operation_id = deleted.body["result"]["operationId"]
            .as_str()
            .expect("operation")
            .to_owned();
        operations.push(operation_id.clone());
        let record = shared::users::get(&env.state, &app.app_key, user)
            .await
            .expect("read");
        let soft_deleted = record
            .as_ref()
            .is_some_and(|u| u.state == shared::users::UserState::SoftDeleted);
        if let Some(token) = issued.body["result"]["accessToken"].as_str() {
            let verdict = rejection(access::verify(&env.state, token).await);
            if soft_deleted {
                assert_eq!(
                    verdict,
                    Some(Rejection::SoftDeleted),
                    "{user}: deleted user with a valid token"
                );
            } else {
                assert_eq!(verdict, None, "{user}: live user whose token fails");
            }
        } else {
            assert_eq!(issued.outcome(), (403, 20101), "{user}");
        }
    }
    for operation_id in &operations {
        env.wait_for_operation(app, operation_id).await;
    }
    // After every purge: live users are whole, deleted users hold nothing but their record.
    for (user, _, _) in &outcomes {
        let record = shared::users::get(&env.state, &app.app_key, user)
            .await
            .expect("read")
            .expect("record");
        if record.state == shared::users::UserState::Active {
            assert_eq!(record.name, "N", "{user}: a live user lost data");
        } else {
            assert!(record.name.is_empty(), "{user}: purged user keeps a name");
        }
    }
}

#[tokio::test]
async fn the_purge_event_file_drives_the_stream_function() {
    let env = env().await;
    let app = env.dev_app().await;
    env.issue(&app, "alice").await;
    let operation_id = soft_delete(&env, &app, &["alice"]).await;
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../events/purge-soft-deleted-users.json"
    ))
    .expect("event")
    .replace("EVENTSAPPKEY", &app.app_key)
    .replace("0123456789abcdef0123456789abcdef", &operation_id);
    let event: Value = serde_json::from_str(&text).expect("json");
    let answer = purge_soft_deleted_users::handle(
        &env.function("purge-soft-deleted-users"),
        &event,
        shared::purge::Deadline::none(),
    )
    .await;
    assert_eq!(answer, json!({"batchItemFailures": []}));
    let operation = env.wait_for_operation(&app, &operation_id).await;
    assert_eq!(operation["users"][0]["status"], "done");
}

#[tokio::test]
async fn the_console_removes_test_users_and_frees_their_slot() {
    let env = env().await;
    let app = env.dev_app().await;
    for i in 0..100 {
        env.issue(&app, &format!("u{i}")).await;
    }
    let full = env
        .call(
            &app,
            "/v4/auth/access-token/issue",
            json!({"userId": "late", "name": "L"}),
        )
        .await;
    assert_eq!(full.outcome(), (403, 2007));
    befriend(&env, &app, "u1", "u2").await;
    let removed = env
        .console(
            "/console/v1/apps/delete-test-user",
            json!({"appKey": app.app_key, "userId": "u1"}),
        )
        .await;
    assert_eq!(removed.outcome(), (200, 0), "{}", removed.body);
    assert!(
        items_of(&env.app_items(&app.app_key).await, &app, "u1").is_empty(),
        "nothing of u1 is left"
    );
    assert_eq!(friend_count(&env, &app, "u2").await, 0);
    assert_eq!(env.user_count(&app.app_key).await, 99);
    env.issue(&app, "late").await;
    let again = env
        .console(
            "/console/v1/apps/delete-test-user",
            json!({"appKey": app.app_key, "userId": "u1"}),
        )
        .await;
    assert_eq!(again.outcome(), (404, 400));

    let production = env
        .new_app(AppChanges {
            environment: Some(Environment::Production),
            ..Default::default()
        })
        .await;
    env.issue(&production, "p1").await;
    let refused = env
        .console(
            "/console/v1/apps/delete-test-user",
            json!({"appKey": production.app_key, "userId": "p1"}),
        )
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(
        env.call(&production, "/v4/user/get", json!({"userId": "p1"}))
            .await
            .outcome(),
        (200, 0)
    );
}

/// A purge record delivered again after the user was restored (Lambda re-delivers after a
/// partial batch failure, a bisect or a paused mapping) changes nothing: the purge decides from
/// the user as stored now, not from the record.
#[tokio::test]
async fn a_purge_record_delivered_after_a_restore_changes_nothing() {
    let env = env().await;
    let app = env.dev_app().await;
    for user in ["alice", "bob", "carol"] {
        env.issue(&app, user).await;
    }
    let operation_id = soft_delete(&env, &app, &["alice"]).await;
    let record = Env::purge_record(&app, "alice", &operation_id);
    assert_eq!(
        env.deliver_to_purge(&record).await,
        json!({"batchItemFailures": []})
    );
    env.state.clock.advance_ms(HOUR_MS + 1_000);
    let restored = restore(&env, &app, &["alice"]).await;
    assert_eq!(restored["users"][0]["status"], "done", "{restored}");
    env.issue(&app, "alice").await;
    for (path, body) in [
        (
            "/v4/friend/add",
            json!({"userId": "alice", "targetId": "bob", "action": 2}),
        ),
        (
            "/v4/user/profile/set",
            json!({"userId": "alice", "userProfile": {"name": "Back"}}),
        ),
        (
            "/v4/user/blocklist/add",
            json!({"userId": "alice", "targetUserIds": ["carol"]}),
        ),
    ] {
        let response = env.call(&app, path, body).await;
        assert_eq!(response.outcome(), (200, 0), "{path}: {}", response.body);
    }

    // The original record, late and again.
    assert_eq!(
        env.deliver_to_purge(&record).await,
        json!({"batchItemFailures": []})
    );
    let friends = env
        .call(&app, "/v4/friend/list", json!({"userId": "alice"}))
        .await;
    assert_eq!(friends.body["result"]["totalCount"], 1, "{}", friends.body);
    let profile = env
        .call(
            &app,
            "/v4/user/profile/batch/get",
            json!({"userIds": ["alice"]}),
        )
        .await;
    assert_eq!(
        profile.body["result"]["users"][0]["userProfile"]["name"], "Back",
        "{}",
        profile.body
    );
    let blocked = env
        .call(&app, "/v4/user/blocklist/get", json!({"userId": "alice"}))
        .await;
    assert_eq!(
        blocked.body["result"]["blockedUserIds"],
        json!(["carol"]),
        "{}",
        blocked.body
    );
    let user = env
        .call(&app, "/v4/user/get", json!({"userId": "alice"}))
        .await;
    assert_eq!(
        user.outcome(),
        (200, 0),
        "alice stays active: {}",
        user.body
    );
}

/// What a new user of `make local` does: a hosted profile with standard keys only, then a soft
/// delete of a user with friends. The stream carries the profile item too (no ext part, so no
/// empty map), and the Lambda-like follower delivers every batch twice and late: the purge
/// completes once, and the operation says `done`.
#[tokio::test]
async fn a_user_with_a_standard_profile_and_friends_is_purged_through_the_stream() {
    let env = env().await;
    let purge = env.follow_stream().await;
    let app = env.dev_app().await;
    for user in ["alice", "bob"] {
        env.issue(&app, user).await;
    }
    for (path, body) in [
        (
            "/v4/user/profile/set",
            json!({"userId": "alice", "userProfile": {"name": "Al", "level": 3}}),
        ),
        (
            "/v4/friend/add",
            json!({"userId": "alice", "targetId": "bob", "action": 2}),
        ),
    ] {
        let response = env.call(&app, path, body).await;
        assert_eq!(response.outcome(), (200, 0), "{path}: {}", response.body);
    }
    let items = env.app_items(&app.app_key).await;
    let profile: Vec<_> = items_of(&items, &app, "alice");
    assert!(
        profile.iter().all(|item| item
            .values()
            .all(|v| !matches!(v, AttributeValue::M(m) if m.is_empty()))),
        "no empty map is stored: {profile:?}"
    );
    let operation_id = soft_delete(&env, &app, &["alice"]).await;
    let operation = env.wait_for_operation(&app, &operation_id).await;
    assert_eq!(operation["users"][0]["status"], "done", "{operation}");
    let friends = env
        .call(&app, "/v4/friend/list", json!({"userId": "bob"}))
        .await;
    assert_eq!(friends.body["result"]["totalCount"], 0, "{}", friends.body);
    assert!(
        purge.failed.lock().expect("lock").is_empty(),
        "nothing went to the on-failure destination"
    );
}

/// The purge finds what refers to the user with strongly consistent reads of the user's own
/// partition (each cross-partition item has its mirror there), so an index that has not caught
/// up (here: every index query answers nothing) leaves no orphan and no wrong counter.
#[tokio::test]
async fn the_purge_is_complete_while_the_indexes_lag() {
    let env = env().await;
    let app = env.dev_app().await;
    for user in ["alice", "bob", "carol", "dave", "erin"] {
        env.issue(&app, user).await;
    }
    for (path, body, code) in [
        (
            "/v4/friend/add",
            json!({"userId": "alice", "targetId": "bob", "action": 2}),
            0,
        ),
        (
            "/v4/friend/add",
            json!({"userId": "alice", "targetId": "carol"}),
            25461,
        ),
        (
            "/v4/friend/add",
            json!({"userId": "dave", "targetId": "alice"}),
            25461,
        ),
        (
            "/v4/user/blocklist/add",
            json!({"userId": "erin", "targetUserIds": ["alice"]}),
            0,
        ),
        (
            "/v4/user/blocklist/add",
            json!({"userId": "alice", "targetUserIds": ["erin"]}),
            0,
        ),
    ] {
        let response = env.call(&app, path, body).await;
        assert_eq!(response.outcome(), (200, code), "{path}: {}", response.body);
    }
    env.functions.faults.set_index_lag(true);
    let operation_id = soft_delete(&env, &app, &["alice"]).await;
    let answer = env
        .deliver_to_purge(&Env::purge_record(&app, "alice", &operation_id))
        .await;
    env.functions.faults.set_index_lag(false);
    assert_eq!(answer, json!({"batchItemFailures": []}));

    let alice = shared::table::user_pk(&app.app_key, "alice");
    let naming_alice: Vec<_> = env
        .app_items(&app.app_key)
        .await
        .into_iter()
        .filter(|item| {
            let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
            text("PK").as_deref() == Some(alice.as_str())
                || text("edgeTo").as_deref() == Some(alice.as_str())
                || text("SK").is_some_and(|sk| sk.ends_with("#alice"))
        })
        .map(|item| {
            let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
            (
                text("PK").unwrap_or_default(),
                text("SK").unwrap_or_default(),
            )
        })
        .collect();
    let erin = shared::table::user_pk(&app.app_key, "erin");
    let mut expected = vec![
        (alice.clone(), "USER".to_owned()),
        (erin, "BLOCK#alice".to_owned()),
    ];
    expected.sort();
    let mut found = naming_alice;
    found.sort();
    assert_eq!(
        found, expected,
        "only alice's record and erin's block of her stay"
    );
    assert_eq!(friend_count(&env, &app, "bob").await, 0);
}

/// A user larger than one invocation's work: with no time to spare (every invocation purges one
/// page, then checkpoints), the purge goes on from the record its checkpoint writes, through the
/// Lambda-like mapping with duplicate and late delivery, until everything is gone.
#[tokio::test]
async fn a_purge_longer_than_one_invocation_checkpoints_and_continues() {
    use futures::StreamExt;
    let env = env().await;
    let purge = env
        .follow_stream_with(Some(std::time::Duration::ZERO))
        .await;
    let app = env.dev_app().await;
    env.issue(&app, "alice").await;
    let friends: Vec<String> = (0..400).map(|i| format!("f{i}")).collect();
    futures::stream::iter(&friends)
        .map(|friend| befriend(&env, &app, "alice", friend))
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
    let pages = friends.len() / shared::purge::PURGE_PAGE as usize + 1;
    assert!(pages >= 2, "the partition spans {pages} pages");

    let operation_id = soft_delete(&env, &app, &["alice"]).await;
    let operation = env.wait_for_operation(&app, &operation_id).await;
    assert_eq!(operation["users"][0]["status"], "done", "{operation}");

    let user = user_record(&env, &app, "alice")
        .await
        .expect("the USER item stays");
    let number = |name: &str| -> i64 {
        user.get(name)
            .and_then(|v| v.as_n().ok()?.parse().ok())
            .unwrap_or(0)
    };
    assert!(
        number("purgeRounds") >= 1,
        "the purge checkpointed at least once: {user:?}"
    );
    assert_eq!(user["purgeState"], s("done"));
    let left: Vec<_> = items_of(&env.app_items(&app.app_key).await, &app, "alice")
        .into_iter()
        .map(|item| item["SK"].clone())
        .collect();
    assert_eq!(left, [s("USER")], "only the USER item is left");
    for friend in friends.iter().step_by(37) {
        assert_eq!(
            friend_count(&env, &app, friend).await,
            0,
            "{friend}'s counter"
        );
    }
    assert!(purge.failed.lock().expect("lock").is_empty());
}

/// A purge whose stream record was lost (here: soft-deleted while nothing followed the stream)
/// stays pending until the sweeper finds it older than its cut-off and re-drives it; a result
/// the purge could not record is recorded by the sweeper; a finished operation leaves the
/// sweeper's list.
#[tokio::test]
async fn the_sweeper_redrives_a_purge_nothing_finished() {
    // A stack of its own: other tests' stream followers on the shared table would purge alice.
    let env = integration_tests::isolated_env("lifecycle-sweeper").await;
    let app = env.dev_app().await;
    for user in ["alice", "bob"] {
        env.issue(&app, user).await;
    }
    befriend(&env, &app, "alice", "bob").await;
    let operation_id = soft_delete(&env, &app, &["alice"]).await;
    // The record is behind the follower's starting point: lost, as far as the purge can tell.
    let purge = env.follow_stream().await;
    let sweep = || env.sweep_purges(&app);
    let status = || async {
        let response = env
            .call(
                &app,
                "/v4/ext/operation/get",
                json!({"operationId": operation_id}),
            )
            .await;
        response.body["result"]["users"][0]["status"].clone()
    };

    let alice = || user_record(&env, &app, "alice");

    // Younger than the cut-off: a purge may still be on its way. The sweep leaves alice's record
    // exactly as it was (a re-drive is a change of it: the only thing the purge would follow),
    // seen directly rather than by waiting for nothing to happen.
    let before = alice().await;
    let answer = sweep().await;
    assert_eq!(answer["redriven"], 0, "{answer}");
    assert_eq!(alice().await, before, "the sweep wrote nothing of alice's");
    assert_eq!(status().await, "pending");

    env.state
        .clock
        .advance_ms(shared::purge::STUCK_AFTER.as_millis() as i64 + 1_000);
    let answer = sweep().await;
    assert_eq!(answer["redriven"], 1, "{answer}");
    let operation = env.wait_for_operation(&app, &operation_id).await;
    assert_eq!(operation["users"][0]["status"], "done", "{operation}");
    assert_eq!(friend_count(&env, &app, "bob").await, 0);

    // The purge finished but its result was lost: the sweeper records it, then forgets the
    // operation.
    env.state
        .db
        .update_item()
        .table_name(&env.state.table)
        .key(
            "PK",
            s(&shared::table::operation_pk(&app.app_key, &operation_id)),
        )
        .key("SK", s("OP"))
        .update_expression("SET #users.#alice = :pending")
        .expression_attribute_names("#users", "users")
        .expression_attribute_names("#alice", "alice")
        .expression_attribute_values(
            ":pending",
            AttributeValue::M(HashMap::from([("status".to_owned(), s("pending"))])),
        )
        .send()
        .await
        .expect("tamper");
    let answer = sweep().await;
    assert_eq!(
        (&answer["redriven"], &answer["settled"], &answer["finished"]),
        (&json!(0), &json!(1), &json!(1)),
        "{answer}"
    );
    assert_eq!(status().await, "done");
    let answer = sweep().await;
    assert_eq!(
        answer["operations"], 0,
        "the finished operation left the list: {answer}"
    );
    assert!(purge.failed.lock().expect("lock").is_empty());
}
