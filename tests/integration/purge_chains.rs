//! A purge goes on as one chain of checkpoints, each of whose records invokes the purge again:
//! a sweep over a purge whose record waits in a backlog starts no second chain beside it, and
//! the records of a batch whose invocation has only its reserve left start no page past the
//! invocation's first; they checkpoint and go on in the next invocation.
//!
//! Records are handed to the purge function by hand, in Lambda's form, as the event source
//! mapping would deliver them after a backlog: the new image of the USER item's change. Each
//! test has a stack of its own, so no other test's stream follower delivers them meanwhile.

use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, Select};
use integration_tests::{Env, isolated_env};
use serde_json::{Map, Value, json};
use shared::apps::App;
use shared::db::{n, s};
use shared::purge::{Deadline, PURGE_PAGE, PURGE_RESERVE, STUCK_AFTER};
use shared::table;

/// Gives `user` `count` blocklist entries and their counter, as blocklist/add writes them:
/// items of the user's own partition, so the purge has `count / PURGE_PAGE` pages to do.
async fn block_many(env: &Env, app: &App, user: &str, count: usize) {
    let pk = table::user_pk(&app.app_key, user);
    let now = env.state.clock.now_ms();
    let mut writes = Vec::new();
    for i in 0..count {
        let blocked = format!("b{i:05}");
        let item = [
            (table::PK, s(&pk)),
            (table::SK, s(table::block_sk(&blocked))),
            ("edgeTo", s(table::user_pk(&app.app_key, &blocked))),
            ("countedIn", s(table::SK_BLOCK_COUNT)),
            (
                table::LSI1SK,
                s(table::lsi1_sort_key(table::SK_BLOCK_PREFIX, now, &blocked)),
            ),
        ];
        let item = item.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        writes.push(shared::db::put(item).expect("put"));
    }
    let counter = [
        (table::PK, s(&pk)),
        (table::SK, s(table::SK_BLOCK_COUNT)),
        ("count", n(count)),
    ];
    let counter = counter
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    writes.push(shared::db::put(counter).expect("put"));
    shared::db::write_all(&env.state, writes)
        .await
        .expect("write");
}

async fn soft_delete(env: &Env, app: &App, users: &[&str]) -> String {
    let body = env
        .answered(app, "/v4/user/soft-delete", json!({"userIds": users}), &[0])
        .await;
    body["result"]["operationId"]
        .as_str()
        .expect("operationId")
        .to_owned()
}

/// The USER item as stored now.
async fn user_item(
    env: &Env,
    app: &App,
    user: &str,
) -> std::collections::HashMap<String, AttributeValue> {
    env.state
        .db
        .get_item()
        .table_name(&env.state.table)
        .set_key(Some(shared::users::key(&app.app_key, user)))
        .consistent_read(true)
        .send()
        .await
        .expect("get")
        .item
        .expect("the USER item")
}

/// The stream record of the USER item's last change (a soft delete, a checkpoint, a re-drive),
/// in Lambda's form.
async fn last_record(env: &Env, app: &App, user: &str) -> Value {
    let image: Map<String, Value> = user_item(env, app, user)
        .await
        .into_iter()
        .filter_map(|(name, value)| match value {
            AttributeValue::S(text) => Some((name, json!({ "S": text }))),
            AttributeValue::N(number) => Some((name, json!({ "N": number }))),
            _ => None,
        })
        .collect();
    json!({
        "eventName": "MODIFY",
        "eventSource": "aws:dynamodb",
        "dynamodb": {"SequenceNumber": "1", "NewImage": image}
    })
}

/// Checkpoints the purge wrote for `user`: each is a stream record that invokes it again.
async fn checkpoints(env: &Env, app: &App, user: &str) -> i64 {
    user_item(env, app, user)
        .await
        .get("purgeRounds")
        .and_then(|v| v.as_n().ok()?.parse().ok())
        .unwrap_or(0)
}

async fn purge_state(env: &Env, app: &App, user: &str) -> String {
    user_item(env, app, user)
        .await
        .get("purgeState")
        .and_then(|v| v.as_s().ok().cloned())
        .unwrap_or_default()
}

/// Items in `user`'s partition, read strongly consistently.
async fn items_of(env: &Env, app: &App, user: &str) -> i32 {
    env.state
        .db
        .query()
        .table_name(&env.state.table)
        .key_condition_expression("PK = :pk")
        .expression_attribute_values(":pk", s(table::user_pk(&app.app_key, user)))
        .select(Select::Count)
        .consistent_read(true)
        .send()
        .await
        .expect("query")
        .count
}

/// One invocation of the purge function, in its container, over `records` and within
/// `deadline`; asserts that no record failed.
async fn invoke(env: &Env, records: Vec<Value>, deadline: Deadline) {
    let answer = purge_soft_deleted_users::handle(
        &env.function("purge-soft-deleted-users"),
        &json!({ "Records": records }),
        deadline,
    )
    .await;
    assert_eq!(answer, json!({"batchItemFailures": []}));
}

/// An invocation with no time to spare: the reserve is all that is left.
fn only_the_reserve_left() -> Deadline {
    Deadline::within(PURGE_RESERVE, PURGE_RESERVE)
}

/// The purge's record waits in a backlog for longer than the sweeper's cut-off, so the purge
/// looks stuck and is re-driven (once, though two sweeps run at once). When the backlog drains,
/// the waiting record and the re-driven one both reach the purge: one goes on (one checkpoint,
/// so one record invoking the purge again), the other finds the chain past it.
#[tokio::test]
async fn a_sweep_over_a_purge_waiting_in_a_backlog_leaves_one_chain() {
    let env = isolated_env("purge-chain-backlog").await;
    let app = env.dev_app().await;
    env.issue(&app, "alice").await;
    // More than three pages: the purge is still unfinished after a page from each of the
    // three records below, whichever of them go on.
    block_many(&env, &app, "alice", 3 * PURGE_PAGE as usize + 10).await;
    let operation_id = soft_delete(&env, &app, &["alice"]).await;

    // The soft delete's record: a page, then a checkpoint, whose record waits in the backlog.
    let soft_deleted = last_record(&env, &app, "alice").await;
    invoke(&env, vec![soft_deleted], only_the_reserve_left()).await;
    assert_eq!(checkpoints(&env, &app, "alice").await, 1);
    let waiting = last_record(&env, &app, "alice").await;

    env.state
        .clock
        .advance_ms(STUCK_AFTER.as_millis() as i64 + 1_000);
    let (one, other) = tokio::join!(env.sweep_purges(&app), env.sweep_purges(&app));
    let redriven = one["redriven"].as_u64().unwrap_or(0) + other["redriven"].as_u64().unwrap_or(0);
    assert_eq!(redriven, 1, "re-driven once: {one} {other}");
    let resent = last_record(&env, &app, "alice").await;

    let before = checkpoints(&env, &app, "alice").await;
    invoke(&env, vec![waiting], only_the_reserve_left()).await;
    invoke(&env, vec![resent], only_the_reserve_left()).await;
    assert_eq!(
        checkpoints(&env, &app, "alice").await - before,
        1,
        "the two records of one checkpoint go on as one chain"
    );

    // That one chain takes the purge to its end, a page per invocation.
    for _ in 0..10 {
        if purge_state(&env, &app, "alice").await == "done" {
            break;
        }
        let next = last_record(&env, &app, "alice").await;
        invoke(&env, vec![next], only_the_reserve_left()).await;
    }
    let operation = env.wait_for_operation(&app, &operation_id).await;
    assert_eq!(operation["users"][0]["status"], "done", "{operation}");
    assert_eq!(items_of(&env, &app, "alice").await, 1, "only the USER item");
}

/// A batch of records whose invocation has only its reserve left: the invocation's first page
/// starts (every invocation progresses), no other does; each record leaves a checkpoint, from
/// which the next invocation finishes them all.
#[tokio::test]
async fn a_batch_with_only_its_reserve_left_starts_no_page_past_its_first() {
    let env = isolated_env("purge-chain-batch").await;
    let app = env.dev_app().await;
    let users = ["u1", "u2", "u3"];
    for user in users {
        env.issue(&app, user).await;
        block_many(&env, &app, user, PURGE_PAGE as usize + 10).await;
    }
    let operation_id = soft_delete(&env, &app, &users).await;
    let mut records = Vec::new();
    let mut before = Vec::new();
    for user in users {
        records.push(last_record(&env, &app, user).await);
        before.push(items_of(&env, &app, user).await);
    }

    invoke(&env, records, only_the_reserve_left()).await;
    let mut after = Vec::new();
    for user in users {
        after.push(items_of(&env, &app, user).await);
        assert_eq!(
            checkpoints(&env, &app, user).await,
            1,
            "{user} left a checkpoint to go on from"
        );
    }
    assert_eq!(
        after,
        [before[0] - PURGE_PAGE, before[1], before[2]],
        "one page, the invocation's first, was purged"
    );

    let mut resumed = Vec::new();
    for user in users {
        resumed.push(last_record(&env, &app, user).await);
    }
    invoke(
        &env,
        resumed,
        Deadline::within(Duration::from_secs(300), PURGE_RESERVE),
    )
    .await;
    let operation = env.wait_for_operation(&app, &operation_id).await;
    let results = operation["users"].as_array().cloned().unwrap_or_default();
    assert!(
        results.len() == users.len() && results.iter().all(|user| user["status"] == "done"),
        "{operation}"
    );
    for user in users {
        assert_eq!(
            items_of(&env, &app, user).await,
            1,
            "{user}: only the USER item"
        );
    }
}
