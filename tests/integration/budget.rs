//! The DynamoDB round-trip budget of every operation, counted by an SDK interceptor (not timed),
//! against the budget the README writes next to each operation. A function without a budget in
//! the README, or without a scenario here, fails.

use std::collections::HashMap;

use integration_tests::{RequestLog, env_with};
use serde_json::{Value, json};

/// Function name → budget text from the README's endpoint table.
fn documented_budgets() -> HashMap<String, String> {
    let readme = include_str!("../../README.md");
    let section = readme
        .split("## Endpoints")
        .nth(1)
        .expect("README has an Endpoints section");
    section
        .lines()
        .filter(|line| line.starts_with("| `/"))
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            (cells[2].trim_matches('`').to_owned(), cells[3].to_owned())
        })
        .collect()
}

/// Measures one warm call: the app is cached and the user exists before counting starts.
async fn count(
    log: &RequestLog,
    call: impl std::future::Future<Output = integration_tests::Response>,
) -> usize {
    log.take();
    let response = call.await;
    assert_eq!(response.outcome(), (200, 0), "{}", response.body);
    log.take().len()
}

#[tokio::test]
async fn every_operation_stays_within_its_documented_budget() {
    let log = RequestLog::default();
    let interceptor = log.clone();
    let env = env_with(|config| config.interceptor(interceptor)).await;
    let budgets = documented_budgets();
    let app = env.dev_app().await;
    env.issue(&app, "alice").await; // caches the app, registers alice
    env.issue(&app, "bob").await;

    let signed = |path: &'static str, body: Value| env.call(&app, path, body);
    let console = |path: &'static str, body: Value| env.console(path, body);
    let key = app.app_key.clone();
    let mut measured: HashMap<&str, String> = HashMap::new();

    let existing = count(
        &log,
        signed(
            "/v4/auth/access-token/issue",
            json!({"userId": "alice", "name": "A"}),
        ),
    )
    .await;
    let new = count(
        &log,
        signed(
            "/v4/auth/access-token/issue",
            json!({"userId": "carol", "name": "C"}),
        ),
    )
    .await;
    measured.insert(
        "issue-access-token",
        format!("{existing} (existing user), {new} (new user)"),
    );
    let one = count(
        &log,
        signed(
            "/v4/auth/access-token/expire",
            json!({"userIds": ["alice"], "expiresAt": 1}),
        ),
    )
    .await;
    let two = count(
        &log,
        signed(
            "/v4/auth/access-token/expire",
            json!({"userIds": ["alice", "bob"], "expiresAt": 1}),
        ),
    )
    .await;
    assert_eq!(two - one, 1, "expire costs one request per user");
    measured.insert(
        "expire-access-token",
        format!("{} + n (n users, concurrent)", one - 1),
    );
    let get = count(&log, signed("/v4/user/get", json!({"userId": "alice"}))).await;
    measured.insert("get-user", format!("{get} (concurrent)"));
    let update = count(
        &log,
        signed("/v4/user/update", json!({"userId": "alice", "name": "B"})),
    )
    .await;
    measured.insert("update-user", update.to_string());
    let create = count(&log, console("/console/v1/apps/create", json!({}))).await;
    measured.insert("create-app", create.to_string());
    let get_app = count(
        &log,
        console("/console/v1/apps/get", json!({"appKey": key})),
    )
    .await;
    measured.insert("get-app", get_app.to_string());
    let update_app = count(
        &log,
        console(
            "/console/v1/apps/update",
            json!({"appKey": key, "restrictDmToFriends": true}),
        ),
    )
    .await;
    measured.insert("update-app", update_app.to_string());
    let rotate = count(
        &log,
        console("/console/v1/apps/rotate-secret", json!({"appKey": key})),
    )
    .await;
    measured.insert("rotate-app-secret", rotate.to_string());

    let functions: Vec<String> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../functions"))
            .expect("functions/")
            .map(|e| {
                e.expect("entry")
                    .file_name()
                    .into_string()
                    .expect("utf-8 name")
            })
            .collect();
    for function in &functions {
        let documented = budgets
            .get(function)
            .unwrap_or_else(|| panic!("README gives no budget for {function}"));
        let actual = measured
            .get(function.as_str())
            .unwrap_or_else(|| panic!("no budget scenario for {function}"));
        assert_eq!(actual, documented, "{function}: measured vs README");
    }
}

#[tokio::test]
async fn a_read_sends_its_nonce_and_its_read_only() {
    let log = RequestLog::default();
    let interceptor = log.clone();
    let env = env_with(|config| config.interceptor(interceptor)).await;
    let app = env.dev_app().await;
    env.issue(&app, "dana").await;
    log.take();
    env.call(&app, "/v4/user/get", json!({"userId": "dana"}))
        .await;
    let mut sent = log.take();
    sent.sort();
    assert_eq!(sent, ["GetItem", "PutItem"]);
}
