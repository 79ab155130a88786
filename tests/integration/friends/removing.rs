//! Friendships: removing, one or all, and the edges staying mutual and counted under concurrent changes.

use super::*;

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
