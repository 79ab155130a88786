//! Friendships: adding under each permission, pending requests (extension endpoints), removal,
//! listing with page tokens, relationships, permissions, friend profiles, the 3,000 limit, and
//! the invariants read back from the table: edges are mutual and counted, under concurrency too.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use integration_tests::invariants::Friendships;
use integration_tests::{Env, Response, env, env_with};
use serde_json::{Value, json};
use shared::apps::{App, AppChanges, Environment, Plan};
use shared::edges::{self, Kind};
use shared::table;

type Item = HashMap<String, AttributeValue>;

async fn app_with(env: &Env, changes: AppChanges, users: &[&str]) -> App {
    let app = env.new_app(changes).await;
    for user in users {
        env.issue(&app, user).await;
    }
    app
}

async fn dev_app_with(env: &Env, users: &[&str]) -> App {
    app_with(env, AppChanges::default(), users).await
}

async fn add(env: &Env, app: &App, user: &str, target: &str, action: Option<i64>) -> Response {
    let mut body = json!({"userId": user, "targetId": target});
    if let Some(action) = action {
        body["action"] = json!(action);
    }
    env.call(app, "/v4/friend/add", body).await
}

async fn set_permission(env: &Env, app: &App, users: &[&str], permission: i64) {
    let response = env
        .call(
            app,
            "/v4/friend/permission/set",
            json!({"userIds": users, "permissionType": permission}),
        )
        .await;
    assert_eq!(response.outcome(), (200, 0), "{}", response.body);
}

async fn relation(env: &Env, app: &App, user: &str, target: &str) -> i64 {
    let response = env
        .call(
            app,
            "/v4/friend/relationship/get",
            json!({"userId": user, "targetIds": [target]}),
        )
        .await;
    assert_eq!(response.outcome(), (200, 0), "{}", response.body);
    response.body["result"]["friendships"][0]["result"]
        .as_i64()
        .unwrap()
}

async fn requests_of(env: &Env, app: &App, user: &str) -> Vec<Value> {
    let response = env
        .call(app, "/v4/ext/friend/request/list", json!({"userId": user}))
        .await;
    assert_eq!(response.outcome(), (200, 0), "{}", response.body);
    response.body["result"]["requests"]
        .as_array()
        .cloned()
        .unwrap()
}

async fn list(env: &Env, app: &App, body: Value) -> Response {
    env.call(app, "/v4/friend/list", body).await
}

fn friend_ids(response: &Response) -> Vec<String> {
    response.body["result"]["friends"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", response.body))
        .iter()
        .map(|f| f["userId"].as_str().unwrap().to_owned())
        .collect()
}

/// Marks a user soft-deleted the way the soft delete does (its `USER` item's state).
async fn mark_soft_deleted(env: &Env, app: &App, user: &str) {
    env.state
        .db
        .update_item()
        .table_name(&env.state.table)
        .set_key(Some(shared::users::key(&app.app_key, user)))
        .update_expression("SET #state = :deleted")
        .expression_attribute_names("#state", "state")
        .expression_attribute_values(":deleted", AttributeValue::S("soft-deleted".into()))
        .send()
        .await
        .unwrap();
}

fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

mod adding;
mod friend_profiles;
mod limit;
mod listing;
mod purge;
mod relationships;
mod removing;
