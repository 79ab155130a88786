//! The DynamoDB round-trip budget of every operation, counted by an SDK interceptor (not timed),
//! against the budget the README writes next to each operation. A function without a budget in
//! the README, or without a scenario here, fails.

use std::collections::HashMap;

use integration_tests::{RATE_COUNT, RequestLog, documented_budgets, env_with};
use local_api::router::Access;
use serde_json::{Value, json};
use shared::replay::Placement;

/// A read's requests: "n (concurrent)" when it sends several.
fn reads(requests: usize) -> String {
    if requests > 1 {
        format!("{requests} (concurrent)")
    } else {
        requests.to_string()
    }
}

/// The budget of a list paged through its count tree: the first page reads the root beside
/// the page; a later page descends the tree first (3 more reads), whatever the page; a page past
/// the end reads the root alone.
fn paged_budget(first: usize, later: usize, past_the_end: usize) -> String {
    assert_eq!(
        later,
        first + 3,
        "a later page: three more count-tree reads"
    );
    assert_eq!(past_the_end, first - 1, "past the end: the root alone");
    format!("{first} (concurrent); any later page: {later}; past the end: {past_the_end}")
}

/// The budget of a change whose nonce rides in its transaction, when the call may have nothing
/// to write: the nonce then goes alone after the reads (the same count, one round trip later).
fn nonce_alone_when(written: usize, unwritten: usize, case: &str) -> String {
    assert_eq!(
        written, unwritten,
        "the nonce alone replaces the transaction"
    );
    format!("{written} (the nonce alone instead of the transaction {case})")
}

/// Measures one warm call: the app is cached and the user exists before counting starts.
async fn count(
    log: &RequestLog,
    call: impl std::future::Future<Output = integration_tests::Response>,
) -> usize {
    log.take();
    let response = call.await;
    assert_eq!(response.outcome(), (200, 0), "{}", response.body);
    own_requests(log)
}

/// The call's own requests since the last take: its count against the app's limit
/// (`shared::rate`), which the README states once for every signed call, aside.
fn own_requests(log: &RequestLog) -> usize {
    let requests = log.take();
    let counted = requests.iter().filter(|r| *r == RATE_COUNT).count();
    assert!(counted <= 1, "counted once at most: {requests:?}");
    requests.len() - counted
}

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

/// The README's nonce column says, for every function, where it records its nonce, as the code
/// declares it (`Operation::NONCE`; `signing.rs` checks the requests match).
#[tokio::test]
async fn the_readme_says_where_each_change_records_its_nonce() {
    let readme = include_str!("../../README.md");
    let documented: HashMap<&str, &str> = readme
        .split("## Endpoints")
        .nth(1)
        .expect("README has an Endpoints section")
        .lines()
        .filter(|line| line.starts_with("| `"))
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            (cells[2].trim_matches('`'), cells[4])
        })
        .collect();
    let router = local_api::router::all();
    let access: HashMap<_, _> = router.paths().into_iter().collect();
    let signed: std::collections::HashSet<&str> = router
        .functions()
        .into_iter()
        .filter(|(path, _)| access[path] == Access::Signed)
        .map(|(_, function)| function)
        .collect();
    for (path, function) in router.functions() {
        let expected = match (access[path], router.nonce_placement(path)) {
            // A Server API operation run for the console (`Operation::CONSOLE_PATHS`): its row
            // is the signed route's.
            (Access::Console, _) if signed.contains(function) => continue,
            (Access::Console, _) => "—",
            (Access::Signed, None) => "none (a read)",
            (Access::Signed, Some(Placement::BesideAppCheck)) => "beside the app check",
            (Access::Signed, Some(Placement::InFirstTransaction)) => "in the first transaction",
        };
        assert_eq!(
            documented.get(function),
            Some(&expected),
            "{function} ({path})"
        );
    }
}

/// Warm reads send their own read each and, under the default limits, a count only when the
/// container's lease runs out: ten reads in a row send at most four (three as the lease grows
/// with the rate it sees, one more if a second starts among them); with `rateLimits` `"off"` no
/// count at all.
#[tokio::test]
async fn a_read_sends_its_read_only() {
    let log = RequestLog::default();
    let interceptor = log.clone();
    let env = env_with(|config| config.interceptor(interceptor)).await;
    for (limits, most_counts) in [(json!({}), 4), (json!("off"), 0)] {
        let app = env
            .new_app(shared::apps::AppChanges {
                rate_limits: Some(limits.clone()),
                ..Default::default()
            })
            .await;
        env.issue(&app, "dana").await;
        env.warm(&app);
        log.take();
        for _ in 0..10 {
            let response = env
                .call(&app, "/v4/user/get", json!({"userId": "dana"}))
                .await;
            assert_eq!(response.outcome(), (200, 0), "{}", response.body);
        }
        let requests = log.take();
        let counts = requests.iter().filter(|r| *r == RATE_COUNT).count();
        let reads = requests.iter().filter(|r| *r == "GetItem").count();
        assert_eq!(
            (reads, requests.len() - counts - reads),
            (10, 0),
            "rateLimits {limits}: {requests:?}"
        );
        assert!(
            counts <= most_counts && (most_counts == 0 || counts >= 1),
            "rateLimits {limits}: {counts} counts: {requests:?}"
        );
    }
}

/// Friendships, pending requests and the blocklist.
async fn webhook_budgets(
    env: &integration_tests::Env,
    log: &RequestLog,
    measured: &mut HashMap<&str, String>,
) {
    use shared::apps::WebhookEvent;
    use shared::webhooks::{deliveries, guard::Destinations, post::Poster, sender};
    let receiver = integration_tests::receiver::Receiver::start().await;
    receiver.reply_next(&[integration_tests::receiver::Reply::Status(500)]);
    let app = env
        .new_app(shared::apps::AppChanges {
            webhook_url: Some(receiver.url.clone()),
            webhook_events: Some(vec![WebhookEvent::ProfileUpdate]),
            ..Default::default()
        })
        .await;
    env.warm(&app);
    let signed = |path: &'static str, body: Value| env.call(&app, path, body);
    // The producer: a batch of two records of the app (one read of the app for the batch), each
    // with one event.
    let changed_at_s = env.state.clock.now_ms() / 1000;
    let record = |sequence: &str| {
        json!({"eventID": format!("budget-{sequence}"), "eventName": "REMOVE", "dynamodb": {
            "ApproximateCreationDateTime": changed_at_s,
            "Keys": {"PK": {"S": shared::table::user_pk(&app.app_key, "alice")}, "SK": {"S": "PROFILE"}},
            "SequenceNumber": sequence,
        }})
    };
    log.take();
    let answer = shared::webhooks::producer::handle(
        &env.function("produce-webhook-events"),
        &json!({"Records": [record("1"), record("2")]}),
    )
    .await;
    assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
    let produced = log.take().len();
    assert_eq!(
        produced, 4,
        "one app read, one log write per event, the hour listed once"
    );
    measured.insert(
        "produce-webhook-events",
        "1 per app in the batch + 1 per event (+ 1 the first time a container logs an app's event of an hour; records of other kinds or apps without the event: none)".to_owned(),
    );
    // The sender: one attempt (the receiver answers 500: retried, the next attempt queued).
    let logged = deliveries::list(
        &env.state,
        &app.app_key,
        deliveries::Filter::default(),
        10,
        None,
        env.state.clock.now_ms(),
    )
    .await
    .expect("log")
    .0;
    let message = shared::queue::QueuedDelivery {
        app_key: app.app_key.clone(),
        event_id: logged[0].event_id.clone(),
        attempt: 0,
        retry: 0,
        due_at: 0,
    };
    let poster = Poster::new(Destinations::AllowLoopback);
    log.take();
    sender::deliver(&env.function("send-webhooks"), &poster, message)
        .await
        .expect("attempt");
    measured.insert(
        "send-webhooks",
        format!(
            "{} (the claim and the app read concurrent, then the attempt recorded)",
            log.take().len()
        ),
    );
    assert_eq!(receiver.received().len(), 1);
    let listed = count(
        log,
        signed(
            "/v4/ext/webhook/delivery/list",
            json!({"status": "pending"}),
        ),
    )
    .await;
    measured.insert(
        "list-webhook-deliveries",
        format!("{listed} (the log's hours, then its latest; + 1 per further read while a status filter leaves the page short, 10 at most)"),
    );
    let ids: Vec<&str> = logged.iter().map(|d| d.event_id.as_str()).collect();
    let by_id = count(
        log,
        signed("/v4/ext/webhook/replay", json!({"eventIds": ids})),
    )
    .await;
    let since = count(log, signed("/v4/ext/webhook/replay", json!({"since": 0}))).await;
    let base = by_id - 2 * ids.len();
    assert_eq!(
        since,
        base + 2,
        "since: the log's hours, one Query and no failed event"
    );
    measured.insert(
        "replay-webhooks",
        format!(
            "{base} + 2n (n events: reads, then restarts, each concurrent); `since`: {} + n + 1 per 100 read (the log's hours, a Query per 100 events of each hour, n failed events restarted, 1,000 at most per call)",
            base + 2
        ),
    );
    let rotated = count(
        log,
        env.console(
            "/console/v1/apps/rotate-webhook-secret",
            json!({"appKey": app.app_key}),
        ),
    )
    .await;
    measured.insert("rotate-webhook-secret", rotated.to_string());
}

async fn friend_budgets(
    env: &integration_tests::Env,
    log: &RequestLog,
    measured: &mut HashMap<&str, String>,
) {
    let app = env.dev_app().await;
    for user in ["fa", "fb", "fc", "fd", "fe"] {
        env.issue(&app, user).await;
    }
    env.warm(&app);
    let signed = |path: &'static str, body: Value| env.call(&app, path, body);
    let app_ref = &app;
    let pending = |path: &'static str, body: Value| async move {
        log.take();
        let response = env.call(app_ref, path, body).await;
        assert_eq!(response.outcome(), (200, 25461), "{}", response.body);
        own_requests(log)
    };

    let direct = count(
        log,
        signed(
            "/v4/friend/add",
            json!({"userId": "fa", "targetId": "fb", "action": 2}),
        ),
    )
    .await;
    let requested = pending("/v4/friend/add", json!({"userId": "fa", "targetId": "fc"})).await;
    measured.insert(
        "add-friend",
        format!("{direct} (action 2), {requested} (action 1)"),
    );
    let requests = count(
        log,
        signed("/v4/ext/friend/request/list", json!({"userId": "fc"})),
    )
    .await;
    measured.insert("list-friend-requests", reads(requests));
    let accept = count(
        log,
        signed(
            "/v4/ext/friend/request/accept",
            json!({"userId": "fc", "requesterId": "fa"}),
        ),
    )
    .await;
    measured.insert("accept-friend-request", accept.to_string());
    pending("/v4/friend/add", json!({"userId": "fd", "targetId": "fc"})).await;
    let reject = count(
        log,
        signed(
            "/v4/ext/friend/request/reject",
            json!({"userId": "fc", "requesterId": "fd"}),
        ),
    )
    .await;
    measured.insert("reject-friend-request", reject.to_string());
    let profile = count(
        log,
        signed(
            "/v4/friend/profile/set",
            json!({"userId": "fa", "targetId": "fb", "alias": "B"}),
        ),
    )
    .await;
    measured.insert("set-friend-profile", profile.to_string());
    let relationships = count(
        log,
        signed(
            "/v4/friend/relationship/get",
            json!({"userId": "fa", "targetIds": ["fb", "fc", "fd"]}),
        ),
    )
    .await;
    measured.insert("get-friend-relationships", reads(relationships));
    let no_friends = count(log, signed("/v4/friend/list", json!({"userId": "fe"}))).await;
    let two_friends = count(log, signed("/v4/friend/list", json!({"userId": "fa"}))).await;
    assert_eq!(
        two_friends,
        no_friends + 1,
        "one BatchGetItem of names per 50 friends"
    );
    measured.insert(
        "list-friends",
        format!("{no_friends} + ⌈n/50⌉ (n friends on the page; the first {no_friends} concurrent)"),
    );
    let one = count(
        log,
        signed(
            "/v4/friend/remove",
            json!({"userId": "fa", "targetIds": ["fb"]}),
        ),
    )
    .await;
    env.call(
        &app,
        "/v4/friend/add",
        json!({"userId": "fa", "targetId": "fb", "action": 2}),
    )
    .await;
    let two = count(
        log,
        signed(
            "/v4/friend/remove",
            json!({"userId": "fa", "targetIds": ["fb", "fc"]}),
        ),
    )
    .await;
    assert_eq!(two, one + 1, "one transaction per target");
    measured.insert(
        "remove-friends",
        format!("{} + n (n targets, concurrent)", one - 1),
    );
    for friend in ["fb", "fc"] {
        env.call(
            &app,
            "/v4/friend/add",
            json!({"userId": "fa", "targetId": friend, "action": 2}),
        )
        .await;
    }
    let all = count(
        log,
        signed("/v4/friend/remove-all", json!({"userId": "fa"})),
    )
    .await;
    measured.insert(
        "remove-all-friends",
        format!(
            "{} + n (n friends, concurrent; + 1 Query per 1 MB of friends)",
            all - 2
        ),
    );

    // Permissions: up to 50 users in one transaction; more are checked first.
    let crowd: Vec<String> = (0..51).map(|i| format!("crowd{i}")).collect();
    for user in &crowd {
        env.issue(&app, user).await;
    }
    let few = count(
        log,
        signed(
            "/v4/friend/permission/set",
            json!({"userIds": ["fa", "fb"], "permissionType": 1}),
        ),
    )
    .await;
    let many = count(
        log,
        signed(
            "/v4/friend/permission/set",
            json!({"userIds": crowd, "permissionType": 1}),
        ),
    )
    .await;
    measured.insert(
        "set-friend-permission",
        format!("{few} (≤ 50 users), {many} (51 to 100 users)"),
    );
    let get_few = count(
        log,
        signed(
            "/v4/friend/permission/get",
            json!({"userIds": ["fa", "fb"]}),
        ),
    )
    .await;
    let get_many = count(
        log,
        signed("/v4/friend/permission/get", json!({"userIds": crowd})),
    )
    .await;
    assert_eq!(get_many, get_few + 1, "one BatchGetItem per 50 users");
    measured.insert(
        "get-friend-permission",
        match get_few - 1 {
            0 => "⌈n/50⌉ (n users, concurrent)".to_owned(),
            base => format!("{base} + ⌈n/50⌉ (n users, concurrent)"),
        },
    );

    let block = count(
        log,
        signed(
            "/v4/user/blocklist/add",
            json!({"userId": "fa", "targetUserIds": ["fb", "fc"]}),
        ),
    )
    .await;
    let again = count(
        log,
        signed(
            "/v4/user/blocklist/add",
            json!({"userId": "fa", "targetUserIds": ["fb"]}),
        ),
    )
    .await;
    measured.insert(
        "add-user-blocklist",
        nonce_alone_when(block, again, "if every target is blocked already"),
    );
    let blocked = count(
        log,
        signed("/v4/user/blocklist/get", json!({"userId": "fa"})),
    )
    .await;
    measured.insert("get-user-blocklist", reads(blocked));
    let unblock = count(
        log,
        signed(
            "/v4/user/blocklist/remove",
            json!({"userId": "fa", "blockedUserIds": ["fb"]}),
        ),
    )
    .await;
    let none = count(
        log,
        signed(
            "/v4/user/blocklist/remove",
            json!({"userId": "fa", "blockedUserIds": ["fd"]}),
        ),
    )
    .await;
    measured.insert(
        "remove-user-blocklist",
        nonce_alone_when(unblock, none, "if no target is blocked"),
    );
}
