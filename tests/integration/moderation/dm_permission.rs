//! The direct-message permission check: every rule, their precedence, and bad input.

use super::*;

/// The conditions the check knows, in precedence order.
const RULES: [&str; 6] = [
    "sender-banned",
    "sender-soft-deleted",
    "recipient-soft-deleted",
    "blocked-by-recipient",
    "sender-muted",
    "not-friends",
];

async fn dm(env: &Env, app: &App, from: &str, to: &str) -> (bool, String) {
    let response = env
        .call(app, DM_CHECK, json!({"fromUserId": from, "toUserId": to}))
        .await;
    assert_eq!(response.outcome(), (200, 0), "{}", response.body);
    let result = &response.body["result"];
    (
        result["allowed"].as_bool().expect("allowed"),
        result["reason"].as_str().expect("reason").to_owned(),
    )
}

/// A fresh app where alice (sender) and bob (recipient) meet exactly the conditions in `rules`.
async fn scenario(env: &Env, rules: &[&str], friends: bool) -> App {
    let app = env
        .new_app(AppChanges {
            restrict_dm_to_friends: Some(rules.contains(&"not-friends")),
            ..AppChanges::default()
        })
        .await;
    register(env, &app, &["alice", "bob"]).await;
    let ok = |response: integration_tests::Response| {
        assert_eq!(response.status, 200, "{}", response.body);
    };
    if friends {
        ok(env
            .call(
                &app,
                "/v4/friend/add",
                json!({"userId": "alice", "targetId": "bob", "action": 2}),
            )
            .await);
    }
    // Writes that need active users first, then the soft deletes.
    if rules.contains(&"sender-banned") {
        ok(env
            .call(
                &app,
                BAN,
                json!({"userIds": ["alice"], "durationMinutes": 5}),
            )
            .await);
    }
    if rules.contains(&"blocked-by-recipient") {
        ok(env
            .call(
                &app,
                "/v4/user/blocklist/add",
                json!({"userId": "bob", "targetUserIds": ["alice"]}),
            )
            .await);
    }
    if rules.contains(&"sender-muted") {
        ok(env
            .call(
                &app,
                MUTE_SET,
                json!({"userIds": ["alice"], "muteState": 1, "channelTypes": ["PERSON"]}),
            )
            .await);
    }
    if rules.contains(&"sender-soft-deleted") {
        mark_soft_deleted(env, &app, "alice").await;
    }
    if rules.contains(&"recipient-soft-deleted") {
        mark_soft_deleted(env, &app, "bob").await;
    }
    app
}

#[tokio::test]
async fn every_dm_rule_and_every_precedence_pair() {
    let env = env().await;
    // All 64 combinations of the six conditions: the answer is always the first condition met
    // in precedence order, which covers each rule alone and each pair of rules.
    for mask in 0u32..64 {
        let rules: Vec<&str> = RULES
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .map(|(_, r)| *r)
            .collect();
        let app = scenario(&env, &rules, false).await;
        let expected = rules.first().copied().unwrap_or("ok");
        assert_eq!(
            dm(&env, &app, "alice", "bob").await,
            (expected == "ok", expected.to_owned()),
            "conditions {rules:?}"
        );
    }
}

#[tokio::test]
async fn friendship_lets_messages_through_but_the_blocklist_wins() {
    let env = env().await;
    let app = scenario(&env, &["not-friends"], true).await;
    assert_eq!(dm(&env, &app, "alice", "bob").await, (true, "ok".into()));
    assert_eq!(dm(&env, &app, "bob", "alice").await, (true, "ok".into()));
    let app = scenario(&env, &["not-friends", "blocked-by-recipient"], true).await;
    assert_eq!(
        dm(&env, &app, "alice", "bob").await,
        (false, "blocked-by-recipient".into())
    );
    // One-way: bob blocked alice, not the other way round.
    assert_eq!(dm(&env, &app, "bob", "alice").await, (true, "ok".into()));
    // Without the setting, strangers may write to each other.
    let app = scenario(&env, &[], false).await;
    assert_eq!(dm(&env, &app, "alice", "bob").await, (true, "ok".into()));
    let app = scenario(&env, &["sender-muted"], true).await;
    assert_eq!(
        dm(&env, &app, "alice", "bob").await,
        (false, "sender-muted".into()),
        "the mute applies to friends too"
    );
}

#[tokio::test]
async fn expired_bans_and_lifted_mutes_no_longer_stop_messages() {
    let env = env().await;
    let app = scenario(&env, &["sender-banned"], false).await;
    assert_eq!(dm(&env, &app, "alice", "bob").await.1, "sender-banned");
    env.state.clock.advance_ms(5 * MINUTE + 1);
    assert_eq!(dm(&env, &app, "alice", "bob").await, (true, "ok".into()));

    let app = scenario(&env, &["sender-muted", "sender-banned"], false).await;
    env.call(&app, UNBAN, json!({"userIds": ["alice"]})).await;
    assert_eq!(dm(&env, &app, "alice", "bob").await.1, "sender-muted");
    env.call(
        &app,
        MUTE_SET,
        json!({"userIds": ["alice"], "muteState": 0, "channelType": "PERSON"}),
    )
    .await;
    assert_eq!(dm(&env, &app, "alice", "bob").await, (true, "ok".into()));
}

#[tokio::test]
async fn dm_check_of_unknown_users_and_bad_input() {
    let env = env().await;
    let app = env.dev_app().await;
    register(&env, &app, &["alice"]).await;
    let check = |from: &str, to: &str| {
        env.call(&app, DM_CHECK, json!({"fromUserId": from, "toUserId": to}))
    };
    assert_error(&check("alice", "nobody").await, (404, 400), "nobody");
    assert_error(&check("ghost", "alice").await, (404, 400), "ghost");
    assert_error(&check("alice", "alice").await, (400, 1002), "toUserId");
    assert_error(&check("al-ice", "bob").await, (400, 1002), "fromUserId");
    assert_error(
        &env.call(&app, DM_CHECK, json!({"fromUserId": "alice"}))
            .await,
        (400, 1002),
        "toUserId",
    );
}
