//! The profile list: registration order, any page at its offset, pages inside a millisecond, walks while profiles are added.

use super::*;

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
