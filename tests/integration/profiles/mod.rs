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

mod changes;
mod listing;
mod set;
