//! Bans: the token refused until a ban ends, replaced expiries, limits, unknown users, unbanning and the ban list.

use super::*;

#[tokio::test]
async fn a_ban_refuses_the_token_until_it_ends_then_it_is_valid_again() {
    let env = env().await;
    let app = env.dev_app().await;
    let token_of_alice = env.issue(&app, "alice").await;
    let token_of_bob = env.issue(&app, "bob").await;

    let before = env.state.clock.now_ms();
    let response = env
        .call(
            &app,
            BAN,
            json!({"userIds": ["alice"], "durationMinutes": 10}),
        )
        .await;
    assert_eq!(response.outcome(), (200, 0), "{}", response.body);
    let after = env.state.clock.now_ms();

    match rejection(access::verify(&env.state, &token_of_alice).await) {
        Some(Rejection::Banned { until_ms }) => {
            assert!((before + 10 * MINUTE..=after + 10 * MINUTE).contains(&until_ms))
        }
        other => panic!("expected a ban, got {other:?}"),
    }
    assert_eq!(
        rejection(access::verify(&env.state, &token_of_bob).await),
        None
    );
    // A token issued during the ban is refused too.
    let during = env.issue(&app, "alice").await;
    assert!(matches!(
        rejection(access::verify(&env.state, &during).await),
        Some(Rejection::Banned { .. })
    ));

    let listed = banned_list(&env, &app, json!({})).await;
    assert_eq!(ids(&listed), ["alice"]);
    let expiry = &listed[0].1;
    assert!(
        format_utc(before + 10 * MINUTE) <= *expiry && *expiry <= format_utc(after + 10 * MINUTE),
        "{expiry}"
    );

    // One minute before the end: still banned. After it: valid again, and no longer listed.
    env.state.clock.advance_ms(9 * MINUTE);
    assert!(rejection(access::verify(&env.state, &token_of_alice).await).is_some());
    env.state.clock.advance_ms(MINUTE + 1_000);
    assert_eq!(
        rejection(access::verify(&env.state, &token_of_alice).await),
        None
    );
    assert_eq!(rejection(access::verify(&env.state, &during).await), None);
    assert!(banned_list(&env, &app, json!({})).await.is_empty());
    // The expired ban item is still in the table (DynamoDB Local never deletes): it is the
    // read-time check that ignores it.
    assert_eq!(holders(&env, &app, "BAN").await, ["alice"]);
}

#[tokio::test]
async fn banning_again_replaces_the_expiry_both_ways() {
    let env = env().await;
    let app = env.dev_app().await;
    let token = env.issue(&app, "alice").await;
    let ban = |minutes: i64| {
        env.call(
            &app,
            BAN,
            json!({"userIds": ["alice"], "durationMinutes": minutes}),
        )
    };
    assert_eq!(ban(60).await.outcome(), (200, 0));
    assert_eq!(ban(1).await.outcome(), (200, 0));
    env.state.clock.advance_ms(2 * MINUTE);
    assert_eq!(
        rejection(access::verify(&env.state, &token).await),
        None,
        "shorter ban replaced the longer one"
    );
    assert_eq!(ban(1).await.outcome(), (200, 0));
    assert_eq!(ban(43_200).await.outcome(), (200, 0));
    env.state.clock.advance_ms(29 * 24 * 60 * MINUTE);
    assert!(rejection(access::verify(&env.state, &token).await).is_some());
    let listed = banned_list(&env, &app, json!({})).await;
    assert_eq!(ids(&listed), ["alice"], "one entry per user");
    env.state.clock.advance_ms(24 * 60 * MINUTE + 1_000);
    assert_eq!(rejection(access::verify(&env.state, &token).await), None);
}

#[tokio::test]
async fn ban_limits_are_400_and_write_nothing() {
    let env = env().await;
    let app = env.dev_app().await;
    register(&env, &app, &["alice", "bob"]).await;
    let before = env.app_items(&app.app_key).await.len();
    let twenty_one: Vec<String> = (0..21).map(|i| format!("u{i}")).collect();
    let cases = [
        (
            json!({"userIds": twenty_one, "durationMinutes": 10}),
            (400, 1005),
            "userIds",
        ),
        (
            json!({"userIds": ["alice"], "durationMinutes": 0}),
            (400, 1002),
            "durationMinutes",
        ),
        (
            json!({"userIds": ["alice"], "durationMinutes": 43_201}),
            (400, 1002),
            "durationMinutes",
        ),
        (
            json!({"userIds": ["alice"], "durationMinutes": -5}),
            (400, 1002),
            "durationMinutes",
        ),
        (
            json!({"userIds": ["alice"], "durationMinutes": "10"}),
            (400, 1002),
            "durationMinutes",
        ),
        (
            json!({"userIds": ["alice"]}),
            (400, 1002),
            "durationMinutes",
        ),
        (
            json!({"userIds": [], "durationMinutes": 10}),
            (400, 1002),
            "userIds",
        ),
        (
            json!({"userIds": ["al ice"], "durationMinutes": 10}),
            (400, 1002),
            "userIds",
        ),
    ];
    for (body, outcome, field) in cases {
        assert_error(&env.call(&app, BAN, body).await, outcome, field);
    }
    // Shape and limits are checked before any lookup: these users do not even exist.
    assert_error(
        &env.call(
            &app,
            UNBAN,
            json!({"userIds": (0..21).map(|i| format!("u{i}")).collect::<Vec<_>>()}),
        )
        .await,
        (400, 1005),
        "userIds",
    );
    assert_eq!(env.app_items(&app.app_key).await.len(), before);
}

#[tokio::test]
async fn a_ban_of_an_unknown_or_soft_deleted_user_bans_nobody() {
    let env = env().await;
    let app = env.dev_app().await;
    register(&env, &app, &["alice", "bob", "carol"]).await;
    mark_soft_deleted(&env, &app, "carol").await;

    let response = env
        .call(
            &app,
            BAN,
            json!({"userIds": ["alice", "nobody", "bob"], "durationMinutes": 10}),
        )
        .await;
    assert_error(&response, (404, 400), "nobody");
    let response = env
        .call(
            &app,
            BAN,
            json!({"userIds": ["alice", "carol"], "durationMinutes": 10}),
        )
        .await;
    assert_error(&response, (403, 20101), "carol");
    assert!(holders(&env, &app, "BAN").await.is_empty());
    assert!(banned_list(&env, &app, json!({})).await.is_empty());

    // Twenty users at once, duplicates included, in one transaction.
    let many: Vec<String> = (0..19).map(|i| format!("m{i}")).collect();
    for user in &many {
        env.issue(&app, user).await;
    }
    let mut body_ids = many.clone();
    body_ids.push("m0".into());
    let response = env
        .call(
            &app,
            BAN,
            json!({"userIds": body_ids, "durationMinutes": 5}),
        )
        .await;
    assert_eq!(response.outcome(), (200, 0), "{}", response.body);
    assert_eq!(holders(&env, &app, "BAN").await.len(), 19);
}

#[tokio::test]
async fn unban_lifts_bans_and_ignores_unknown_users() {
    let env = env().await;
    let app = env.dev_app().await;
    let alice = env.issue(&app, "alice").await;
    let bob = env.issue(&app, "bob").await;
    env.call(
        &app,
        BAN,
        json!({"userIds": ["alice", "bob"], "durationMinutes": 30}),
    )
    .await;
    let response = env
        .call(
            &app,
            UNBAN,
            json!({"userIds": ["alice", "nobody", "alice"]}),
        )
        .await;
    assert_eq!(response.outcome(), (200, 0), "{}", response.body);
    assert_eq!(rejection(access::verify(&env.state, &alice).await), None);
    assert!(rejection(access::verify(&env.state, &bob).await).is_some());
    assert_eq!(ids(&banned_list(&env, &app, json!({})).await), ["bob"]);
    assert_eq!(holders(&env, &app, "BAN").await, ["bob"]);
    // Unbanning someone not banned is fine.
    assert_eq!(
        env.call(&app, UNBAN, json!({"userIds": ["alice"]}))
            .await
            .outcome(),
        (200, 0)
    );
}

#[tokio::test]
async fn the_ban_list_is_latest_expiry_first_paged_and_without_expired_bans() {
    let env = env().await;
    let app = env.dev_app().await;
    register(&env, &app, &["alice", "bob", "carol", "dave"]).await;
    for (user, minutes) in [("alice", 30), ("bob", 90), ("carol", 60), ("dave", 1)] {
        let response = env
            .call(
                &app,
                BAN,
                json!({"userIds": [user], "durationMinutes": minutes}),
            )
            .await;
        assert_eq!(response.outcome(), (200, 0));
    }
    let all = banned_list(&env, &app, json!({})).await;
    assert_eq!(ids(&all), ["bob", "carol", "alice", "dave"]);
    for (_, expiry) in &all {
        assert!(
            expiry.len() == 19 && expiry.as_bytes()[10] == b' ' && expiry.as_bytes()[4] == b'-',
            "{expiry}"
        );
    }

    // Pages of two; page 0 or no page: the first 1,000 whatever pageSize says.
    let page = |p: Value, size: Value| json!({"page": p, "pageSize": size});
    assert_eq!(
        ids(&banned_list(&env, &app, page(json!(1), json!(2))).await),
        ["bob", "carol"]
    );
    assert_eq!(
        ids(&banned_list(&env, &app, page(json!(2), json!(2))).await),
        ["alice", "dave"]
    );
    assert!(
        banned_list(&env, &app, page(json!(3), json!(2)))
            .await
            .is_empty()
    );
    assert_eq!(
        banned_list(&env, &app, page(json!(0), json!(1)))
            .await
            .len(),
        4
    );
    assert_eq!(
        banned_list(&env, &app, json!({"pageSize": 1})).await.len(),
        4
    );
    assert_eq!(
        ids(&banned_list(&env, &app, json!({"page": 1})).await),
        ["bob", "carol", "alice", "dave"],
        "default page size 50"
    );
    assert_eq!(
        banned_list(&env, &app, page(json!(null), json!(null)))
            .await
            .len(),
        4
    );

    // dave's ban ends: not listed, not enforced, though its item is still there.
    env.state.clock.advance_ms(2 * MINUTE);
    assert_eq!(
        ids(&banned_list(&env, &app, json!({})).await),
        ["bob", "carol", "alice"]
    );
    let token = env.issue(&app, "dave").await;
    assert_eq!(rejection(access::verify(&env.state, &token).await), None);
    assert_eq!(holders(&env, &app, "BAN").await.len(), 4);

    for (body, outcome, field) in [
        (json!({"pageSize": 0}), (400, 1002), "pageSize"),
        (json!({"pageSize": 1001}), (400, 1005), "pageSize"),
        (json!({"page": -1}), (400, 1002), "page"),
        (json!({"page": "2"}), (400, 1002), "page"),
    ] {
        assert_error(&env.call(&app, BAN_LIST, body).await, outcome, field);
    }
    assert_eq!(
        banned_list(&env, &app, json!({"page": 1, "pageSize": 1000}))
            .await
            .len(),
        3
    );
}

#[tokio::test]
async fn other_apps_bans_are_not_listed() {
    let env = env().await;
    let (a, b) = (env.dev_app().await, env.dev_app().await);
    env.issue(&a, "alice").await;
    env.issue(&b, "alice").await;
    env.call(&a, BAN, json!({"userIds": ["alice"], "durationMinutes": 5}))
        .await;
    assert_eq!(ids(&banned_list(&env, &a, json!({})).await), ["alice"]);
    assert!(banned_list(&env, &b, json!({})).await.is_empty());
}
