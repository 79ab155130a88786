//! User tags: replaced, cleared, read back, their limits and big batches.

use super::*;

async fn tags_of(env: &Env, app: &App, users: &[&str]) -> Vec<(String, Vec<String>)> {
    let response = env.call(app, TAGS_GET, json!({"userIds": users})).await;
    assert_eq!(response.outcome(), (200, 0), "{}", response.body);
    response.body["result"]["users"]
        .as_array()
        .expect("users")
        .iter()
        .map(|u| {
            let tags = u["tags"].as_array().expect("tags is always a list");
            (
                u["userId"].as_str().unwrap().to_owned(),
                tags.iter()
                    .map(|t| t.as_str().unwrap().to_owned())
                    .collect(),
            )
        })
        .collect()
}

fn tagged(pairs: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
    pairs
        .iter()
        .map(|(u, t)| (u.to_string(), t.iter().map(|t| t.to_string()).collect()))
        .collect()
}

#[tokio::test]
async fn tags_are_replaced_cleared_and_read_back() {
    let env = env().await;
    let app = env.dev_app().await;
    register(&env, &app, &["alice", "bob", "carol"]).await;
    let set = |users: Value, tags: Value| {
        env.call(&app, TAGS_SET, json!({"userIds": users, "tags": tags}))
    };
    assert_eq!(
        set(json!(["alice", "bob"]), json!(["vip", "region-us", "vip"]))
            .await
            .outcome(),
        (200, 0)
    );
    assert_eq!(
        tags_of(&env, &app, &["bob", "alice", "carol"]).await,
        tagged(&[
            ("bob", &["vip", "region-us"]),
            ("alice", &["vip", "region-us"]),
            ("carol", &[]),
        ])
    );
    // The whole set is replaced, not merged.
    set(json!(["alice"]), json!(["标签", "new"])).await;
    assert_eq!(
        tags_of(&env, &app, &["alice", "bob"]).await,
        tagged(&[("alice", &["标签", "new"]), ("bob", &["vip", "region-us"])])
    );
    // [] clears (and leaves no item behind).
    assert_eq!(set(json!(["bob"]), json!([])).await.outcome(), (200, 0));
    assert_eq!(tags_of(&env, &app, &["bob"]).await, tagged(&[("bob", &[])]));
    assert_eq!(holders(&env, &app, "TAGS").await, ["alice"]);
    // Duplicated users come back once; unknown users come back empty.
    assert_eq!(
        tags_of(&env, &app, &["alice", "alice", "nobody"]).await,
        tagged(&[("alice", &["标签", "new"]), ("nobody", &[])])
    );
}

#[tokio::test]
async fn tag_limits_are_400_and_write_nothing() {
    let env = env().await;
    let app = env.dev_app().await;
    register(&env, &app, &["alice"]).await;
    let before = env.app_items(&app.app_key).await.len();
    let users = |n: usize| (0..n).map(|i| format!("u{i}")).collect::<Vec<_>>();
    let cases = [
        (
            TAGS_SET,
            json!({"userIds": users(1001), "tags": ["a"]}),
            (400, 1005),
            "userIds",
        ),
        (
            TAGS_SET,
            json!({"userIds": ["alice"], "tags": vec!["t"; 21]}),
            (400, 1005),
            "tags",
        ),
        (
            TAGS_SET,
            json!({"userIds": ["alice"], "tags": ["x".repeat(41)]}),
            (400, 1005),
            "tags",
        ),
        (
            TAGS_SET,
            json!({"userIds": ["alice"], "tags": ["ok", ""]}),
            (400, 1002),
            "tags",
        ),
        (
            TAGS_SET,
            json!({"userIds": ["alice"], "tags": "vip"}),
            (400, 1002),
            "tags",
        ),
        (TAGS_SET, json!({"userIds": ["alice"]}), (400, 1002), "tags"),
        (
            TAGS_SET,
            json!({"userIds": [], "tags": []}),
            (400, 1002),
            "userIds",
        ),
        (
            TAGS_GET,
            json!({"userIds": users(51)}),
            (400, 1005),
            "userIds",
        ),
        (
            TAGS_GET,
            json!({"userIds": ["a_b"]}),
            (400, 1002),
            "userIds",
        ),
    ];
    for (path, body, outcome, field) in cases {
        assert_error(&env.call(&app, path, body).await, outcome, field);
    }
    assert_eq!(env.app_items(&app.app_key).await.len(), before);
    // The limits exactly: 20 tags of 40 bytes; 40 bytes of UTF-8 (13 three-byte characters + 1).
    let tags: Vec<String> = (0..20).map(|i| format!("{:>40}", i)).collect();
    let response = env
        .call(&app, TAGS_SET, json!({"userIds": ["alice"], "tags": tags}))
        .await;
    assert_eq!(response.outcome(), (200, 0), "{}", response.body);
    let response = env
        .call(
            &app,
            TAGS_SET,
            json!({"userIds": ["alice"], "tags": [format!("{}a", "标".repeat(13))]}),
        )
        .await;
    assert_eq!(response.outcome(), (200, 0), "{}", response.body);
}

#[tokio::test]
async fn big_tag_batches_skip_unknown_and_soft_deleted_users() {
    let env = env().await;
    let app = env.dev_app().await;
    // 60 real users and 60 unknown ones, interleaved: three transactions of 50 users, each
    // cancelled once by the unknown users and sent again without them.
    let real: Vec<String> = (0..60).map(|i| format!("real{i}")).collect();
    for user in &real {
        env.issue(&app, user).await;
    }
    mark_soft_deleted(&env, &app, "real7").await;
    let mut batch = Vec::new();
    for (i, user) in real.iter().enumerate() {
        batch.push(user.clone());
        batch.push(format!("ghost{i}"));
    }
    let response = env
        .call(&app, TAGS_SET, json!({"userIds": batch, "tags": ["t1"]}))
        .await;
    assert_eq!(response.outcome(), (200, 0), "{}", response.body);
    let mut expected: Vec<String> = real.iter().filter(|u| *u != "real7").cloned().collect();
    expected.sort();
    assert_eq!(holders(&env, &app, "TAGS").await, expected);
    // Nothing was created for the unknown users: only the 60 USER items and the tags.
    assert!(
        env.app_items(&app.app_key)
            .await
            .iter()
            .all(|item| !pk(item).contains("ghost"))
    );
    // The soft-deleted user reads as untagged.
    assert_eq!(
        tags_of(&env, &app, &["real7", "real8"]).await,
        tagged(&[("real7", &[]), ("real8", &["t1"])])
    );
    // Clearing the same batch removes every tag item.
    let response = env
        .call(&app, TAGS_SET, json!({"userIds": batch, "tags": []}))
        .await;
    assert_eq!(response.outcome(), (200, 0), "{}", response.body);
    assert!(holders(&env, &app, "TAGS").await.is_empty());
}
