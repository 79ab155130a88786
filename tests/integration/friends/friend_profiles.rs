//! Friendships: friend profiles, one-sided and only for friends.

use super::*;

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
