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

mod bans;
mod dm_permission;
mod mutes;
mod tags;
