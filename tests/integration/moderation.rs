//! Bans, user tags, direct-channel mutes and the direct-message permission check.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use integration_tests::{Env, env};
use serde_json::{Value, json};
use shared::access::{self, Rejection, VerifyError};
use shared::apps::{App, AppChanges};
use shared::clock::format_utc;

const BAN: &str = "/v4/user/ban";
const UNBAN: &str = "/v4/user/unban";
const BAN_LIST: &str = "/v4/user/ban/list";
const TAGS_SET: &str = "/v4/user/tag/batch/set";
const TAGS_GET: &str = "/v4/user/tag/batch/get";
const MUTE_SET: &str = "/v4/channel-type/mute/set";
const MUTE_LIST: &str = "/v4/channel-type/mute/list";
const DM_CHECK: &str = "/v4/ext/dm/permission/check";
const MINUTE: i64 = 60_000;

type Item = HashMap<String, AttributeValue>;

fn sk(item: &Item) -> &str {
    item.get("SK")
        .and_then(|v| v.as_s().ok())
        .map_or("", String::as_str)
}

fn pk(item: &Item) -> &str {
    item.get("PK")
        .and_then(|v| v.as_s().ok())
        .map_or("", String::as_str)
}

/// The app's items with this sort key, as `userId`s (from the partition key), sorted.
async fn holders(env: &Env, app: &App, sort_key: &str) -> Vec<String> {
    let mut users: Vec<String> = env
        .app_items(&app.app_key)
        .await
        .iter()
        .filter(|item| sk(item) == sort_key)
        .filter_map(|item| shared::table::parse_user_pk(pk(item)).map(|(_, u)| u.to_owned()))
        .collect();
    users.sort();
    users
}

async fn register(env: &Env, app: &App, users: &[&str]) {
    for user in users {
        env.issue(app, user).await;
    }
}

/// Marks a user soft-deleted the way the soft delete does (the `USER` item's `state`), without
/// the asynchronous purge, so what remains can be observed.
async fn mark_soft_deleted(env: &Env, app: &App, user_id: &str) {
    env.state
        .db
        .update_item()
        .table_name(&env.state.table)
        .set_key(Some(shared::users::key(&app.app_key, user_id)))
        .update_expression("SET #state = :deleted")
        .expression_attribute_names("#state", "state")
        .expression_attribute_values(":deleted", AttributeValue::S("soft-deleted".into()))
        .send()
        .await
        .expect("mark soft-deleted");
}

fn assert_error(response: &integration_tests::Response, outcome: (u16, i64), needle: &str) {
    assert_eq!(response.outcome(), outcome, "{}", response.body);
    let message = response.body["errorMessage"].as_str().unwrap_or_default();
    assert!(message.contains(needle), "{needle:?} not in {message:?}");
}

fn rejection(result: Result<access::VerifiedToken, VerifyError>) -> Option<Rejection> {
    match result {
        Ok(_) => None,
        Err(VerifyError::Rejected(r)) => Some(r),
        Err(other) => panic!("verification failed: {other}"),
    }
}

async fn banned_list(env: &Env, app: &App, body: Value) -> Vec<(String, String)> {
    let response = env.call(app, BAN_LIST, body).await;
    assert_eq!(response.outcome(), (200, 0), "{}", response.body);
    response.body["result"]["bannedUsers"]
        .as_array()
        .expect("bannedUsers")
        .iter()
        .map(|b| {
            (
                b["userId"].as_str().unwrap().to_owned(),
                b["banExpiresAt"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn ids(list: &[(String, String)]) -> Vec<&str> {
    list.iter().map(|(id, _)| id.as_str()).collect()
}

// --- bans -----------------------------------------------------------------------------------

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

// --- tags -----------------------------------------------------------------------------------

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

// --- mutes ----------------------------------------------------------------------------------

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

// --- direct-message permission --------------------------------------------------------------

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
