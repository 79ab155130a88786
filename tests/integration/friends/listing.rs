//! Friendships: listing with names, aliases and times in both orders, and page tokens that belong to one list.

use super::*;

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
