//! The blocklist: add, remove, newest-first pages with both cursor names, the app's limit under
//! concurrency, and the edges and counter read back from the table.

use std::collections::{HashMap, HashSet};

use aws_sdk_dynamodb::types::AttributeValue;
use integration_tests::{Env, Response, env};
use serde_json::{Value, json};
use shared::apps::{App, AppChanges};
use shared::edges;
use shared::table;

async fn app_with(env: &Env, changes: AppChanges, users: &[&str]) -> App {
    let app = env.new_app(changes).await;
    for user in users {
        env.issue(&app, user).await;
    }
    app
}

async fn block(env: &Env, app: &App, user: &str, targets: &[&str]) -> Response {
    env.call(
        app,
        "/v4/user/blocklist/add",
        json!({"userId": user, "targetUserIds": targets}),
    )
    .await
}

async fn unblock(env: &Env, app: &App, user: &str, targets: &[&str]) -> Response {
    env.call(
        app,
        "/v4/user/blocklist/remove",
        json!({"userId": user, "blockedUserIds": targets}),
    )
    .await
}

async fn blocked(env: &Env, app: &App, user: &str) -> Vec<String> {
    let response = env
        .call(app, "/v4/user/blocklist/get", json!({"userId": user}))
        .await;
    assert_eq!(response.outcome(), (200, 0), "{}", response.body);
    assert_eq!(response.body["result"]["pageToken"], "");
    assert_eq!(response.body["result"]["next"], "");
    ids(&response.body["result"]["blockedUserIds"])
}

fn ids(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("{value}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

fn text<'a>(item: &'a HashMap<String, AttributeValue>, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

/// The user's blocklist edges (target → item) and counter, straight from the table.
async fn stored(
    env: &Env,
    app: &App,
    user: &str,
) -> (
    HashMap<String, HashMap<String, AttributeValue>>,
    Option<i64>,
) {
    let pk = table::user_pk(&app.app_key, user);
    let mut edges_found = HashMap::new();
    let mut count = None;
    for item in env.app_items(&app.app_key).await {
        if text(&item, "PK") != Some(pk.as_str()) {
            continue;
        }
        let sk = text(&item, "SK").unwrap_or_default().to_owned();
        if let Some(target) = sk.strip_prefix(table::SK_BLOCK_PREFIX) {
            edges_found.insert(target.to_owned(), item);
        } else if sk == table::SK_BLOCK_COUNT {
            count = shared::db::number(&item, edges::COUNT);
        }
    }
    (edges_found, count)
}

async fn mark_soft_deleted(env: &Env, app: &App, user: &str) {
    env.state
        .db
        .update_item()
        .table_name(&env.state.table)
        .set_key(Some(shared::users::key(&app.app_key, user)))
        .update_expression("SET #state = :deleted")
        .expression_attribute_names("#state", "state")
        .expression_attribute_values(":deleted", AttributeValue::S("soft-deleted".into()))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn blocking_listing_newest_first_and_unblocking() {
    let env = env().await;
    let app = app_with(
        &env,
        AppChanges::default(),
        &["alice", "bob", "carol", "dave"],
    )
    .await;
    assert_eq!(
        block(&env, &app, "alice", &["bob", "carol"])
            .await
            .outcome(),
        (200, 0)
    );
    env.state.clock.advance_ms(5);
    assert_eq!(
        block(&env, &app, "alice", &["dave"]).await.outcome(),
        (200, 0)
    );
    // Same instant: ties are ordered by user ID, newest (largest key) first.
    assert_eq!(blocked(&env, &app, "alice").await, ["dave", "carol", "bob"]);
    assert!(blocked(&env, &app, "bob").await.is_empty(), "one-way");

    let (edges_before, count) = stored(&env, &app, "alice").await;
    assert_eq!(count, Some(3));
    let bob = &edges_before["bob"];
    assert_eq!(
        text(bob, "edgeTo"),
        Some(table::user_pk(&app.app_key, "bob").as_str())
    );
    assert_eq!(text(bob, "countedIn"), Some(table::SK_BLOCK_COUNT));
    let added = shared::db::number(bob, "addedAt").unwrap();
    assert_eq!(
        text(bob, "LSI1SK"),
        Some(table::lsi1_sort_key(table::SK_BLOCK_PREFIX, added, "bob").as_str())
    );

    // Blocking again keeps the original entry.
    env.state.clock.advance_ms(5);
    assert_eq!(
        block(&env, &app, "alice", &["bob", "bob"]).await.outcome(),
        (200, 0)
    );
    let (edges_after, count) = stored(&env, &app, "alice").await;
    assert_eq!(count, Some(3));
    assert_eq!(edges_after["bob"], edges_before["bob"]);
    assert_eq!(blocked(&env, &app, "alice").await, ["dave", "carol", "bob"]);

    // Unblocking skips users not blocked.
    assert_eq!(
        unblock(&env, &app, "alice", &["bob", "nobody", "bob"])
            .await
            .outcome(),
        (200, 0)
    );
    assert_eq!(blocked(&env, &app, "alice").await, ["dave", "carol"]);
    assert_eq!(stored(&env, &app, "alice").await.1, Some(2));
    assert_eq!(
        unblock(&env, &app, "alice", &["bob"]).await.outcome(),
        (200, 0)
    );
    assert_eq!(
        unblock(&env, &app, "alice", &["carol", "dave"])
            .await
            .outcome(),
        (200, 0)
    );
    let (left, count) = stored(&env, &app, "alice").await;
    assert!(left.is_empty());
    assert_eq!(count, Some(0));
}

#[tokio::test]
async fn blocking_checks_shape_and_users_and_changes_nothing_when_refused() {
    let env = env().await;
    let app = app_with(&env, AppChanges::default(), &["alice", "bob", "gone"]).await;
    mark_soft_deleted(&env, &app, "gone").await;
    let many: Vec<String> = (0..21).map(|i| format!("u{i}")).collect();
    let cases = [
        (
            "/v4/user/blocklist/add",
            json!({"userId": "alice", "targetUserIds": ["bob", "alice"]}),
            (400, 1002),
            "targetUserIds",
        ),
        (
            "/v4/user/blocklist/add",
            json!({"userId": "alice", "targetUserIds": many}),
            (400, 1005),
            "targetUserIds",
        ),
        (
            "/v4/user/blocklist/add",
            json!({"userId": "alice", "targetUserIds": []}),
            (400, 1002),
            "targetUserIds",
        ),
        (
            "/v4/user/blocklist/add",
            json!({"userId": "alice", "targetUserIds": ["bob", "nobody"]}),
            (404, 400),
            "nobody",
        ),
        (
            "/v4/user/blocklist/add",
            json!({"userId": "alice", "targetUserIds": ["bob", "gone"]}),
            (403, 20101),
            "gone",
        ),
        (
            "/v4/user/blocklist/add",
            json!({"userId": "nobody", "targetUserIds": ["bob"]}),
            (404, 400),
            "nobody",
        ),
        (
            "/v4/user/blocklist/add",
            json!({"userId": "gone", "targetUserIds": ["bob"]}),
            (403, 20101),
            "gone",
        ),
        (
            "/v4/user/blocklist/remove",
            json!({"userId": "alice", "blockedUserIds": many}),
            (400, 1005),
            "blockedUserIds",
        ),
        (
            "/v4/user/blocklist/remove",
            json!({"userId": "nobody", "blockedUserIds": ["bob"]}),
            (404, 400),
            "nobody",
        ),
        (
            "/v4/user/blocklist/remove",
            json!({"userId": "gone", "blockedUserIds": ["bob"]}),
            (403, 20101),
            "gone",
        ),
        (
            "/v4/user/blocklist/get",
            json!({"userId": "nobody"}),
            (404, 400),
            "nobody",
        ),
        (
            "/v4/user/blocklist/get",
            json!({"userId": "gone"}),
            (404, 400),
            "gone",
        ),
        (
            "/v4/user/blocklist/get",
            json!({"userId": "alice", "pageSize": 1001}),
            (400, 1002),
            "pageSize",
        ),
        (
            "/v4/user/blocklist/get",
            json!({"userId": "alice", "pageSize": 0}),
            (400, 1002),
            "pageSize",
        ),
        (
            "/v4/user/blocklist/get",
            json!({"userId": "alice", "pageToken": "junk"}),
            (400, 1002),
            "pageToken",
        ),
    ];
    for (path, body, outcome, named) in cases {
        let response = env.call(&app, path, body.clone()).await;
        assert_eq!(
            response.outcome(),
            outcome,
            "{path} {body}: {}",
            response.body
        );
        let message = response.body["errorMessage"].as_str().unwrap_or_default();
        assert!(message.contains(named), "{path} {body}: {message}");
    }
    let (edges_found, count) = stored(&env, &app, "alice").await;
    assert!(edges_found.is_empty() && count.is_none(), "nothing written");
}

#[tokio::test]
async fn the_apps_blocklist_limit_holds_under_concurrency() {
    let env = env().await;
    let targets: Vec<String> = (0..10).map(|i| format!("t{i}")).collect();
    let mut users: Vec<&str> = targets.iter().map(String::as_str).collect();
    users.push("alice");
    let app = app_with(
        &env,
        AppChanges {
            blocklist_limit: Some(5),
            ..Default::default()
        },
        &users,
    )
    .await;
    assert_eq!(
        block(&env, &app, "alice", &["t0", "t1", "t2"])
            .await
            .outcome(),
        (200, 0)
    );
    // Two places left, six requests at once.
    let calls = targets[3..9].iter().map(|t| {
        env.call(
            &app,
            "/v4/user/blocklist/add",
            json!({"userId": "alice", "targetUserIds": [t]}),
        )
    });
    let outcomes: Vec<(u16, i64)> = futures::future::join_all(calls)
        .await
        .iter()
        .map(Response::outcome)
        .collect();
    assert_eq!(
        outcomes.iter().filter(|o| **o == (200, 0)).count(),
        2,
        "{outcomes:?}"
    );
    assert_eq!(
        outcomes.iter().filter(|o| **o == (403, 20106)).count(),
        4,
        "{outcomes:?}"
    );
    let (edges_found, count) = stored(&env, &app, "alice").await;
    assert_eq!((edges_found.len(), count), (5, Some(5)));

    // Full: all or nothing, even when some targets are blocked already.
    let over = block(&env, &app, "alice", &["t0", "t9"]).await;
    assert_eq!(over.outcome(), (403, 20106), "{}", over.body);
    assert!(over.body["errorMessage"].as_str().unwrap().contains('5'));
    assert_eq!(
        block(&env, &app, "alice", &["t0", "t1"]).await.outcome(),
        (200, 0),
        "nothing new"
    );
    assert_eq!(
        unblock(&env, &app, "alice", &["t0"]).await.outcome(),
        (200, 0)
    );
    assert_eq!(
        block(&env, &app, "alice", &["t9"]).await.outcome(),
        (200, 0)
    );
    let (edges_found, count) = stored(&env, &app, "alice").await;
    assert_eq!((edges_found.len(), count), (5, Some(5)));
    assert!(edges_found.contains_key("t9") && !edges_found.contains_key("t0"));
}

#[tokio::test]
async fn pages_carry_the_cursor_under_both_names_and_list_each_user_once() {
    let env = env().await;
    let targets: Vec<String> = (0..25).map(|i| format!("b{i:02}")).collect();
    let mut users: Vec<&str> = targets.iter().map(String::as_str).collect();
    users.push("alice");
    let app = app_with(&env, AppChanges::default(), &users).await;
    for chunk in targets.chunks(5) {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        assert_eq!(block(&env, &app, "alice", &refs).await.outcome(), (200, 0));
        env.state.clock.advance_ms(3);
    }
    let all = blocked(&env, &app, "alice").await;
    let mut expected = targets.clone();
    expected.reverse();
    assert_eq!(all, expected, "newest first (ties by ID)");

    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let response = env
            .call(
                &app,
                "/v4/user/blocklist/get",
                json!({"userId": "alice", "pageSize": 10, "pageToken": token, "order": 0}),
            )
            .await;
        assert_eq!(response.outcome(), (200, 0), "{}", response.body);
        let result = &response.body["result"];
        assert_eq!(result["pageToken"], result["next"]);
        seen.extend(ids(&result["blockedUserIds"]));
        token = result["pageToken"].as_str().unwrap().to_owned();
        pages += 1;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, expected);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 25);

    // Another user's or another app's cursor, or a tampered one: refused.
    let first = env
        .call(
            &app,
            "/v4/user/blocklist/get",
            json!({"userId": "alice", "pageSize": 10}),
        )
        .await;
    let token = first.body["result"]["next"].as_str().unwrap().to_owned();
    let other = app_with(&env, AppChanges::default(), &["alice"]).await;
    let mut tampered = token.clone().into_bytes();
    let last = tampered.len() - 1;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    for (a, body) in [
        (&app, json!({"userId": "b00", "pageToken": token})),
        (&other, json!({"userId": "alice", "pageToken": token})),
        (
            &app,
            json!({"userId": "alice", "pageToken": String::from_utf8(tampered).unwrap()}),
        ),
    ] {
        let response = env.call(a, "/v4/user/blocklist/get", body.clone()).await;
        assert_eq!(response.outcome(), (400, 1002), "{body}: {}", response.body);
    }
}

#[tokio::test]
async fn purging_a_user_keeps_other_users_blocks_of_it() {
    let env = env().await;
    let app = app_with(&env, AppChanges::default(), &["alice", "bob", "x"]).await;
    assert_eq!(
        block(&env, &app, "alice", &["x", "bob"]).await.outcome(),
        (200, 0)
    );
    assert_eq!(block(&env, &app, "x", &["alice"]).await.outcome(), (200, 0));
    mark_soft_deleted(&env, &app, "x").await;
    shared::purge::purge_user_data(
        &env.function("purge-soft-deleted-users"),
        &app.app_key,
        "x",
        shared::purge::Others::KeepTheirBlocks,
        shared::purge::Deadline::none(),
    )
    .await
    .unwrap();
    // alice's blocklist is alice's data: her block of x stays (and still counts), so x, if
    // restored, is still blocked by her. x's own block of alice went with x's data.
    let (edges_found, count) = stored(&env, &app, "alice").await;
    let mut blocked: Vec<_> = edges_found.keys().collect();
    blocked.sort();
    assert_eq!(blocked, ["bob", "x"]);
    assert_eq!(count, Some(2));
    let (edges_of_x, _) = stored(&env, &app, "x").await;
    assert!(edges_of_x.is_empty(), "{edges_of_x:?}");
}
