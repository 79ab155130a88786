//! Every operation against its documented budget.

use super::*;

#[tokio::test]
async fn every_operation_stays_within_its_documented_budget() {
    let log = RequestLog::default();
    let interceptor = log.clone();
    let env = env_with(|config| config.interceptor(interceptor)).await;
    let budgets = documented_budgets();
    let app = env.dev_app().await;
    env.issue(&app, "alice").await; // registers alice
    env.issue(&app, "bob").await;
    env.warm(&app); // every function's container has the app cached

    let signed = |path: &'static str, body: Value| env.call(&app, path, body);
    let console = |path: &'static str, body: Value| env.console(path, body);
    let key = app.app_key.clone();
    let mut measured: HashMap<&str, String> = HashMap::new();

    let existing = count(
        &log,
        signed(
            "/v4/auth/access-token/issue",
            json!({"userId": "alice", "name": "A"}),
        ),
    )
    .await;
    let new = count(
        &log,
        signed(
            "/v4/auth/access-token/issue",
            json!({"userId": "carol", "name": "C"}),
        ),
    )
    .await;
    measured.insert(
        "issue-access-token",
        format!("{existing} (existing user), {new} (new user)"),
    );
    let one = count(
        &log,
        signed(
            "/v4/auth/access-token/expire",
            json!({"userIds": ["alice"], "expiresAt": 946_684_800_000_i64}),
        ),
    )
    .await;
    let two = count(
        &log,
        signed(
            "/v4/auth/access-token/expire",
            json!({"userIds": ["alice", "bob"], "expiresAt": 946_684_800_000_i64}),
        ),
    )
    .await;
    assert_eq!(two - one, 1, "expire costs one request per user");
    let expire_disconnect = count(
        &log,
        signed(
            "/v4/auth/access-token/expire",
            json!({"userIds": ["alice"], "expiresAt": 946_684_800_000_i64, "disconnect": true}),
        ),
    )
    .await;
    assert_eq!(
        expire_disconnect - one,
        1,
        "disconnect costs one Query per user"
    );
    measured.insert(
        "expire-access-token",
        format!(
            "{} + n (n users, concurrent); `disconnect`: + n, + 1 per connection closed",
            one - 1
        ),
    );
    // Connections: $connect, heartbeat, status, $disconnect (the WebSocket routes' functions
    // call these; the local API's socket tests cover the events).
    let token = env.issue(&app, "bob").await;
    log.take();
    shared::connections::connect(&env.function("connect"), &token, "budgetconnection", None)
        .await
        .expect("connect");
    measured.insert("connect", log.take().len().to_string());
    assert!(
        shared::connections::heartbeat(&env.function("heartbeat"), "budgetconnection")
            .await
            .expect("heartbeat")
    );
    measured.insert("heartbeat", log.take().len().to_string());
    let status = count(
        &log,
        signed("/v4/user/connection-status/get", json!({"userId": "bob"})),
    )
    .await;
    measured.insert("get-user-connection-status", reads(status));
    log.take();
    shared::connections::disconnect(&env.function("disconnect"), "budgetconnection")
        .await
        .expect("disconnect");
    measured.insert("disconnect", log.take().len().to_string());
    let get = count(&log, signed("/v4/user/get", json!({"userId": "alice"}))).await;
    measured.insert("get-user", reads(get));
    let update = count(
        &log,
        signed("/v4/user/update", json!({"userId": "alice", "name": "B"})),
    )
    .await;
    measured.insert("update-user", update.to_string());
    // Hosted profiles.
    let set_new = count(
        &log,
        signed(
            "/v4/user/profile/set",
            json!({"userId": "alice", "userProfile": {"name": "A"}}),
        ),
    )
    .await;
    let set_existing = count(
        &log,
        signed(
            "/v4/user/profile/set",
            json!({"userId": "alice", "userExtProfile": {"ext_a": "1"}}),
        ),
    )
    .await;
    assert_eq!(set_new, set_existing, "creating and updating cost the same");
    measured.insert("set-user-profile", set_new.to_string());
    let profiles_get = count(
        &log,
        signed(
            "/v4/user/profile/batch/get",
            json!({"userIds": ["alice", "bob"]}),
        ),
    )
    .await;
    measured.insert("batch-get-user-profiles", reads(profiles_get));
    signed(
        "/v4/user/profile/set",
        json!({"userId": "bob", "userProfile": {"level": 1}}),
    )
    .await;
    let first_page = count(
        &log,
        signed("/v4/user/profile/list", json!({"page": 1, "pageSize": 1})),
    )
    .await;
    let next_page = count(
        &log,
        signed("/v4/user/profile/list", json!({"page": 2, "pageSize": 1})),
    )
    .await;
    let any_page = count(
        &log,
        signed(
            "/v4/user/profile/list",
            json!({"page": 2, "pageSize": 1, "order": 1}),
        ),
    )
    .await;
    measured.insert(
        "list-user-profiles",
        format!(
            "{first_page} (page 1), {next_page} (the page after the last one read), {any_page} (any other page)"
        ),
    );
    let delete_one = count(
        &log,
        signed("/v4/user/profile/delete", json!({"userIds": ["alice"]})),
    )
    .await;
    signed(
        "/v4/user/profile/set",
        json!({"userId": "alice", "userProfile": {"name": "A"}}),
    )
    .await;
    let delete_two = count(
        &log,
        signed(
            "/v4/user/profile/delete",
            json!({"userIds": ["alice", "bob", "carol"]}),
        ),
    )
    .await;
    assert_eq!(delete_two - delete_one, 1, "one transaction per profile");
    measured.insert(
        "delete-user-profiles",
        format!(
            "{} + n (n users with a profile, concurrent)",
            delete_one - 1
        ),
    );
    // Moderation: bans, tags, mutes, the DM check.
    let ban = count(
        &log,
        signed(
            "/v4/user/ban",
            json!({"userIds": ["alice", "bob"], "durationMinutes": 5}),
        ),
    )
    .await;
    measured.insert(
        "ban-users",
        format!(
            "{} + n (n users: a Query each, concurrent) + 1 per connection closed",
            ban - 2
        ),
    );
    let banned = count(&log, signed("/v4/user/ban/list", json!({}))).await;
    let later = count(
        &log,
        signed("/v4/user/ban/list", json!({"page": 2, "pageSize": 1})),
    )
    .await;
    let past_the_end = count(
        &log,
        signed(
            "/v4/user/ban/list",
            json!({"page": 4_000_000_000_u32, "pageSize": 1000}),
        ),
    )
    .await;
    measured.insert(
        "list-banned-users",
        paged_budget(banned, later, past_the_end),
    );
    let unban = count(
        &log,
        signed("/v4/user/unban", json!({"userIds": ["alice", "bob"]})),
    )
    .await;
    let unban_none = count(
        &log,
        signed("/v4/user/unban", json!({"userIds": ["alice", "bob"]})),
    )
    .await;
    measured.insert(
        "unban-users",
        nonce_alone_when(unban, unban_none, "if none is banned"),
    );
    // 51 users with 49 unknown: two transactions, the first sent again without its unknown users.
    let with_ghosts = |known: &[&str]| {
        let mut ids: Vec<String> = known.iter().map(|u| u.to_string()).collect();
        ids.extend((ids.len()..51).map(|i| format!("ghost{i}")));
        ids
    };
    let batch_budget = |one: usize, mixed: usize| {
        assert_eq!(
            mixed,
            one + 3,
            "one more transaction, one resend, the nonce alone before the full first one"
        );
        format!(
            "{} + ⌈n/50⌉ (n users, concurrent, the nonce in the first transaction; + 1 before them when the first is full (50 users): the nonce alone; + 1 per transaction resent without unknown users)",
            one - 1
        )
    };
    let tags_one = count(
        &log,
        signed(
            "/v4/user/tag/batch/set",
            json!({"userIds": ["alice", "bob"], "tags": ["vip"]}),
        ),
    )
    .await;
    let tags_mixed = count(
        &log,
        signed(
            "/v4/user/tag/batch/set",
            json!({"userIds": with_ghosts(&["alice", "bob"]), "tags": ["vip"]}),
        ),
    )
    .await;
    measured.insert("batch-set-user-tags", batch_budget(tags_one, tags_mixed));
    let tags_get = count(
        &log,
        signed(
            "/v4/user/tag/batch/get",
            json!({"userIds": ["alice", "bob"]}),
        ),
    )
    .await;
    measured.insert("batch-get-user-tags", reads(tags_get));
    let mute = |ids: Vec<String>| {
        signed(
            "/v4/channel-type/mute/set",
            json!({"userIds": ids, "muteState": 1, "channelTypes": ["PERSON"]}),
        )
    };
    let mute_one = count(&log, mute(vec!["alice".into(), "bob".into()])).await;
    let mute_again = count(&log, mute(vec!["alice".into(), "bob".into()])).await;
    assert_eq!(
        mute_again, mute_one,
        "muted users need no transaction: the nonce goes alone instead"
    );
    let unmute = count(
        &log,
        signed(
            "/v4/channel-type/mute/set",
            json!({"userIds": ["alice", "bob"], "muteState": 0, "channelTypes": ["PERSON"]}),
        ),
    )
    .await;
    assert_eq!(unmute, mute_one, "one read, one transaction");
    // 51 new: two transactions of 48 and 3, both cancelled by unknown users; the first is sent
    // again with its two known users.
    let mute_mixed = count(&log, mute(with_ghosts(&["alice", "bob"]))).await;
    assert_eq!(
        mute_mixed,
        mute_one + 3,
        "one more transaction, one resend, the nonce alone before the full first one"
    );
    measured.insert(
        "set-channel-type-mute",
        format!(
            "{} + ⌈n/48⌉ (n users not yet muted, or muted to unmute: one BatchGetItem per 100, concurrent, then the transactions one after another, the nonce in the first; + 1 for the nonce alone when there is none or the first is full (48 users); + 1 per transaction resent without unknown users)",
            mute_one - 1
        ),
    );
    let mute_list = |body: Value| signed("/v4/channel-type/mute/list", body);
    let muted = count(&log, mute_list(json!({"channelType": "PERSON"}))).await;
    let later = count(
        &log,
        mute_list(json!({"channelType": "PERSON", "offset": 1, "pageSize": 1})),
    )
    .await;
    let past_the_end = count(
        &log,
        mute_list(json!({"channelType": "PERSON", "offset": 4_000_000_000_u32})),
    )
    .await;
    measured.insert(
        "list-channel-type-mute",
        paged_budget(muted, later, past_the_end),
    );
    let dm = count(
        &log,
        signed(
            "/v4/ext/dm/permission/check",
            json!({"fromUserId": "alice", "toUserId": "bob"}),
        ),
    )
    .await;
    measured.insert("check-dm-permission", reads(dm));

    let create = count(&log, console("/console/v1/apps/create", json!({}))).await;
    measured.insert("create-app", create.to_string());
    let get_app = count(
        &log,
        console("/console/v1/apps/get", json!({"appKey": key})),
    )
    .await;
    measured.insert("get-app", get_app.to_string());
    let update_app = count(
        &log,
        console(
            "/console/v1/apps/update",
            json!({"appKey": key, "restrictDmToFriends": true}),
        ),
    )
    .await;
    measured.insert("update-app", update_app.to_string());
    let rotated = env.dev_app().await;
    let rotate = count(
        &log,
        // Another app: the scenarios below still sign with this app's secret.
        console(
            "/console/v1/apps/rotate-secret",
            json!({"appKey": rotated.app_key}),
        ),
    )
    .await;
    measured.insert(
        "rotate-app-secret",
        format!("{rotate} + 1 per connection closed (+ 1 Query per 1 MB of connections)"),
    );
    let one_app = count(
        &log,
        console("/console/v1/apps/list", json!({"pageSize": 1})),
    )
    .await;
    let two_apps = count(
        &log,
        console("/console/v1/apps/list", json!({"pageSize": 2})),
    )
    .await;
    assert_eq!(
        two_apps,
        one_app + 1,
        "one read of user-count shards per app listed"
    );
    measured.insert(
        "list-apps",
        format!(
            "{} + n (n apps on the page: their user-count shards, concurrent)",
            one_app - 1
        ),
    );
    let users = count(
        &log,
        console("/console/v1/users/list", json!({"appKey": key})),
    )
    .await;
    measured.insert("list-app-users", reads(users));
    let details = console(
        "/console/v1/users/get",
        json!({"appKey": key, "userId": "alice"}),
    );
    measured.insert("get-user-details", reads(count(&log, details).await));
    let audit = count(
        &log,
        console("/console/v1/audit/list", json!({"appKey": key})),
    )
    .await;
    measured.insert("list-audit-entries", reads(audit));
    // The Console page is static: its policy grants no AWS access at all, which the local IAM
    // enforcement holds it to.
    measured.insert("console-page", "0".to_owned());
    let metrics = count(&log, console("/console/v1/metrics/get", json!({}))).await;
    measured.insert(
        "get-metrics",
        format!("{metrics} (CloudWatch `GetMetricData`: 4, concurrent)"),
    );

    // Lifecycle: soft delete, restore, their listing and operation records, the purge.
    for user in ["sdone", "sdtwo", "sdthree", "sdfour", "sdfive"] {
        env.issue(&app, user).await;
    }
    let soft_one = count(
        &log,
        signed("/v4/user/soft-delete", json!({"userIds": ["sdone"]})),
    )
    .await;
    let soft_two = count(
        &log,
        signed(
            "/v4/user/soft-delete",
            json!({"userIds": ["sdtwo", "sdthree"]}),
        ),
    )
    .await;
    assert_eq!(
        soft_two - soft_one,
        1,
        "soft delete costs one more Query per user (its connections)"
    );
    measured.insert(
        "soft-delete-users",
        format!(
            "{} + ⌈n/96⌉ + n (n users: transactions of 96 one after another, a connections Query each, concurrent; + 1 per connection closed; + 1 if any is refused, + 1 per transaction resent without them)",
            soft_one - 2
        ),
    );
    let restore = count(
        &log,
        signed("/v4/user/restore", json!({"userIds": ["sdone"]})),
    )
    .await;
    measured.insert(
        "restore-users",
        format!(
            "{restore} + 1 per transaction of restorable users (24 to 96 users each, by how spread their deletion times are; + 1 per resend)"
        ),
    );
    let deleted_list = |body: Value| signed("/v4/user/soft-deleted/list", body);
    let list = count(&log, deleted_list(json!({}))).await;
    let later = count(&log, deleted_list(json!({"page": 2, "pageSize": 1}))).await;
    let past_the_end = count(&log, deleted_list(json!({"page": 10_000}))).await;
    measured.insert(
        "list-soft-deleted-users",
        paged_budget(list, later, past_the_end),
    );
    let deleted = env
        .call(&app, "/v4/user/soft-delete", json!({"userIds": ["sdfour"]}))
        .await;
    let operation_id = deleted.body["result"]["operationId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let get_operation = count(
        &log,
        signed(
            "/v4/ext/operation/get",
            json!({"operationId": operation_id}),
        ),
    )
    .await;
    measured.insert("get-operation", reads(get_operation));
    let delete_test_user = count(
        &log,
        console(
            "/console/v1/apps/delete-test-user",
            json!({"appKey": key, "userId": "sdfive"}),
        ),
    )
    .await;
    measured.insert(
        "delete-test-user",
        format!("{delete_test_user} + 1 per 25 items purged"),
    );
    let user = shared::users::key(&app.app_key, "sdone");
    let item = env
        .state
        .db
        .get_item()
        .table_name(&env.state.table)
        .set_key(Some(user))
        .send()
        .await
        .unwrap();
    let text = |name: &str| item.item.as_ref()?.get(name)?.as_s().ok().cloned();
    let image = shared::purge::UserImage::from_strings(text);
    log.take();
    shared::purge::on_user_change(
        &env.function("purge-soft-deleted-users"),
        &image,
        shared::purge::Deadline::none(),
    )
    .await
    .unwrap();
    measured.insert(
        "purge-soft-deleted-users",
        format!(
            "{} + 1 per 25 items deleted + 1 per counted edge + 1 for a hosted profile",
            log.take().len()
        ),
    );

    // The sweeper, over an app without tickets: one strongly consistent Query per ticket
    // partition. (Each ticket adds its operation's record, which this app's soft deletes would
    // too, their number depending on whether other tests' stream followers purged them.)
    log.take();
    let swept = local_api::schedule::invoke(
        &env.functions,
        local_api::schedule::SWEEP_FUNCTION,
        json!({ "appKey": format!("{key}-none") }),
    )
    .await
    .expect("sweep");
    assert_eq!(swept["pendingUsers"], 0, "{swept}");
    measured.insert(
        "sweep-stuck-purges",
        format!(
            "{} + per ticket (a soft delete with a pending user, or finished since the last sweep): 1 + 1 once none is pending; per one older than the cut-off also 1 per pending user (+ 1 per re-drive, + 1 if results are recorded)",
            log.take().len()
        ),
    );

    // Friendships and the blocklist, in an app of their own.
    friend_budgets(&env, &log, &mut measured).await;
    // Webhooks, in an app of their own with a receiver.
    webhook_budgets(&env, &log, &mut measured).await;

    let functions: Vec<String> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../functions"))
            .expect("functions/")
            .map(|e| {
                e.expect("entry")
                    .file_name()
                    .into_string()
                    .expect("utf-8 name")
            })
            .collect();
    // Every difference at once, so one run tells what to change.
    let mut differences = Vec::new();
    for function in &functions {
        let documented = budgets
            .get(function)
            .unwrap_or_else(|| panic!("README gives no budget for {function}"));
        let actual = measured
            .get(function.as_str())
            .unwrap_or_else(|| panic!("no budget scenario for {function}"));
        if actual != documented {
            differences.push(format!(
                "{function}: measured {actual:?}, README {documented:?}"
            ));
        }
    }
    assert!(
        differences.is_empty(),
        "measured vs README:\n{}",
        differences.join("\n")
    );
}
