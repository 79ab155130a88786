//! Friendships: adding under each permission, pending requests (extension endpoints), and what adding checks first.

use super::*;

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
