//! Soft delete, the asynchronous purge from the table's stream, restore, operation records and
//! the console's removal of test users.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use futures::future::join_all;
use integration_tests::{Env, env};
use serde_json::{Value, json};
use shared::access::{self, Rejection, VerifyError};
use shared::apps::{App, AppChanges, Environment};

const SOFT_DELETE: &str = "/v4/user/soft-delete";
const RESTORE: &str = "/v4/user/restore";
const LIST: &str = "/v4/user/soft-deleted/list";
const HOUR_MS: i64 = 60 * 60 * 1000;

fn rejection(result: Result<access::VerifiedToken, VerifyError>) -> Option<Rejection> {
    match result {
        Ok(_) => None,
        Err(VerifyError::Rejected(r)) => Some(r),
        Err(other) => panic!("store error: {other}"),
    }
}

async fn soft_delete(env: &Env, app: &App, users: &[&str]) -> String {
    let response = env
        .call(app, SOFT_DELETE, json!({ "userIds": users }))
        .await;
    assert_eq!(response.outcome(), (200, 0), "{}", response.body);
    response.body["result"]["operationId"]
        .as_str()
        .expect("operationId")
        .to_owned()
}

async fn restore(env: &Env, app: &App, users: &[&str]) -> Value {
    let response = env.call(app, RESTORE, json!({ "userIds": users })).await;
    assert_eq!(response.outcome(), (200, 0), "{}", response.body);
    let operation_id = response.body["result"]["operationId"]
        .as_str()
        .expect("operationId")
        .to_owned();
    env.wait_for_operation(app, &operation_id).await
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

/// Writes an item the way the feature that owns it does (docs/DATA-MODEL.md).
async fn put(env: &Env, pairs: &[(&str, AttributeValue)]) {
    let item: HashMap<String, AttributeValue> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    env.state
        .db
        .put_item()
        .table_name(&env.state.table)
        .set_item(Some(item))
        .send()
        .await
        .expect("put");
}

/// A user's `USER` item as stored now.
async fn user_record(env: &Env, app: &App, user: &str) -> Option<HashMap<String, AttributeValue>> {
    env.state
        .db
        .get_item()
        .table_name(&env.state.table)
        .key("PK", pk(app, user))
        .key("SK", s("USER"))
        .consistent_read(true)
        .send()
        .await
        .expect("get")
        .item
}

fn pk(app: &App, user: &str) -> AttributeValue {
    s(&shared::table::user_pk(&app.app_key, user))
}

/// Friend edges both ways with counters, as add-friend writes them.
async fn befriend(env: &Env, app: &App, a: &str, b: &str) {
    for (me, other) in [(a, b), (b, a)] {
        put(
            env,
            &[
                ("PK", pk(app, me)),
                ("SK", s(&format!("FRIEND#{other}"))),
                ("edgeTo", pk(app, other)),
                ("countedIn", s("FRIEND_COUNT")),
            ],
        )
        .await;
        let counter = env
            .state
            .db
            .update_item()
            .table_name(&env.state.table)
            .key("PK", pk(app, me))
            .key("SK", s("FRIEND_COUNT"))
            .update_expression("ADD #count :one")
            .expression_attribute_names("#count", "count")
            .expression_attribute_values(":one", AttributeValue::N("1".into()));
        counter.send().await.expect("counter");
    }
}

async fn friend_count(env: &Env, app: &App, user: &str) -> i64 {
    let out = env
        .state
        .db
        .get_item()
        .table_name(&env.state.table)
        .key("PK", pk(app, user))
        .key("SK", s("FRIEND_COUNT"))
        .consistent_read(true)
        .send()
        .await
        .expect("get");
    out.item
        .and_then(|i| i.get("count")?.as_n().ok()?.parse().ok())
        .unwrap_or(0)
}

/// Whether an item is the user's (in its partition) or points at the user (an edge).
fn concerns(item: &HashMap<String, AttributeValue>, app: &App, user: &str) -> bool {
    let pk = shared::table::user_pk(&app.app_key, user);
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok());
    text("PK") == Some(&pk) || text("edgeTo") == Some(&pk)
}

fn items_of<'a>(
    items: &'a [HashMap<String, AttributeValue>],
    app: &App,
    user: &str,
) -> Vec<&'a HashMap<String, AttributeValue>> {
    items
        .iter()
        .filter(|item| concerns(item, app, user))
        .collect()
}

mod purge;
mod soft_delete;
