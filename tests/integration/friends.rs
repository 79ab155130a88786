//! Friendships: adding under each permission, pending requests (extension endpoints), removal,
//! listing with page tokens, relationships, permissions, friend profiles, the 3,000 limit, and
//! the invariants read back from the table: edges are mutual and counted, under concurrency too.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use integration_tests::invariants::Friendships;
use integration_tests::{Env, Response, env, env_with};
use serde_json::{Value, json};
use shared::apps::{App, AppChanges, Environment, Plan};
use shared::edges::{self, Kind};
use shared::table;

type Item = HashMap<String, AttributeValue>;

async fn app_with(env: &Env, changes: AppChanges, users: &[&str]) -> App {
    let app = env.new_app(changes).await;
    for user in users {
        env.issue(&app, user).await;
    }
    app
}

async fn dev_app_with(env: &Env, users: &[&str]) -> App {
    app_with(env, AppChanges::default(), users).await
}

async fn add(env: &Env, app: &App, user: &str, target: &str, action: Option<i64>) -> Response {
    let mut body = json!({"userId": user, "targetId": target});
    if let Some(action) = action {
        body["action"] = json!(action);
    }
    env.call(app, "/v4/friend/add", body).await
}

async fn set_permission(env: &Env, app: &App, users: &[&str], permission: i64) {
    let response = env
        .call(
            app,
            "/v4/friend/permission/set",
            json!({"userIds": users, "permissionType": permission}),
        )
        .await;
    assert_eq!(response.outcome(), (200, 0), "{}", response.body);
}

async fn relation(env: &Env, app: &App, user: &str, target: &str) -> i64 {
    let response = env
        .call(
            app,
            "/v4/friend/relationship/get",
            json!({"userId": user, "targetIds": [target]}),
        )
        .await;
    assert_eq!(response.outcome(), (200, 0), "{}", response.body);
    response.body["result"]["friendships"][0]["result"]
        .as_i64()
        .unwrap()
}

async fn requests_of(env: &Env, app: &App, user: &str) -> Vec<Value> {
    let response = env
        .call(app, "/v4/ext/friend/request/list", json!({"userId": user}))
        .await;
    assert_eq!(response.outcome(), (200, 0), "{}", response.body);
    response.body["result"]["requests"]
        .as_array()
        .cloned()
        .unwrap()
}

async fn list(env: &Env, app: &App, body: Value) -> Response {
    env.call(app, "/v4/friend/list", body).await
}

fn friend_ids(response: &Response) -> Vec<String> {
    response.body["result"]["friends"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", response.body))
        .iter()
        .map(|f| f["userId"].as_str().unwrap().to_owned())
        .collect()
}

/// Marks a user soft-deleted the way the soft delete does (its `USER` item's state).
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

fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

// ---- adding -----------------------------------------------------------------------------------

#[tokio::test]
async fn adding_directly_makes_both_sides_friends_at_once() {
    let env = env().await;
    let app = dev_app_with(&env, &["alice", "bob", "carol"]).await;
    let before = env.state.clock.now_ms();
    let response = add(&env, &app, "alice", "bob", Some(2)).await;
    assert_eq!(response.outcome(), (200, 0), "{}", response.body);
    assert_eq!(response.body, json!({"code": 0}));
    assert_eq!(relation(&env, &app, "alice", "bob").await, 4);
    assert_eq!(relation(&env, &app, "bob", "alice").await, 4);
    assert_eq!(relation(&env, &app, "alice", "carol").await, 1);

    let table = Friendships::read(&env, &app).await;
    table.assert_consistent(&app);
    assert_eq!(table.edges.len(), 2);
    assert_eq!(table.counts["alice"], 1);
    assert_eq!(table.counts["bob"], 1);
    let added =
        shared::db::number(&table.edges[&("alice".into(), "bob".into())], "addedAt").unwrap();
    assert!(added >= before && added <= env.state.clock.now_ms());

    // Again, with either action: already friends, nothing changes.
    for action in [None, Some(1), Some(2)] {
        assert_eq!(
            add(&env, &app, "alice", "bob", action).await.outcome(),
            (200, 0)
        );
        assert_eq!(
            add(&env, &app, "bob", "alice", action).await.outcome(),
            (200, 0)
        );
    }
    let again = Friendships::read(&env, &app).await;
    assert_eq!(again.counts, table.counts);
    assert_eq!(again.edges.len(), 2);
}

#[tokio::test]
async fn the_targets_permission_decides_an_ordinary_request() {
    let env = env().await;
    let app = dev_app_with(&env, &["alice", "open", "careful", "closed"]).await;
    set_permission(&env, &app, &["open"], 1).await;
    set_permission(&env, &app, &["careful"], 2).await;
    set_permission(&env, &app, &["closed"], 3).await;

    // 1: friends at once.
    assert_eq!(
        add(&env, &app, "alice", "open", None).await.outcome(),
        (200, 0)
    );
    assert_eq!(relation(&env, &app, "open", "alice").await, 4);

    // 2: a pending request, answered HTTP 200 with code 25461.
    let pending = env
        .call(
            &app,
            "/v4/friend/add",
            json!({"userId": "alice", "targetId": "careful", "action": 1, "extra": "hello"}),
        )
        .await;
    assert_eq!(pending.status, 200);
    assert_eq!(pending.body, json!({"code": 25461}));
    assert_eq!(relation(&env, &app, "alice", "careful").await, 1);
    let requests = requests_of(&env, &app, "careful").await;
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0]["requesterId"], "alice");
    assert_eq!(requests[0]["extra"], "hello");
    assert!(requests[0]["createdAt"].as_i64().unwrap() > 1_700_000_000_000);
    assert!(
        requests_of(&env, &app, "alice").await.is_empty(),
        "only the target sees it"
    );

    // 3: refused, nothing written.
    let refused = add(&env, &app, "alice", "closed", None).await;
    assert_eq!(refused.outcome(), (403, 20104), "{}", refused.body);
    assert!(requests_of(&env, &app, "closed").await.is_empty());
    assert_eq!(relation(&env, &app, "alice", "closed").await, 1);

    // Action 2 ignores the permission.
    assert_eq!(
        add(&env, &app, "alice", "closed", Some(2)).await.outcome(),
        (200, 0)
    );
    assert_eq!(relation(&env, &app, "closed", "alice").await, 4);
    // Already friends wins over a refusing permission.
    assert_eq!(
        add(&env, &app, "alice", "closed", Some(1)).await.outcome(),
        (200, 0)
    );
    Friendships::read(&env, &app).await.assert_consistent(&app);
}

#[tokio::test]
async fn the_app_default_permission_applies_until_a_user_sets_one() {
    let env = env().await;
    let app = app_with(
        &env,
        AppChanges {
            default_friend_permission: Some(1),
            ..Default::default()
        },
        &["alice", "bob", "carol"],
    )
    .await;
    let response = env
        .call(
            &app,
            "/v4/friend/permission/get",
            json!({"userIds": ["alice", "bob"]}),
        )
        .await;
    assert_eq!(
        response.body["result"],
        json!({"permissions": [
            {"userId": "alice", "permissionType": 1},
            {"userId": "bob", "permissionType": 1},
        ]})
    );
    assert_eq!(
        add(&env, &app, "alice", "bob", None).await.outcome(),
        (200, 0)
    );
    assert_eq!(relation(&env, &app, "alice", "bob").await, 4);

    set_permission(&env, &app, &["carol"], 3).await;
    let response = env
        .call(
            &app,
            "/v4/friend/permission/get",
            json!({"userIds": ["carol", "alice"]}),
        )
        .await;
    assert_eq!(
        response.body["result"]["permissions"][0]["permissionType"],
        3
    );
    assert_eq!(
        response.body["result"]["permissions"][1]["permissionType"],
        1
    );
    assert_eq!(
        add(&env, &app, "alice", "carol", None).await.outcome(),
        (403, 20104)
    );

    // The contract's default (2) in an app that did not change it.
    let plain = dev_app_with(&env, &["dave"]).await;
    let response = env
        .call(
            &plain,
            "/v4/friend/permission/get",
            json!({"userIds": ["dave"]}),
        )
        .await;
    assert_eq!(
        response.body["result"]["permissions"][0]["permissionType"],
        2
    );
}

#[tokio::test]
async fn permissions_need_existing_active_users_and_write_nothing_otherwise() {
    let env = env().await;
    let app = dev_app_with(&env, &["alice", "bob", "gone"]).await;
    mark_soft_deleted(&env, &app, "gone").await;
    let set = |ids: Vec<String>| {
        env.call(
            &app,
            "/v4/friend/permission/set",
            json!({"userIds": ids, "permissionType": 3}),
        )
    };
    assert_eq!(
        set(vec!["alice".into(), "nobody".into()]).await.outcome(),
        (404, 400)
    );
    assert_eq!(
        set(vec!["alice".into(), "gone".into()]).await.outcome(),
        (403, 20101)
    );
    // More than one transaction's worth (60 IDs, one unknown): still nothing written.
    let mut many: Vec<String> = (0..59).map(|_| "alice".to_owned()).collect();
    many.extend(["bob".to_owned()]);
    assert_eq!(
        set(many.clone()).await.outcome(),
        (200, 0),
        "duplicates collapse"
    );
    let mut with_unknown: Vec<String> = (0..58).map(|i| format!("ghost{i}")).collect();
    with_unknown.extend(["alice".to_owned(), "bob".to_owned()]);
    set_permission(&env, &app, &["alice", "bob"], 1).await;
    assert_eq!(set(with_unknown).await.outcome(), (404, 400));
    let get = env
        .call(
            &app,
            "/v4/friend/permission/get",
            json!({"userIds": ["alice", "bob"]}),
        )
        .await;
    assert_eq!(get.body["result"]["permissions"][0]["permissionType"], 1);
    assert_eq!(get.body["result"]["permissions"][1]["permissionType"], 1);
    assert_eq!(
        env.call(
            &app,
            "/v4/friend/permission/get",
            json!({"userIds": ["alice", "nobody"]})
        )
        .await
        .outcome(),
        (404, 400)
    );
    let items = env.app_items(&app.app_key).await;
    assert!(
        !items.iter().any(|i| text(i, "PK")
            .is_some_and(|pk| pk.contains("#U#ghost") || pk.ends_with("#U#nobody"))),
        "nothing written for unknown users"
    );
    // Over the limits: 400 before any lookup.
    let ids: Vec<String> = (0..101).map(|i| format!("u{i}")).collect();
    assert_eq!(set(ids).await.outcome(), (400, 1005));
}

#[tokio::test]
async fn a_request_both_ways_makes_friends() {
    let env = env().await;
    let app = dev_app_with(&env, &["alice", "bob"]).await;
    assert_eq!(
        add(&env, &app, "alice", "bob", None).await.outcome(),
        (200, 25461)
    );
    // Sending again replaces the request (new extra), still one.
    let again = env
        .call(
            &app,
            "/v4/friend/add",
            json!({"userId": "alice", "targetId": "bob", "extra": "second"}),
        )
        .await;
    assert_eq!(again.outcome(), (200, 25461));
    let requests = requests_of(&env, &app, "bob").await;
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0]["extra"], "second");

    // Bob asks Alice: that is his answer.
    assert_eq!(
        add(&env, &app, "bob", "alice", None).await.outcome(),
        (200, 0)
    );
    assert_eq!(relation(&env, &app, "alice", "bob").await, 4);
    let table = Friendships::read(&env, &app).await;
    table.assert_consistent(&app);
    assert!(table.requests.is_empty(), "{:?}", table.requests);
}

#[tokio::test]
async fn simultaneous_requests_both_ways_end_as_friends() {
    let env = env().await;
    let users: Vec<String> = (0..10).map(|i| format!("p{i}")).collect();
    let refs: Vec<&str> = users.iter().map(String::as_str).collect();
    let app = dev_app_with(&env, &refs).await;
    // Pairs (p0,p1), (p2,p3)...: both ask at the same moment, several times over.
    for _ in 0..3 {
        let calls = users.chunks(2).flat_map(|pair| {
            [
                add(&env, &app, &pair[0], &pair[1], None),
                add(&env, &app, &pair[1], &pair[0], None),
            ]
        });
        for response in futures::future::join_all(calls).await {
            let outcome = response.outcome();
            assert!(
                outcome == (200, 0) || outcome == (200, 25461),
                "{}",
                response.body
            );
        }
        let table = Friendships::read(&env, &app).await;
        table.assert_consistent(&app);
        for pair in users.chunks(2) {
            assert!(table.friends(&pair[0], &pair[1]), "{pair:?} not friends");
        }
        // Start over.
        for pair in users.chunks(2) {
            let body = json!({"userId": pair[0], "targetIds": [pair[1]]});
            assert_eq!(
                env.call(&app, "/v4/friend/remove", body).await.outcome(),
                (200, 0)
            );
        }
    }
}

#[tokio::test]
async fn accepting_and_rejecting_pending_requests() {
    let env = env().await;
    let app = dev_app_with(&env, &["alice", "bob", "carol", "dave"]).await;
    for requester in ["alice", "carol", "dave"] {
        assert_eq!(
            add(&env, &app, requester, "bob", None).await.outcome(),
            (200, 25461)
        );
        env.state.clock.advance_ms(5);
    }
    let ids: Vec<String> = requests_of(&env, &app, "bob")
        .await
        .iter()
        .map(|r| r["requesterId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, ["dave", "carol", "alice"], "newest first");

    let accept = |user: &str, requester: &str| {
        env.call(
            &app,
            "/v4/ext/friend/request/accept",
            json!({"userId": user, "requesterId": requester}),
        )
    };
    let reject = |user: &str, requester: &str| {
        env.call(
            &app,
            "/v4/ext/friend/request/reject",
            json!({"userId": user, "requesterId": requester}),
        )
    };
    // Only the target can answer: Alice has no request from Bob.
    assert_eq!(accept("alice", "bob").await.outcome(), (404, 1015));
    assert_eq!(accept("bob", "alice").await.outcome(), (200, 0));
    assert_eq!(relation(&env, &app, "alice", "bob").await, 4);
    assert_eq!(
        accept("bob", "alice").await.outcome(),
        (404, 1015),
        "consumed"
    );
    assert_eq!(reject("bob", "carol").await.outcome(), (200, 0));
    assert_eq!(reject("bob", "carol").await.outcome(), (404, 1015));
    assert_eq!(relation(&env, &app, "carol", "bob").await, 1);
    let left: Vec<Value> = requests_of(&env, &app, "bob").await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["requesterId"], "dave");
    // Self, unknown users, and a soft-deleted target.
    assert_eq!(accept("bob", "bob").await.outcome(), (400, 1002));
    assert_eq!(accept("bob", "nobody").await.outcome(), (404, 1015));
    assert_eq!(reject("nobody", "dave").await.outcome(), (404, 400));
    mark_soft_deleted(&env, &app, "bob").await;
    assert_eq!(accept("bob", "dave").await.outcome(), (403, 20101));
    assert_eq!(reject("bob", "dave").await.outcome(), (403, 20101));
    assert_eq!(
        env.call(
            &app,
            "/v4/ext/friend/request/list",
            json!({"userId": "bob"})
        )
        .await
        .outcome(),
        (404, 400)
    );
    Friendships::read(&env, &app).await.assert_consistent(&app);
}

#[tokio::test]
async fn request_listing_pages_with_its_own_tokens() {
    let env = env().await;
    let users: Vec<String> = (0..5).map(|i| format!("r{i}")).collect();
    let mut all: Vec<&str> = users.iter().map(String::as_str).collect();
    all.push("target");
    let app = dev_app_with(&env, &all).await;
    for user in &users {
        assert_eq!(
            add(&env, &app, user, "target", None).await.outcome(),
            (200, 25461)
        );
        env.state.clock.advance_ms(2);
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let response = env
            .call(
                &app,
                "/v4/ext/friend/request/list",
                json!({"userId": "target", "pageSize": 2, "pageToken": token}),
            )
            .await;
        assert_eq!(response.outcome(), (200, 0), "{}", response.body);
        let page = response.body["result"]["requests"]
            .as_array()
            .unwrap()
            .clone();
        assert!(page.len() <= 2);
        seen.extend(
            page.iter()
                .map(|r| r["requesterId"].as_str().unwrap().to_owned()),
        );
        token = response.body["result"]["pageToken"]
            .as_str()
            .unwrap()
            .to_owned();
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(seen, ["r4", "r3", "r2", "r1", "r0"]);
}

#[tokio::test]
async fn adding_checks_users_and_shape_before_anything() {
    let env = env().await;
    let app = dev_app_with(&env, &["alice", "bob", "gone"]).await;
    mark_soft_deleted(&env, &app, "gone").await;
    let cases = [
        (
            json!({"userId": "alice", "targetId": "alice"}),
            (400, 1002),
            "targetId",
        ),
        (
            json!({"userId": "alice", "targetId": "bob", "extra": "x".repeat(129)}),
            (400, 1005),
            "extra",
        ),
        (
            json!({"userId": "alice", "targetId": "bob", "action": 3}),
            (400, 1002),
            "action",
        ),
        (
            json!({"userId": "alice", "targetId": "bob", "action": "2"}),
            (400, 1002),
            "action",
        ),
        (json!({"userId": "alice"}), (400, 1002), "targetId"),
        (
            json!({"userId": "nobody", "targetId": "bob"}),
            (404, 400),
            "nobody",
        ),
        (
            json!({"userId": "alice", "targetId": "nobody", "action": 2}),
            (404, 400),
            "nobody",
        ),
        (
            json!({"userId": "alice", "targetId": "nobody"}),
            (404, 400),
            "nobody",
        ),
        (
            json!({"userId": "gone", "targetId": "bob", "action": 2}),
            (403, 20101),
            "gone",
        ),
        (
            json!({"userId": "alice", "targetId": "gone"}),
            (403, 20101),
            "gone",
        ),
        (
            json!({"userId": "alice", "targetId": "gone", "action": 2}),
            (403, 20101),
            "gone",
        ),
    ];
    for (body, outcome, named) in cases {
        let response = env.call(&app, "/v4/friend/add", body.clone()).await;
        assert_eq!(response.outcome(), outcome, "{body}: {}", response.body);
        let message = response.body["errorMessage"].as_str().unwrap_or_default();
        assert!(message.contains(named), "{body}: {message}");
    }
    // A 128-character extra is fine.
    let ok = env
        .call(
            &app,
            "/v4/friend/add",
            json!({"userId": "alice", "targetId": "bob", "extra": "é".repeat(128)}),
        )
        .await;
    assert_eq!(ok.outcome(), (200, 25461));
    let table = Friendships::read(&env, &app).await;
    assert!(table.edges.is_empty() && table.counts.is_empty());
    assert_eq!(table.requests.len(), 1);
}

// ---- removing ---------------------------------------------------------------------------------

#[tokio::test]
async fn removing_ends_both_directions_and_skips_strangers() {
    let env = env().await;
    let app = dev_app_with(&env, &["alice", "bob", "carol", "dave"]).await;
    for friend in ["bob", "carol", "dave"] {
        assert_eq!(
            add(&env, &app, "alice", friend, Some(2)).await.outcome(),
            (200, 0)
        );
    }
    assert_eq!(
        add(&env, &app, "bob", "carol", Some(2)).await.outcome(),
        (200, 0)
    );
    let response = env
        .call(
            &app,
            "/v4/friend/remove",
            json!({"userId": "alice", "targetIds": ["bob", "nobody", "bob", "alice"]}),
        )
        .await;
    assert_eq!(response.outcome(), (200, 0), "{}", response.body);
    // The alias path.
    let response = env
        .call(
            &app,
            "/v4/friend/delete",
            json!({"userId": "carol", "targetIds": ["alice"]}),
        )
        .await;
    assert_eq!(response.outcome(), (200, 0), "{}", response.body);
    let table = Friendships::read(&env, &app).await;
    table.assert_consistent(&app);
    assert!(!table.friends("alice", "bob") && !table.friends("bob", "alice"));
    assert!(!table.friends("alice", "carol"));
    assert!(table.friends("alice", "dave") && table.friends("bob", "carol"));
    assert_eq!(table.counts["alice"], 1);
    assert_eq!(table.counts["bob"], 1);

    assert_eq!(
        env.call(
            &app,
            "/v4/friend/remove",
            json!({"userId": "nobody", "targetIds": ["bob"]})
        )
        .await
        .outcome(),
        (404, 400)
    );
    let many: Vec<String> = (0..101).map(|i| format!("u{i}")).collect();
    assert_eq!(
        env.call(
            &app,
            "/v4/friend/remove",
            json!({"userId": "alice", "targetIds": many})
        )
        .await
        .outcome(),
        (400, 1005)
    );
    mark_soft_deleted(&env, &app, "dave").await;
    assert_eq!(
        env.call(
            &app,
            "/v4/friend/remove",
            json!({"userId": "dave", "targetIds": ["alice"]})
        )
        .await
        .outcome(),
        (403, 20101)
    );
    // A soft-deleted friend can still be removed by the other side.
    assert_eq!(
        env.call(
            &app,
            "/v4/friend/remove",
            json!({"userId": "alice", "targetIds": ["dave"]})
        )
        .await
        .outcome(),
        (200, 0)
    );
    let table = Friendships::read(&env, &app).await;
    table.assert_consistent(&app);
    assert!(!table.friends("alice", "dave"));
}

#[tokio::test]
async fn remove_all_ends_every_friendship_of_the_user_only() {
    let env = env().await;
    let users: Vec<String> = (0..30).map(|i| format!("f{i}")).collect();
    let mut all: Vec<&str> = users.iter().map(String::as_str).collect();
    all.push("hub");
    let app = dev_app_with(&env, &all).await;
    for user in &users {
        assert_eq!(
            add(&env, &app, "hub", user, Some(2)).await.outcome(),
            (200, 0)
        );
    }
    assert_eq!(
        add(&env, &app, "f0", "f1", Some(2)).await.outcome(),
        (200, 0)
    );
    let response = env
        .call(&app, "/v4/friend/remove-all", json!({"userId": "hub"}))
        .await;
    assert_eq!(response.outcome(), (200, 0), "{}", response.body);
    let table = Friendships::read(&env, &app).await;
    table.assert_consistent(&app);
    assert_eq!(table.edges.len(), 2, "only f0 ↔ f1 remain");
    assert_eq!(table.counts["hub"], 0);
    assert_eq!(
        env.call(&app, "/v4/friend/remove-all", json!({"userId": "hub"}))
            .await
            .outcome(),
        (200, 0),
        "nothing left to remove"
    );
    assert_eq!(
        env.call(&app, "/v4/friend/remove-all", json!({"userId": "nobody"}))
            .await
            .outcome(),
        (404, 400)
    );
}

/// A tiny deterministic generator, so a failing interleaving can be replayed.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn friendship_stays_mutual_and_counted_under_concurrent_changes() {
    let env = env().await;
    let users: Vec<String> = (0..6).map(|i| format!("c{i}")).collect();
    let refs: Vec<&str> = users.iter().map(String::as_str).collect();
    let app = dev_app_with(&env, &refs).await;
    set_permission(&env, &app, &["c0", "c1"], 1).await;
    let mut rng = Lcg(20_260_525);
    let (mut befriended, mut emptied) = (0, 0);
    for round in 0..8 {
        let mut calls = Vec::new();
        for _ in 0..40 {
            let a = rng.below(users.len());
            let b = (a + 1 + rng.below(users.len() - 1)) % users.len();
            let (a, b) = (users[a].as_str(), users[b].as_str());
            let (path, body) = match rng.below(7) {
                0 | 1 => (
                    "/v4/friend/add",
                    json!({"userId": a, "targetId": b, "action": 2}),
                ),
                2 => ("/v4/friend/add", json!({"userId": a, "targetId": b})),
                3 => (
                    "/v4/friend/remove",
                    json!({"userId": a, "targetIds": [b, users[rng.below(6)]]}),
                ),
                4 => ("/v4/friend/remove-all", json!({"userId": a})),
                5 => (
                    "/v4/ext/friend/request/accept",
                    json!({"userId": a, "requesterId": b}),
                ),
                _ => (
                    "/v4/ext/friend/request/reject",
                    json!({"userId": a, "requesterId": b}),
                ),
            };
            let (env, app) = (&env, &app);
            calls.push(async move { (path, env.call(app, path, body).await) });
        }
        for (path, response) in futures::future::join_all(calls).await {
            let outcome = response.outcome();
            let expected = outcome == (200, 0)
                || (path == "/v4/friend/add" && outcome == (200, 25461))
                || (path.starts_with("/v4/ext/") && outcome == (404, 1015));
            assert!(expected, "round {round} {path}: {}", response.body);
        }
        let table = Friendships::read(&env, &app).await;
        table.assert_consistent(&app);
        befriended = befriended.max(table.edges.len());
        if table.edges.is_empty() {
            emptied += 1;
        }
    }
    assert!(
        befriended >= 4,
        "the run made friends ({befriended} edges at most)"
    );
    assert!(emptied < 8, "not every round ended empty");
}

// ---- listing ----------------------------------------------------------------------------------

#[tokio::test]
async fn listing_shows_names_aliases_and_time_in_both_orders() {
    let env = env().await;
    let app = dev_app_with(&env, &["alice", "bob", "carol", "dave"]).await;
    let mut times = Vec::new();
    for friend in ["bob", "carol", "dave"] {
        assert_eq!(
            add(&env, &app, "alice", friend, Some(2)).await.outcome(),
            (200, 0)
        );
        times.push(env.state.clock.now_ms());
        env.state.clock.advance_ms(10);
    }
    // Carol's hosted profile name wins over her user name.
    let profile = Item::from([
        (
            "PK".to_owned(),
            AttributeValue::S(table::user_pk(&app.app_key, "carol")),
        ),
        ("SK".to_owned(), AttributeValue::S(table::SK_PROFILE.into())),
        (
            "userProfile".to_owned(),
            AttributeValue::M(HashMap::from([(
                "name".to_owned(),
                AttributeValue::S("Caroline (hosted)".into()),
            )])),
        ),
    ]);
    env.state
        .db
        .put_item()
        .table_name(&env.state.table)
        .set_item(Some(profile))
        .send()
        .await
        .unwrap();
    let set = env
        .call(
            &app,
            "/v4/friend/profile/set",
            json!({"userId": "alice", "targetId": "bob", "alias": "Bobby", "friendExtProfile": {"ext_met": "2024"}}),
        )
        .await;
    assert_eq!(set.outcome(), (200, 0), "{}", set.body);

    let oldest = list(&env, &app, json!({"userId": "alice"})).await;
    assert_eq!(oldest.outcome(), (200, 0), "{}", oldest.body);
    let result = &oldest.body["result"];
    assert_eq!(result["totalCount"], 3);
    assert_eq!(result["pageToken"], "");
    assert_eq!(friend_ids(&oldest), ["bob", "carol", "dave"]);
    let friends = result["friends"].as_array().unwrap();
    assert_eq!(friends[0]["name"], "name of bob");
    assert_eq!(friends[0]["alias"], "Bobby");
    assert_eq!(friends[0]["friendExtProfile"], json!({"ext_met": "2024"}));
    assert_eq!(friends[1]["name"], "Caroline (hosted)");
    assert_eq!(friends[1]["alias"], "");
    assert_eq!(friends[1]["friendExtProfile"], json!({}));
    for (friend, time) in friends.iter().zip(&times) {
        let added = friend["addedAt"].as_i64().unwrap();
        assert!(added <= *time && added > time - 5_000, "{added} vs {time}");
    }
    // Bob's view: Alice's user name, no alias (the alias is one-sided).
    let bob = list(&env, &app, json!({"userId": "bob"})).await;
    assert_eq!(bob.body["result"]["friends"][0]["alias"], "");
    assert_eq!(bob.body["result"]["friends"][0]["name"], "name of alice");

    let newest = list(
        &env,
        &app,
        json!({"userId": "alice", "order": 1, "pageSize": 2}),
    )
    .await;
    assert_eq!(friend_ids(&newest), ["dave", "carol"]);
    let token = newest.body["result"]["pageToken"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!token.is_empty());
    let rest = list(
        &env,
        &app,
        json!({"userId": "alice", "order": 1, "pageSize": 2, "pageToken": token}),
    )
    .await;
    assert_eq!(friend_ids(&rest), ["bob"]);
    assert_eq!(rest.body["result"]["pageToken"], "");
    assert_eq!(rest.body["result"]["totalCount"], 3);

    // A user with no friends; an unknown user; a soft-deleted one.
    let carol_friends = list(&env, &app, json!({"userId": "carol"})).await;
    assert_eq!(friend_ids(&carol_friends), ["alice"]);
    env.issue(&app, "eve").await;
    let none = list(&env, &app, json!({"userId": "eve"})).await;
    assert_eq!(
        none.body["result"],
        json!({"pageToken": "", "totalCount": 0, "friends": []})
    );
    assert_eq!(
        list(&env, &app, json!({"userId": "nobody"}))
            .await
            .outcome(),
        (404, 400)
    );
    mark_soft_deleted(&env, &app, "eve").await;
    assert_eq!(
        list(&env, &app, json!({"userId": "eve"})).await.outcome(),
        (404, 400)
    );
    for bad in [
        json!({"userId": "alice", "pageSize": 0}),
        json!({"userId": "alice", "pageSize": 101}),
        json!({"userId": "alice", "order": 2}),
        json!({"userId": "alice", "pageToken": 5}),
    ] {
        assert_eq!(
            list(&env, &app, bad.clone()).await.outcome(),
            (400, 1002),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn foreign_or_tampered_page_tokens_are_refused_and_read_nothing() {
    let env = env().await;
    let users = ["alice", "bob", "carol", "dave"];
    let app = dev_app_with(&env, &users).await;
    let other = dev_app_with(&env, &users).await;
    for a in [&app, &other] {
        for friend in ["bob", "carol", "dave"] {
            assert_eq!(
                add(&env, a, "alice", friend, Some(2)).await.outcome(),
                (200, 0)
            );
        }
    }
    let page = list(&env, &app, json!({"userId": "alice", "pageSize": 1})).await;
    let token = page.body["result"]["pageToken"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!token.is_empty());
    let other_page = list(&env, &other, json!({"userId": "alice", "pageSize": 1})).await;
    let other_token = other_page.body["result"]["pageToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut tampered = token.clone().into_bytes();
    tampered[3] = if tampered[3] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let block_token = {
        env.call(
            &app,
            "/v4/user/blocklist/add",
            json!({"userId": "alice", "targetUserIds": ["bob", "carol"]}),
        )
        .await;
        let blocks = env
            .call(
                &app,
                "/v4/user/blocklist/get",
                json!({"userId": "alice", "pageSize": 1}),
            )
            .await;
        blocks.body["result"]["pageToken"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let cases = [
        (
            &app,
            json!({"userId": "alice", "pageSize": 1, "pageToken": other_token}),
        ),
        (
            &other,
            json!({"userId": "alice", "pageSize": 1, "pageToken": token}),
        ),
        (
            &app,
            json!({"userId": "alice", "pageSize": 1, "pageToken": tampered}),
        ),
        (
            &app,
            json!({"userId": "bob", "pageSize": 1, "pageToken": token}),
        ),
        (
            &app,
            json!({"userId": "alice", "order": 1, "pageSize": 1, "pageToken": token}),
        ),
        (
            &app,
            json!({"userId": "alice", "pageSize": 1, "pageToken": block_token}),
        ),
        (&app, json!({"userId": "alice", "pageToken": "not-a-token"})),
        (&app, json!({"userId": "alice", "pageToken": "e30.AAAA"})),
    ];
    for (a, body) in cases {
        let response = list(&env, a, body.clone()).await;
        assert_eq!(response.outcome(), (400, 1002), "{body}: {}", response.body);
        assert!(
            response.body["errorMessage"]
                .as_str()
                .unwrap()
                .contains("pageToken")
        );
        assert!(response.body.get("result").is_none());
    }
    // The genuine token still works.
    let next = list(
        &env,
        &app,
        json!({"userId": "alice", "pageSize": 1, "pageToken": token}),
    )
    .await;
    assert_eq!(friend_ids(&next), ["carol"]);
}

// ---- friend profiles --------------------------------------------------------------------------

#[tokio::test]
async fn friend_profiles_are_one_sided_and_only_for_friends() {
    let env = env().await;
    let app = dev_app_with(&env, &["alice", "bob", "carol", "gone"]).await;
    assert_eq!(
        add(&env, &app, "alice", "bob", Some(2)).await.outcome(),
        (200, 0)
    );
    assert_eq!(
        add(&env, &app, "alice", "gone", Some(2)).await.outcome(),
        (200, 0)
    );
    let set = |body: Value| env.call(&app, "/v4/friend/profile/set", body);
    let alice_view = || async {
        let page = list(&env, &app, json!({"userId": "alice"})).await;
        page.body["result"]["friends"][0].clone()
    };
    let ext: serde_json::Map<String, Value> = (0..10)
        .map(|i| (format!("ext_k{i}"), json!("v".repeat(256))))
        .collect();
    assert_eq!(
        set(json!({"userId": "alice", "targetId": "bob", "alias": "名".repeat(64), "friendExtProfile": ext}))
            .await
            .outcome(),
        (200, 0)
    );
    let friend = alice_view().await;
    assert_eq!(friend["alias"], "名".repeat(64));
    assert_eq!(friend["friendExtProfile"], Value::Object(ext.clone()));
    // Absent alias clears it; absent ext profile keeps it.
    assert_eq!(
        set(json!({"userId": "alice", "targetId": "bob"}))
            .await
            .outcome(),
        (200, 0)
    );
    let friend = alice_view().await;
    assert_eq!(friend["alias"], "");
    assert_eq!(friend["friendExtProfile"], Value::Object(ext));
    // A new ext profile replaces the old one; {} clears it.
    assert_eq!(
        set(json!({"userId": "alice", "targetId": "bob", "alias": "B", "friendExtProfile": {"ext_x": "1"}}))
            .await
            .outcome(),
        (200, 0)
    );
    assert_eq!(
        alice_view().await["friendExtProfile"],
        json!({"ext_x": "1"})
    );
    assert_eq!(
        set(json!({"userId": "alice", "targetId": "bob", "alias": "B", "friendExtProfile": {}}))
            .await
            .outcome(),
        (200, 0)
    );
    assert_eq!(alice_view().await["friendExtProfile"], json!({}));
    assert_eq!(alice_view().await["alias"], "B");
    // Bob's side is untouched.
    let bob = list(&env, &app, json!({"userId": "bob"})).await;
    assert_eq!(bob.body["result"]["friends"][0]["alias"], "");

    let too_many: serde_json::Map<String, Value> =
        (0..11).map(|i| (format!("ext_k{i}"), json!("v"))).collect();
    let cases = [
        (
            json!({"userId": "alice", "targetId": "carol", "alias": "C"}),
            (404, 20105),
        ),
        (json!({"userId": "alice", "targetId": "nobody"}), (404, 400)),
        (json!({"userId": "nobody", "targetId": "bob"}), (404, 400)),
        (json!({"userId": "alice", "targetId": "alice"}), (400, 1002)),
        (
            json!({"userId": "alice", "targetId": "bob", "alias": "a".repeat(65)}),
            (400, 1005),
        ),
        (
            json!({"userId": "alice", "targetId": "bob", "friendExtProfile": too_many}),
            (400, 1005),
        ),
        (
            json!({"userId": "alice", "targetId": "bob", "friendExtProfile": {"color": "red"}}),
            (400, 1002),
        ),
        (
            json!({"userId": "alice", "targetId": "bob", "friendExtProfile": {"ext_a": 5}}),
            (400, 1002),
        ),
        (
            json!({"userId": "alice", "targetId": "bob", "friendExtProfile": {"ext_a": "v".repeat(257)}}),
            (400, 1005),
        ),
    ];
    for (body, outcome) in cases {
        let response = set(body.clone()).await;
        assert_eq!(response.outcome(), outcome, "{body}: {}", response.body);
    }
    mark_soft_deleted(&env, &app, "gone").await;
    assert_eq!(
        set(json!({"userId": "alice", "targetId": "gone", "alias": "G"}))
            .await
            .outcome(),
        (403, 20101)
    );
    assert_eq!(alice_view().await["alias"], "B", "refusals changed nothing");
}

// ---- relationships ----------------------------------------------------------------------------

#[tokio::test]
async fn relationships_answer_in_the_order_asked() {
    let env = env().await;
    let app = dev_app_with(&env, &["alice", "bob", "carol"]).await;
    assert_eq!(
        add(&env, &app, "alice", "carol", Some(2)).await.outcome(),
        (200, 0)
    );
    assert_eq!(
        add(&env, &app, "alice", "bob", None).await.outcome(),
        (200, 25461)
    );
    let response = env
        .call(
            &app,
            "/v4/friend/relationship/get",
            json!({"userId": "alice", "targetIds": ["carol", "bob", "nobody", "carol", "alice"]}),
        )
        .await;
    assert_eq!(
        response.body,
        json!({"code": 0, "result": {"friendships": [
            {"userId": "carol", "result": 4},
            {"userId": "bob", "result": 1},
            {"userId": "nobody", "result": 1},
            {"userId": "alice", "result": 1},
        ]}})
    );
    assert_eq!(
        env.call(
            &app,
            "/v4/friend/relationship/get",
            json!({"userId": "nobody", "targetIds": ["alice"]})
        )
        .await
        .outcome(),
        (404, 400)
    );
    let many: Vec<String> = (0..21).map(|i| format!("u{i}")).collect();
    assert_eq!(
        env.call(
            &app,
            "/v4/friend/relationship/get",
            json!({"userId": "alice", "targetIds": many})
        )
        .await
        .outcome(),
        (400, 1005)
    );
}

// ---- the purge keeps counters exact -----------------------------------------------------------

#[tokio::test]
async fn purging_a_user_removes_its_friend_edges_and_requests_and_decrements_counters() {
    let env = env().await;
    let app = dev_app_with(&env, &["alice", "bob", "carol", "x"]).await;
    for friend in ["alice", "bob"] {
        assert_eq!(
            add(&env, &app, "x", friend, Some(2)).await.outcome(),
            (200, 0)
        );
    }
    assert_eq!(
        add(&env, &app, "alice", "bob", Some(2)).await.outcome(),
        (200, 0)
    );
    assert_eq!(
        add(&env, &app, "x", "carol", None).await.outcome(),
        (200, 25461)
    );
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
    let table = Friendships::read(&env, &app).await;
    table.assert_consistent(&app);
    assert_eq!(table.edges.len(), 2, "{:?}", table.edges.keys());
    assert_eq!(table.counts["alice"], 1);
    assert_eq!(table.counts["bob"], 1);
    assert!(table.requests.is_empty());
}

// ---- the limit and a 3,000-friend listing -----------------------------------------------------

/// Writes users and friendships straight into the table, as the operations would have (the
/// same item builders), for sizes the API would take minutes to build.
async fn seed_friends(env: &Env, app: &App, hub: &str, friends: &[String], first_ms: i64) {
    let key = &app.app_key;
    let mut items: Vec<Item> = Vec::new();
    for (i, friend) in friends.iter().enumerate() {
        let mut user = shared::users::key(key, friend);
        user.insert("userId".into(), AttributeValue::S(friend.clone()));
        user.insert(
            "name".into(),
            AttributeValue::S(format!("name of {friend}")),
        );
        user.insert("createdAt".into(), AttributeValue::N(first_ms.to_string()));
        user.insert("state".into(), AttributeValue::S("active".into()));
        items.push(user);
        let added = first_ms + i as i64;
        items.push(edges::edge_item(key, Kind::Friend, hub, friend, added).unwrap());
        items.push(edges::edge_item(key, Kind::Friend, friend, hub, added).unwrap());
        let mut count = edges::key(key, friend, table::SK_FRIEND_COUNT);
        count.insert(edges::COUNT.into(), AttributeValue::N("1".into()));
        items.push(count);
    }
    let mut count = edges::key(key, hub, table::SK_FRIEND_COUNT);
    count.insert(
        edges::COUNT.into(),
        AttributeValue::N(friends.len().to_string()),
    );
    items.push(count);
    let batches = items.chunks(25).map(|chunk| async move {
        let mut requests: Vec<WriteRequest> = chunk
            .iter()
            .map(|item| {
                let put = PutRequest::builder()
                    .set_item(Some(item.clone()))
                    .build()
                    .unwrap();
                WriteRequest::builder().put_request(put).build()
            })
            .collect();
        while !requests.is_empty() {
            let out = env
                .state
                .db
                .batch_write_item()
                .request_items(&env.state.table, requests)
                .send()
                .await
                .unwrap();
            requests = out
                .unprocessed_items
                .and_then(|mut u| u.remove(&env.state.table))
                .unwrap_or_default();
        }
    });
    futures::stream::iter(batches)
        .buffer_unordered(8)
        .collect::<Vec<()>>()
        .await;
}

use futures::StreamExt;

/// Items each DynamoDB response carried (Query: items returned; BatchGetItem: items found).
#[derive(Debug, Default, Clone)]
struct ItemsRead(Arc<Mutex<Vec<(String, usize)>>>);

impl ItemsRead {
    fn take(&self) -> Vec<(String, usize)> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

impl aws_sdk_dynamodb::config::Intercept for ItemsRead {
    fn name(&self) -> &'static str {
        "ItemsRead"
    }

    fn read_after_deserialization(
        &self,
        context: &aws_sdk_dynamodb::config::interceptors::AfterDeserializationInterceptorContextRef<
            '_,
        >,
        _components: &aws_sdk_dynamodb::config::RuntimeComponents,
        _cfg: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        use aws_sdk_dynamodb::operation::{batch_get_item::BatchGetItemOutput, query::QueryOutput};
        let Ok(output) = context.output_or_error() else {
            return Ok(());
        };
        let entry = if let Some(query) = output.downcast_ref::<QueryOutput>() {
            Some(("Query", query.items().len()))
        } else {
            output.downcast_ref::<BatchGetItemOutput>().map(|batch| {
                let found = batch
                    .responses()
                    .map_or(0, |r| r.values().map(Vec::len).sum());
                ("BatchGetItem", found)
            })
        };
        if let Some((name, items)) = entry {
            self.0.lock().unwrap().push((name.to_owned(), items));
        }
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_thousand_friends_hold_under_concurrency_and_list_exactly_once() {
    let reads = ItemsRead::default();
    let interceptor = reads.clone();
    let env = env_with(|config| config.interceptor(interceptor)).await;
    // Production on a paid plan: no cap on registered users.
    let app = app_with(
        &env,
        AppChanges {
            environment: Some(Environment::Production),
            plan: Some(Plan::Starter),
            ..Default::default()
        },
        &["hub", "late0", "late1", "late2", "late3", "late4", "asker"],
    )
    .await;
    let seeded: Vec<String> = (0..2998).map(|i| format!("s{i:04}")).collect();
    let first_ms = env.state.clock.now_ms() - 10_000_000;
    seed_friends(&env, &app, "hub", &seeded, first_ms).await;

    // Five at once for the last two places.
    let late = ["late0", "late1", "late2", "late3", "late4"];
    let calls = late.iter().map(|u| add(&env, &app, u, "hub", Some(2)));
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
        3,
        "{outcomes:?}"
    );
    // Full: a request cannot be accepted either, and the refused users were not touched.
    assert_eq!(
        add(&env, &app, "asker", "hub", None).await.outcome(),
        (200, 25461)
    );
    let accepted = env
        .call(
            &app,
            "/v4/ext/friend/request/accept",
            json!({"userId": "hub", "requesterId": "asker"}),
        )
        .await;
    assert_eq!(accepted.outcome(), (403, 20106), "{}", accepted.body);
    let table = Friendships::read(&env, &app).await;
    table.assert_consistent(&app);
    assert_eq!(table.counts["hub"], 3000);
    assert_eq!(
        late.iter()
            .filter(|u| table.counts.get(**u) == Some(&1))
            .count(),
        2
    );
    // Removing one frees one place.
    let removed = env
        .call(
            &app,
            "/v4/friend/remove",
            json!({"userId": "hub", "targetIds": ["s0000"]}),
        )
        .await;
    assert_eq!(removed.outcome(), (200, 0));
    assert_eq!(accepted_again(&env, &app).await, (200, 0));

    // Every friend exactly once, page by page, in both orders; each page costs the same.
    for order in [0, 1] {
        let mut seen = Vec::new();
        let mut token = String::new();
        let mut pages = 0;
        loop {
            reads.take();
            let page = list(
                &env,
                &app,
                json!({"userId": "hub", "pageSize": 100, "order": order, "pageToken": token}),
            )
            .await;
            assert_eq!(page.outcome(), (200, 0), "{}", page.body);
            assert_eq!(page.body["result"]["totalCount"], 3000);
            let read = reads.take();
            let items: usize = read.iter().map(|(_, n)| n).sum();
            // USER + FRIEND_COUNT, 101 edges, and USER + PROFILE of 100 friends at most.
            assert!(items <= 2 + 101 + 200, "page {pages}: {read:?}");
            assert_eq!(read.len(), 4, "page {pages}: {read:?}");
            seen.extend(
                page.body["result"]["friends"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| {
                        (
                            f["addedAt"].as_i64().unwrap(),
                            f["userId"].as_str().unwrap().to_owned(),
                        )
                    }),
            );
            pages += 1;
            token = page.body["result"]["pageToken"]
                .as_str()
                .unwrap()
                .to_owned();
            if token.is_empty() {
                break;
            }
        }
        assert_eq!(pages, 30);
        assert_eq!(seen.len(), 3000);
        let unique: HashSet<&String> = seen.iter().map(|(_, id)| id).collect();
        assert_eq!(unique.len(), 3000, "each friend once");
        let mut sorted = seen.clone();
        sorted.sort();
        if order == 1 {
            sorted.reverse();
        }
        assert_eq!(seen, sorted, "order {order} by time added");
        assert!(!unique.contains(&"s0000".to_owned()));
        assert!(unique.contains(&"asker".to_owned()));
    }
}

async fn accepted_again(env: &Env, app: &App) -> (u16, i64) {
    env.call(
        app,
        "/v4/ext/friend/request/accept",
        json!({"userId": "hub", "requesterId": "asker"}),
    )
    .await
    .outcome()
}
