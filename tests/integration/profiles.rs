//! Hosted user profiles: set (merge, version, every key rule), batch get, list (registration
//! order, pages at any offset, walks while profiles are added), delete; concurrency.

use std::collections::HashSet;

use aws_sdk_dynamodb::types::AttributeValue;
use integration_tests::{Env, Response, env};
use serde_json::{Value, json};
use shared::apps::{App, AppChanges, Environment, Plan};

const SET: &str = "/v4/user/profile/set";
const GET: &str = "/v4/user/profile/batch/get";
const LIST: &str = "/v4/user/profile/list";
const DELETE: &str = "/v4/user/profile/delete";

async fn set(env: &Env, app: &App, body: Value) -> Response {
    env.call(app, SET, body).await
}

async fn set_ok(env: &Env, app: &App, body: Value) {
    let response = set(env, app, body.clone()).await;
    assert_eq!(response.outcome(), (200, 0), "{body}: {}", response.body);
}

/// The `users` of a batch get.
async fn get(env: &Env, app: &App, user_ids: &[&str]) -> Vec<Value> {
    let response = env.call(app, GET, json!({ "userIds": user_ids })).await;
    assert_eq!(response.outcome(), (200, 0), "{}", response.body);
    response.body["result"]["users"]
        .as_array()
        .expect("users")
        .clone()
}

async fn get_one(env: &Env, app: &App, user_id: &str) -> Option<Value> {
    get(env, app, &[user_id]).await.into_iter().next()
}

/// The user IDs of one list page.
async fn page(env: &Env, app: &App, page: u32, page_size: u32, order: u8) -> Vec<String> {
    let body = json!({ "page": page, "pageSize": page_size, "order": order });
    let response = env.call(app, LIST, body).await;
    assert_eq!(response.outcome(), (200, 0), "{}", response.body);
    ids(&response.body["result"]["users"])
}

fn ids(users: &Value) -> Vec<String> {
    users
        .as_array()
        .expect("users")
        .iter()
        .map(|u| u["userId"].as_str().expect("userId").to_owned())
        .collect()
}

/// Registers users in this order, each at least 2 ms after the previous, so the registration
/// order is the order given.
async fn register(env: &Env, app: &App, user_ids: &[String]) {
    for user_id in user_ids {
        env.state.clock.advance_ms(2);
        env.issue(app, user_id).await;
    }
}

fn names(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i:03}")).collect()
}

async fn production_app(env: &Env) -> App {
    env.new_app(AppChanges {
        environment: Some(Environment::Production),
        plan: Some(Plan::Pro),
        ..Default::default()
    })
    .await
}

/// The app's items other than nonces and remembered page boundaries (a refused request must
/// leave them as they were).
async fn data(env: &Env, app: &App) -> Vec<String> {
    let mut items: Vec<String> = env
        .app_items(&app.app_key)
        .await
        .iter()
        .filter(|item| {
            item.get("PK")
                .and_then(|v| v.as_s().ok())
                .is_none_or(|pk| !pk.ends_with("#PROFILE_PAGES"))
        })
        .map(|item| {
            let mut fields: Vec<String> = item
                .iter()
                .map(|(k, v)| format!("{k}={}", render(v)))
                .collect();
            fields.sort();
            fields.join(",")
        })
        .collect();
    items.sort();
    items
}

/// An attribute value as text, map keys sorted (so equal items render equally).
fn render(value: &AttributeValue) -> String {
    match value {
        AttributeValue::M(map) => {
            let mut entries: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{k}:{}", render(v)))
                .collect();
            entries.sort();
            format!("{{{}}}", entries.join(","))
        }
        AttributeValue::L(list) => {
            let entries: Vec<String> = list.iter().map(render).collect();
            format!("[{}]", entries.join(","))
        }
        other => format!("{other:?}"),
    }
}

#[tokio::test]
async fn set_merges_bumps_the_version_and_batch_get_reads_it_back() {
    let env = env().await;
    let app = env.dev_app().await;
    register(&env, &app, &["alice".into(), "bob".into(), "carol".into()]).await;

    set_ok(
        &env,
        &app,
        json!({"userId": "alice", "userProfile": {"name": "Alice", "gender": 1, "email": "a@example.com"},
               "userExtProfile": {"ext_color": "blue"}}),
    )
    .await;
    let first = get_one(&env, &app, "alice")
        .await
        .expect("alice has a profile");
    assert_eq!(
        (&first["userProfile"], &first["userExtProfile"]),
        (
            &json!({"name": "Alice", "gender": 1, "email": "a@example.com"}),
            &json!({"ext_color": "blue"})
        )
    );
    let v1 = first["version"].as_i64().expect("version");

    // Keys not sent keep their values; sent keys replace; null and "" remove.
    set_ok(
        &env,
        &app,
        json!({"userId": "alice", "userProfile": {"level": 5, "name": "Alicia", "email": ""},
               "userExtProfile": {"ext_size": "M"}}),
    )
    .await;
    let second = get_one(&env, &app, "alice").await.expect("alice");
    assert_eq!(
        second["userProfile"],
        json!({"name": "Alicia", "gender": 1, "level": 5})
    );
    assert_eq!(
        second["userExtProfile"],
        json!({"ext_color": "blue", "ext_size": "M"})
    );
    let v2 = second["version"].as_i64().expect("version");
    assert!(v2 > v1, "{v2} > {v1}");
    set_ok(
        &env,
        &app,
        json!({"userId": "alice", "userExtProfile": {"ext_color": null, "ext_size": null}}),
    )
    .await;
    let third = get_one(&env, &app, "alice").await.expect("alice");
    assert!(third["version"].as_i64().expect("version") > v2);
    // An empty part is left out.
    assert!(third.get("userExtProfile").is_none(), "{third}");

    // Only an ext part for bob: no userProfile in the answer. carol has no profile, dave does
    // not exist: both left out. Request order is kept, duplicates once.
    set_ok(
        &env,
        &app,
        json!({"userId": "bob", "userExtProfile": {"ext_team": "red"}}),
    )
    .await;
    let users = get(&env, &app, &["bob", "carol", "dave", "alice", "bob"]).await;
    assert_eq!(ids(&Value::Array(users.clone())), ["bob", "alice"]);
    assert_eq!(
        users[0],
        json!({"userId": "bob", "version": users[0]["version"], "userExtProfile": {"ext_team": "red"}})
    );

    // The hosted profile is not the user record: get-user still answers the token name.
    let user = env
        .call(&app, "/v4/user/get", json!({"userId": "alice"}))
        .await;
    assert_eq!(user.body["result"]["name"], "name of alice");
}

#[tokio::test]
async fn every_key_rule_is_enforced_and_a_refusal_changes_nothing() {
    let env = env().await;
    let app = env.dev_app().await;
    register(&env, &app, &["alice".into()]).await;
    set_ok(
        &env,
        &app,
        json!({"userId": "alice", "userProfile": {"name": "A"}}),
    )
    .await;
    let long = |n: usize| "x".repeat(n);
    // (userProfile, userExtProfile, code, profileKey)
    let cases = [
        (json!({"uniqueId": long(33)}), json!(null), 1005, "uniqueId"),
        (json!({"uniqueId": 7}), json!(null), 1002, "uniqueId"),
        (json!({"name": long(65)}), json!(null), 1005, "name"),
        (json!({"name": ["A"]}), json!(null), 1002, "name"),
        (
            json!({"portraitUri": long(1025)}),
            json!(null),
            1005,
            "portraitUri",
        ),
        (
            json!({"email": format!("{}@example.com", long(117))}),
            json!(null),
            1005,
            "email",
        ),
        (
            json!({"email": "alice.example.com"}),
            json!(null),
            1002,
            "email",
        ),
        (
            json!({"email": "alice@localhost"}),
            json!(null),
            1002,
            "email",
        ),
        (json!({"birthday": long(33)}), json!(null), 1005, "birthday"),
        (json!({"gender": 3}), json!(null), 1002, "gender"),
        (json!({"gender": "1"}), json!(null), 1002, "gender"),
        (json!({"location": long(33)}), json!(null), 1005, "location"),
        (json!({"role": 101}), json!(null), 1002, "role"),
        (json!({"role": -1}), json!(null), 1002, "role"),
        (json!({"level": 100.5}), json!(null), 1002, "level"),
        (json!({"level": 101}), json!(null), 1002, "level"),
        (json!({"appName": "x"}), json!(null), 1002, "appName"),
        // A valid key beside a bad one: nothing is written either.
        (
            json!({"name": "B", "gender": 9}),
            json!(null),
            1002,
            "gender",
        ),
        (json!(null), json!({"color": "red"}), 1002, "color"),
        (json!(null), json!({"ext_a-b": "red"}), 1002, "ext_a-b"),
        (
            json!(null),
            json!({format!("ext_{}", long(29)): "v"}),
            1005,
            "ext_xxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        ),
        (json!(null), json!({"ext_a": long(257)}), 1005, "ext_a"),
        (json!(null), json!({"ext_a": 1}), 1002, "ext_a"),
    ];
    let before = data(&env, &app).await;
    for (profile, ext, code, key) in cases {
        let response = set(
            &env,
            &app,
            json!({"userId": "alice", "userProfile": profile, "userExtProfile": ext}),
        )
        .await;
        let what = format!("{profile} {ext}: {}", response.body);
        assert_eq!(response.outcome(), (400, code), "{what}");
        assert_eq!(response.body["profileKey"], key, "{what}");
        let message = response.body["errorMessage"].as_str().unwrap_or_default();
        let field = if ext.is_null() {
            "userProfile"
        } else {
            "userExtProfile"
        };
        assert!(message.contains(field), "{what}");
    }
    // Neither part, or nothing in them: 400/1002 naming the field, no profileKey.
    for body in [
        json!({"userId": "alice"}),
        json!({"userId": "alice", "userProfile": {}, "userExtProfile": {}}),
        json!({"userId": "alice", "userProfile": "name=A"}),
    ] {
        let response = set(&env, &app, body.clone()).await;
        assert_eq!(response.outcome(), (400, 1002), "{body}");
        assert!(response.body.get("profileKey").is_none(), "{body}");
    }
    assert_eq!(data(&env, &app).await, before, "refusals wrote nothing");

    // At most 20 ext pairs in the merged profile: 19 stored + 2 new is refused, naming the first
    // key over the limit; removing one in the same request makes room.
    let nineteen: serde_json::Map<String, Value> = (0..19)
        .map(|i| (format!("ext_k{i:02}"), json!("v")))
        .collect();
    set_ok(
        &env,
        &app,
        json!({"userId": "alice", "userExtProfile": nineteen}),
    )
    .await;
    let before = data(&env, &app).await;
    let over = set(
        &env,
        &app,
        json!({"userId": "alice", "userExtProfile": {"ext_new1": "a", "ext_new2": "b"}}),
    )
    .await;
    assert_eq!(over.outcome(), (400, 1005), "{}", over.body);
    assert_eq!(over.body["profileKey"], "ext_new2");
    assert!(
        over.body["errorMessage"]
            .as_str()
            .unwrap_or_default()
            .contains("20"),
        "{}",
        over.body
    );
    assert_eq!(data(&env, &app).await, before);
    set_ok(
        &env,
        &app,
        json!({"userId": "alice", "userExtProfile": {"ext_new1": "a", "ext_new2": "b", "ext_k00": null}}),
    )
    .await;
    let alice = get_one(&env, &app, "alice").await.expect("alice");
    assert_eq!(
        alice["userExtProfile"].as_object().map(|m| m.len()),
        Some(20)
    );

    // Request limits of the other operations.
    let ids21: Vec<String> = names("u", 21);
    for path in [GET, DELETE] {
        let response = env.call(&app, path, json!({"userIds": ids21})).await;
        assert_eq!(response.outcome(), (400, 1005), "{path}");
        assert!(
            response.body["errorMessage"]
                .as_str()
                .unwrap_or_default()
                .contains("userIds")
        );
    }
    for (body, code, field) in [
        (json!({"pageSize": 101}), 1005, "pageSize"),
        (json!({"pageSize": 0}), 1002, "pageSize"),
        (json!({"order": 2}), 1002, "order"),
        (json!({"page": "1"}), 1002, "page"),
    ] {
        let response = env.call(&app, LIST, body.clone()).await;
        assert_eq!(response.outcome(), (400, code), "{body}");
        assert!(
            response.body["errorMessage"]
                .as_str()
                .unwrap_or_default()
                .contains(field)
        );
    }
}

#[tokio::test]
async fn declared_ext_keys_refuse_undeclared_ones() {
    let env = env().await;
    let app = env.dev_app().await;
    register(&env, &app, &["alice".into()]).await;
    set_ok(
        &env,
        &app,
        json!({"userId": "alice", "userExtProfile": {"ext_legacy": "1"}}),
    )
    .await;
    let updated = env
        .console(
            "/console/v1/apps/update",
            json!({"appKey": app.app_key, "declaredExtProfileKeys": ["ext_color", "ext_size"]}),
        )
        .await;
    assert_eq!(updated.outcome(), (200, 0), "{}", updated.body);
    // The console update forgets the cached app in this process, so the next call sees it.
    let refused = set(
        &env,
        &app,
        json!({"userId": "alice", "userExtProfile": {"ext_color": "red", "ext_shape": "round"}}),
    )
    .await;
    assert_eq!(refused.outcome(), (400, 1002), "{}", refused.body);
    assert_eq!(refused.body["profileKey"], "ext_shape");
    let alice = get_one(&env, &app, "alice").await.expect("alice");
    assert_eq!(alice["userExtProfile"], json!({"ext_legacy": "1"}));
    // Declared keys are accepted; an undeclared stored key can still be removed.
    set_ok(
        &env,
        &app,
        json!({"userId": "alice", "userExtProfile": {"ext_color": "red", "ext_legacy": null}}),
    )
    .await;
    let alice = get_one(&env, &app, "alice").await.expect("alice");
    assert_eq!(alice["userExtProfile"], json!({"ext_color": "red"}));
}

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

#[tokio::test]
async fn unknown_and_soft_deleted_users_are_refused() {
    let env = env().await;
    let app = env.dev_app().await;
    register(&env, &app, &["alice".into(), "bob".into()]).await;
    set_ok(
        &env,
        &app,
        json!({"userId": "bob", "userProfile": {"name": "Bob"}}),
    )
    .await;
    let before = data(&env, &app).await;
    let unknown = set(
        &env,
        &app,
        json!({"userId": "nobody", "userProfile": {"name": "N"}}),
    )
    .await;
    assert_eq!(unknown.outcome(), (404, 400), "{}", unknown.body);
    assert!(
        unknown.body["errorMessage"]
            .as_str()
            .unwrap_or_default()
            .contains("nobody")
    );
    assert_eq!(
        data(&env, &app).await,
        before,
        "nothing written for an unknown user"
    );

    mark_soft_deleted(&env, &app, "alice").await;
    mark_soft_deleted(&env, &app, "bob").await;
    let before = data(&env, &app).await;
    for user in ["alice", "bob"] {
        let refused = set(
            &env,
            &app,
            json!({"userId": user, "userProfile": {"name": "X"}}),
        )
        .await;
        assert_eq!(refused.outcome(), (404, 400), "{user}: {}", refused.body);
    }
    assert_eq!(data(&env, &app).await, before);
    // bob's profile (until the purge removes it) is no longer served.
    assert!(get(&env, &app, &["alice", "bob"]).await.is_empty());
}

#[tokio::test]
async fn the_list_holds_only_users_with_a_profile_in_registration_order() {
    let env = env().await;
    let app = env.dev_app().await;
    let users = names("u", 6);
    register(&env, &app, &users).await;
    // Set in another order than registration; u003 has a name (from its token) but no profile.
    for user in ["u004", "u000", "u005", "u002", "u001"] {
        set_ok(
            &env,
            &app,
            json!({"userId": user, "userProfile": {"level": 1}}),
        )
        .await;
    }
    let ascending = page(&env, &app, 1, 20, 0).await;
    assert_eq!(ascending, ["u000", "u001", "u002", "u004", "u005"]);
    let descending = page(&env, &app, 1, 20, 1).await;
    assert_eq!(descending, ["u005", "u004", "u002", "u001", "u000"]);
    // Defaults: page 1, 20 per page, ascending. Items carry the profile.
    let response = env.call(&app, LIST, json!({})).await;
    assert_eq!(ids(&response.body["result"]["users"]), ascending);
    let first = &response.body["result"]["users"][0];
    assert_eq!(first["userProfile"], json!({"level": 1}));
    assert!(first["version"].as_i64().is_some());
    // Page 0 reads as page 1.
    assert_eq!(page(&env, &app, 0, 2, 0).await, ["u000", "u001"]);
    // A fresh app lists nothing.
    let other = env.dev_app().await;
    assert!(page(&env, &other, 1, 20, 0).await.is_empty());
    assert!(page(&env, &other, 3, 20, 1).await.is_empty());
}

#[tokio::test]
async fn any_page_is_its_offset_of_the_list_in_both_orders() {
    let env = env().await;
    let app = production_app(&env).await;
    let users = names("p", 23);
    register(&env, &app, &users).await;
    for user in &users {
        set_ok(
            &env,
            &app,
            json!({"userId": user, "userExtProfile": {"ext_n": user}}),
        )
        .await;
    }
    let mut descending = users.clone();
    descending.reverse();
    for (order, expected) in [(0u8, &users), (1u8, &descending)] {
        for size in [1u32, 3, 5, 7, 23, 100] {
            let pages = (expected.len() as u32).div_ceil(size) + 1;
            // Last page first: no page is read right after the page before it, so each one is
            // found through the count tree at its offset.
            for number in (1..=pages).rev() {
                let start = ((number - 1) * size) as usize;
                let wanted: Vec<String> = expected
                    .iter()
                    .skip(start)
                    .take(size as usize)
                    .cloned()
                    .collect();
                assert_eq!(
                    page(&env, &app, number, size, order).await,
                    wanted,
                    "order {order}, size {size}, page {number}"
                );
            }
        }
    }
    // After deletes the offsets close up.
    let deleted = env
        .call(&app, DELETE, json!({"userIds": ["p000", "p010", "p022"]}))
        .await;
    assert_eq!(deleted.outcome(), (200, 0));
    let remaining: Vec<String> = users
        .iter()
        .filter(|u| !["p000", "p010", "p022"].contains(&u.as_str()))
        .cloned()
        .collect();
    for number in (1..=4u32).rev() {
        let wanted: Vec<String> = remaining
            .iter()
            .skip(((number - 1) * 6) as usize)
            .take(6)
            .cloned()
            .collect();
        assert_eq!(
            page(&env, &app, number, 6, 0).await,
            wanted,
            "page {number}"
        );
    }
}

#[tokio::test]
async fn pages_that_start_inside_a_millisecond_skip_only_its_first_profiles() {
    let env = env().await;
    let app = production_app(&env).await;
    let users = names("m", 12);
    register(&env, &app, &users).await;
    // Five users registered in one millisecond, five in the next, two a second later; set out
    // of order.
    let base = env.state.clock.now_ms() - 60_000;
    for (i, user) in users.iter().enumerate() {
        let at = match i {
            0..5 => base,
            5..10 => base + 1,
            _ => base + 1_000,
        };
        env.state
            .db
            .update_item()
            .table_name(&env.state.table)
            .set_key(Some(shared::users::key(&app.app_key, user)))
            .update_expression("SET createdAt = :at")
            .expression_attribute_values(":at", AttributeValue::N(at.to_string()))
            .send()
            .await
            .expect("set createdAt");
    }
    for user in users.iter().rev() {
        set_ok(
            &env,
            &app,
            json!({"userId": user, "userProfile": {"level": 1}}),
        )
        .await;
    }
    let mut descending = users.clone();
    descending.reverse();
    for (order, expected) in [(0u8, &users), (1u8, &descending)] {
        for size in [1u32, 2, 3, 4] {
            for number in (1..=(12 / size) + 1).rev() {
                let wanted: Vec<String> = expected
                    .iter()
                    .skip(((number - 1) * size) as usize)
                    .take(size as usize)
                    .cloned()
                    .collect();
                assert_eq!(
                    page(&env, &app, number, size, order).await,
                    wanted,
                    "order {order}, size {size}, page {number}"
                );
            }
        }
    }
}

/// Reads every page of the list in `order` while, between page reads, profiles are added both
/// before the walk's position (users registered earlier) and after it (users registered
/// later): every profile that existed at the start comes back exactly once, in order.
async fn walk_while_adding(order: u8) {
    let env = env().await;
    let app = production_app(&env).await;
    let early = names("early", 10);
    let initial = names("init", 30);
    register(&env, &app, &early).await;
    register(&env, &app, &initial).await;
    for user in &initial {
        set_ok(
            &env,
            &app,
            json!({"userId": user, "userProfile": {"role": 1}}),
        )
        .await;
    }
    let late = names("late", 10);
    let mut seen: Vec<String> = Vec::new();
    let mut number = 1;
    loop {
        let ids = page(&env, &app, number, 4, order).await;
        if ids.is_empty() {
            break;
        }
        seen.extend(ids);
        let i = (number - 1) as usize;
        if i < early.len() {
            // Registered before every listed user: the head in ascending order, the tail in
            // descending order.
            set_ok(
                &env,
                &app,
                json!({"userId": early[i], "userProfile": {"role": 2}}),
            )
            .await;
            // Registered after every listed user: the tail ascending, the head descending.
            register(&env, &app, &[late[i].clone()]).await;
            set_ok(
                &env,
                &app,
                json!({"userId": late[i], "userProfile": {"role": 3}}),
            )
            .await;
        }
        number += 1;
        assert!(number < 50, "the walk does not end");
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "a profile came twice: {seen:?}");
    for user in &initial {
        assert!(seen.contains(user), "{user} missing from {seen:?}");
    }
    // In order: positions in the final list only grow along the walk.
    let all = {
        let mut all: Vec<String> = Vec::new();
        for n in 1.. {
            let ids = page(&env, &app, n, 100, order).await;
            if ids.is_empty() {
                break;
            }
            all.extend(ids);
        }
        all
    };
    assert_eq!(all.len(), 50);
    let positions: Vec<usize> = seen
        .iter()
        .map(|u| all.iter().position(|a| a == u).expect("listed"))
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
}

#[tokio::test]
async fn an_ascending_walk_returns_every_profile_once_while_profiles_are_added() {
    walk_while_adding(0).await;
}

#[tokio::test]
async fn a_descending_walk_returns_every_profile_once_while_profiles_are_added() {
    walk_while_adding(1).await;
}

#[tokio::test]
async fn concurrent_sets_of_different_keys_lose_no_key() {
    let env = env().await;
    let app = env.dev_app().await;
    register(&env, &app, &["alice".into()]).await;
    let standard = [
        ("uniqueId", json!("A1")),
        ("name", json!("Alice")),
        ("portraitUri", json!("https://example.com/a.png")),
        ("email", json!("alice@example.com")),
        ("birthday", json!("2000-01-01")),
        ("gender", json!(2)),
        ("location", json!("Paris")),
        ("role", json!(7)),
        ("level", json!(9)),
    ];
    let mut bodies: Vec<Value> = standard
        .iter()
        .map(|(k, v)| {
            let mut part = serde_json::Map::new();
            part.insert((*k).to_owned(), v.clone());
            json!({"userId": "alice", "userProfile": part})
        })
        .collect();
    bodies.extend((0..20).map(
        |i| json!({"userId": "alice", "userExtProfile": {format!("ext_k{i:02}"): format!("v{i}")}}),
    ));
    // The first writes race to create the profile, the rest to update it.
    let responses =
        futures::future::join_all(bodies.iter().map(|b| set(&env, &app, b.clone()))).await;
    for (body, response) in bodies.iter().zip(&responses) {
        assert_eq!(response.outcome(), (200, 0), "{body}: {}", response.body);
    }
    let alice = get_one(&env, &app, "alice").await.expect("alice");
    let expected: serde_json::Map<String, Value> = standard
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    assert_eq!(alice["userProfile"], Value::Object(expected));
    let ext = alice["userExtProfile"].as_object().expect("ext");
    assert_eq!(ext.len(), 20, "{ext:?}");
    for i in 0..20 {
        assert_eq!(ext[&format!("ext_k{i:02}")], format!("v{i}"));
    }
    // Created once: listed once.
    assert_eq!(page(&env, &app, 1, 20, 0).await, ["alice"]);
    assert_eq!(page(&env, &app, 2, 1, 0).await, Vec::<String>::new());
}

#[tokio::test]
async fn delete_clears_both_parts_and_the_list() {
    let env = env().await;
    let app = env.dev_app().await;
    register(&env, &app, &["alice".into(), "bob".into(), "carol".into()]).await;
    for user in ["alice", "bob"] {
        set_ok(
            &env,
            &app,
            json!({"userId": user, "userProfile": {"name": user}, "userExtProfile": {"ext_a": "1"}}),
        )
        .await;
    }
    let old_version = get_one(&env, &app, "alice").await.expect("alice")["version"]
        .as_i64()
        .expect("version");
    // Unknown users and users without a profile are skipped.
    let deleted = env
        .call(
            &app,
            DELETE,
            json!({"userIds": ["alice", "carol", "nobody", "alice"]}),
        )
        .await;
    assert_eq!(deleted.outcome(), (200, 0), "{}", deleted.body);
    assert_eq!(
        ids(&Value::Array(get(&env, &app, &["alice", "bob"]).await)),
        ["bob"]
    );
    assert_eq!(page(&env, &app, 1, 20, 0).await, ["bob"]);
    assert_eq!(page(&env, &app, 2, 1, 1).await, Vec::<String>::new());
    // Deleting again is fine; setting again starts from nothing, with a larger version.
    let again = env.call(&app, DELETE, json!({"userIds": ["alice"]})).await;
    assert_eq!(again.outcome(), (200, 0));
    set_ok(
        &env,
        &app,
        json!({"userId": "alice", "userProfile": {"level": 3}}),
    )
    .await;
    let alice = get_one(&env, &app, "alice").await.expect("alice");
    assert_eq!(alice["userProfile"], json!({"level": 3}));
    assert!(alice.get("userExtProfile").is_none());
    assert!(alice["version"].as_i64().expect("version") > old_version);
    assert_eq!(page(&env, &app, 1, 20, 0).await, ["alice", "bob"]);
    assert_eq!(page(&env, &app, 2, 1, 0).await, ["bob"]);
    // The purge entry point removes a profile and its place in the list.
    assert!(
        shared::profiles::remove(&env.state, &app.app_key, "bob")
            .await
            .expect("remove")
    );
    assert!(
        !shared::profiles::remove(&env.state, &app.app_key, "bob")
            .await
            .expect("remove")
    );
    assert_eq!(page(&env, &app, 1, 20, 1).await, ["alice"]);
    assert_eq!(page(&env, &app, 2, 1, 1).await, Vec::<String>::new());
}
