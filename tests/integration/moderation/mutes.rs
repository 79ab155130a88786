//! Direct-channel mutes: set, listed in order, lifted, their limits and big batches.

use super::*;

async fn muted(env: &Env, app: &App, body: Value) -> (i64, Vec<String>) {
    let response = env.call(app, MUTE_LIST, body).await;
    assert_eq!(response.outcome(), (200, 0), "{}", response.body);
    let result = &response.body["result"];
    (
        result["totalCount"].as_i64().expect("totalCount"),
        result["mutedUserIds"]
            .as_array()
            .expect("mutedUserIds")
            .iter()
            .map(|u| u.as_str().unwrap().to_owned())
            .collect(),
    )
}

#[tokio::test]
async fn mutes_are_set_listed_in_order_and_lifted() {
    let env = env().await;
    let app = env.dev_app().await;
    register(&env, &app, &["alice", "bob", "carol"]).await;
    let mute = |users: Value, state: i64, key: &str, types: Value| {
        let mut body = json!({"userIds": users, "muteState": state});
        body[key] = types;
        env.call(&app, MUTE_SET, body)
    };
    assert_eq!(
        mute(json!(["bob"]), 1, "channelTypes", json!(["PERSON"]))
            .await
            .outcome(),
        (200, 0)
    );
    env.state.clock.advance_ms(5);
    assert_eq!(
        mute(json!(["alice", "nobody"]), 1, "channelType", json!(1))
            .await
            .outcome(),
        (200, 0)
    );
    env.state.clock.advance_ms(5);
    assert_eq!(
        mute(json!(["carol"]), 1, "channelTypes", json!([1]))
            .await
            .outcome(),
        (200, 0)
    );
    let person = json!({"channelType": "PERSON"});
    assert_eq!(
        muted(&env, &app, person.clone()).await,
        (3, vec!["bob".into(), "alice".into(), "carol".into()])
    );
    // Muting again keeps the first mute time, so the order holds.
    env.state.clock.advance_ms(5);
    mute(json!(["bob"]), 1, "channelType", json!(["PERSON"])).await;
    assert_eq!(
        muted(&env, &app, json!({"channelType": 1})).await.1[0],
        "bob"
    );
    // Offset and page size; the total counts everyone.
    assert_eq!(
        muted(
            &env,
            &app,
            json!({"channelType": "PERSON", "offset": 1, "pageSize": 1})
        )
        .await,
        (3, vec!["alice".into()])
    );
    assert_eq!(
        muted(&env, &app, json!({"channelType": "PERSON", "offset": 3})).await,
        (3, vec![])
    );
    // Unmuting removes the item; unmuting the unmuted is fine.
    assert_eq!(
        mute(
            json!(["alice", "alice", "nobody"]),
            0,
            "channelTypes",
            json!(["PERSON"])
        )
        .await
        .outcome(),
        (200, 0)
    );
    assert_eq!(
        muted(&env, &app, person.clone()).await,
        (2, vec!["bob".into(), "carol".into()])
    );
    assert_eq!(holders(&env, &app, "MUTE#PERSON").await, ["bob", "carol"]);
    assert!(
        env.app_items(&app.app_key)
            .await
            .iter()
            .all(|item| !pk(item).contains("nobody"))
    );
}

#[tokio::test]
async fn mute_limits_and_other_channel_types_are_400_and_write_nothing() {
    let env = env().await;
    let app = env.dev_app().await;
    register(&env, &app, &["alice"]).await;
    let before = env.app_items(&app.app_key).await.len();
    let users = |n: usize| (0..n).map(|i| format!("u{i}")).collect::<Vec<_>>();
    let cases = [
        (
            MUTE_SET,
            json!({"userIds": ["alice"], "muteState": 1, "channelTypes": ["GROUP"]}),
            (400, 1002),
            "channelTypes",
        ),
        (
            MUTE_SET,
            json!({"userIds": ["alice"], "muteState": 1, "channelTypes": ["PERSON", "CHATROOM"]}),
            (400, 1002),
            "channelTypes",
        ),
        (
            MUTE_SET,
            json!({"userIds": ["alice"], "muteState": 1, "channelType": 3}),
            (400, 1002),
            "channelType",
        ),
        (
            MUTE_SET,
            json!({"userIds": ["alice"], "muteState": 1, "channelTypes": []}),
            (400, 1002),
            "channelTypes",
        ),
        (
            MUTE_SET,
            json!({"userIds": ["alice"], "muteState": 1}),
            (400, 1002),
            "channelTypes",
        ),
        (
            MUTE_SET,
            json!({"userIds": ["alice"], "muteState": 2, "channelTypes": ["PERSON"]}),
            (400, 1002),
            "muteState",
        ),
        (
            MUTE_SET,
            json!({"userIds": users(1001), "muteState": 1, "channelTypes": ["PERSON"]}),
            (400, 1005),
            "userIds",
        ),
        (MUTE_LIST, json!({}), (400, 1002), "channelType"),
        (
            MUTE_LIST,
            json!({"channelType": "GROUP"}),
            (400, 1002),
            "channelType",
        ),
        (
            MUTE_LIST,
            json!({"channelType": "PERSON", "pageSize": 201}),
            (400, 1005),
            "pageSize",
        ),
        (
            MUTE_LIST,
            json!({"channelType": "PERSON", "pageSize": 0}),
            (400, 1002),
            "pageSize",
        ),
        (
            MUTE_LIST,
            json!({"channelType": "PERSON", "offset": -1}),
            (400, 1002),
            "offset",
        ),
    ];
    for (path, body, outcome, field) in cases {
        assert_error(&env.call(&app, path, body).await, outcome, field);
    }
    assert_eq!(env.app_items(&app.app_key).await.len(), before);
    assert_eq!(
        muted(
            &env,
            &app,
            json!({"channelType": "PERSON", "pageSize": 200})
        )
        .await,
        (0, vec![])
    );
}

#[tokio::test]
async fn big_mute_batches_skip_unknown_users_and_list_across_pages() {
    let env = env().await;
    let app = env.dev_app().await;
    let real: Vec<String> = (0..70).map(|i| format!("r{i:02}")).collect();
    for user in &real {
        env.issue(&app, user).await;
    }
    let mut batch: Vec<String> = (0..40).map(|i| format!("ghost{i}")).collect();
    batch.extend(real.iter().cloned());
    let response = env
        .call(
            &app,
            MUTE_SET,
            json!({"userIds": batch, "muteState": 1, "channelTypes": ["PERSON"]}),
        )
        .await;
    assert_eq!(response.outcome(), (200, 0), "{}", response.body);
    let (total, first) = muted(&env, &app, json!({"channelType": "PERSON"})).await;
    assert_eq!((total, first.len()), (70, 70));
    let (_, tail) = muted(
        &env,
        &app,
        json!({"channelType": "PERSON", "offset": 60, "pageSize": 50}),
    )
    .await;
    assert_eq!(tail.len(), 10);
    let mut all = first.clone();
    all.sort();
    assert_eq!(all, real);
}
