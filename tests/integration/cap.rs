//! The registered-user cap: enforced atomically in DynamoDB, never by read-then-write.

use futures::future::join_all;
use integration_tests::env;
use serde_json::json;
use shared::apps::{AppChanges, Environment, Plan};

#[tokio::test]
async fn of_150_concurrent_registrations_exactly_100_succeed() {
    let env = env().await;
    let app = env.dev_app().await;
    let calls = (0..150).map(|i| {
        env.call(
            &app,
            "/v4/auth/access-token/issue",
            json!({"userId": format!("user{i}"), "name": "N"}),
        )
    });
    let outcomes: Vec<(u16, i64)> = join_all(calls).await.iter().map(|r| r.outcome()).collect();
    let ok = outcomes.iter().filter(|o| **o == (200, 0)).count();
    let capped = outcomes.iter().filter(|o| **o == (403, 2007)).count();
    assert_eq!((ok, capped), (100, 50), "{outcomes:?}");
    assert_eq!(env.user_count(&app.app_key).await, 100);
    let users = env
        .app_items(&app.app_key)
        .await
        .iter()
        .filter(|i| i["SK"].as_s().unwrap() == "USER")
        .count();
    assert_eq!(users, 100, "refused registrations left no user item");

    // Re-issuing for a registered user never needs a slot, even at the cap.
    let registered = outcomes.iter().position(|o| *o == (200, 0)).unwrap();
    let again = env
        .call(
            &app,
            "/v4/auth/access-token/issue",
            json!({"userId": format!("user{registered}"), "name": "M"}),
        )
        .await;
    assert_eq!(again.outcome(), (200, 0));
    assert_eq!(env.user_count(&app.app_key).await, 100);
}

#[tokio::test]
async fn reissuing_concurrently_for_one_user_takes_one_slot() {
    let env = env().await;
    let app = env.dev_app().await;
    let calls = (0..20).map(|_| {
        env.call(
            &app,
            "/v4/auth/access-token/issue",
            json!({"userId": "same", "name": "N"}),
        )
    });
    assert!(
        join_all(calls)
            .await
            .iter()
            .all(|r| r.outcome() == (200, 0))
    );
    assert_eq!(env.user_count(&app.app_key).await, 1);
}

#[tokio::test]
async fn production_on_a_paid_plan_is_unlimited_and_free_is_capped() {
    let env = env().await;
    let paid = env
        .new_app(AppChanges {
            environment: Some(Environment::Production),
            plan: Some(Plan::Starter),
            ..Default::default()
        })
        .await;
    for i in 0..101 {
        env.issue(&paid, &format!("u{i}")).await;
    }
    assert_eq!(env.user_count(&paid.app_key).await, 101);

    let free = env
        .new_app(AppChanges {
            environment: Some(Environment::Production),
            ..Default::default()
        })
        .await;
    let calls = (0..101).map(|i| {
        env.call(
            &free,
            "/v4/auth/access-token/issue",
            json!({"userId": format!("u{i}"), "name": "N"}),
        )
    });
    let refused = join_all(calls)
        .await
        .iter()
        .filter(|r| r.outcome() == (403, 2007))
        .count();
    assert_eq!(refused, 1);

    // Upgrading the plan applies at once, whatever a container cached.
    let upgraded = env
        .console(
            "/console/v1/apps/update",
            json!({"appKey": free.app_key, "plan": "pro"}),
        )
        .await;
    assert_eq!(upgraded.outcome(), (200, 0));
    env.issue(&free, "u101").await;
    assert_eq!(env.user_count(&free.app_key).await, 101);
}

#[tokio::test]
async fn two_hundred_concurrent_registrations_on_an_uncapped_app_touch_no_hot_item() {
    let (env, log) = integration_tests::logged_env().await;
    let paid = env
        .new_app(AppChanges {
            environment: Some(Environment::Production),
            plan: Some(Plan::Pro),
            ..Default::default()
        })
        .await;
    log.take(); // the app's creation
    let calls = (0..200).map(|i| {
        env.call(
            &paid,
            "/v4/auth/access-token/issue",
            json!({"userId": format!("new{i}"), "name": "N"}),
        )
    });
    let outcomes: Vec<(u16, i64)> = join_all(calls).await.iter().map(|r| r.outcome()).collect();
    assert!(outcomes.iter().all(|o| *o == (200, 0)), "{outcomes:?}");
    let transactions = log
        .take()
        .iter()
        .filter(|name| *name == "TransactWriteItems")
        .count();
    // One transaction per registration, and few retries: no storm on one counter.
    println!("200 registrations: {transactions} TransactWriteItems");
    assert!(
        (200..=220).contains(&transactions),
        "{transactions} transactions for 200 registrations"
    );
    assert_eq!(env.user_count(&paid.app_key).await, 200);
    let app_item = shared::apps::fetch(&env.state, &paid.app_key)
        .await
        .expect("fetch")
        .expect("app");
    assert_eq!(
        app_item.user_count, 0,
        "the app item itself was not written"
    );

    // Capped again (a downgrade): the shards are folded into the app item, so the cap counts
    // all 200 users and refuses the next one.
    let downgraded = env
        .console(
            "/console/v1/apps/update",
            json!({"appKey": paid.app_key, "plan": "free"}),
        )
        .await;
    assert_eq!(downgraded.outcome(), (200, 0), "{}", downgraded.body);
    assert_eq!(downgraded.body["result"]["userCount"], 200);
    let app_item = shared::apps::fetch(&env.state, &paid.app_key)
        .await
        .expect("fetch")
        .expect("app");
    assert_eq!(app_item.user_count, 200);
    let refused = env
        .call(
            &paid,
            "/v4/auth/access-token/issue",
            json!({"userId": "onemore", "name": "N"}),
        )
        .await;
    assert_eq!(refused.outcome(), (403, 2007));
    let shown = env
        .console("/console/v1/apps/get", json!({"appKey": paid.app_key}))
        .await;
    assert_eq!(shown.body["result"]["userCount"], 200, "{}", shown.body);
}
