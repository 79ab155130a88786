//! Every `events/<function>.json` (a real API Gateway v2 payload) through its handler. Signed
//! events carry the placeholder app EVENTSAPPKEY and are re-signed here for a fresh test app in
//! which the users the events name (alice, bob, carol) are registered; console events get the
//! admin token and the test app's key.

use integration_tests::{ADMIN_TOKEN, Env, env, event};
use serde_json::Value;
use shared::apps::App;

/// What an event needs beyond registered users: signed calls (function, path, JSON body) made
/// before it, in order.
const SETUP: &[(&str, &str, &str)] = &[];

/// Successful answers other than `{"code":0}`.
const EXPECTED_CODE: &[(&str, i64)] = &[];

fn setup(function: &str) -> impl Iterator<Item = (&'static str, Value)> + '_ {
    SETUP
        .iter()
        .filter(move |(f, _, _)| *f == function)
        .map(|(_, path, body)| {
            (
                *path,
                serde_json::from_str(body).expect("setup body is JSON"),
            )
        })
}

fn expected_code(function: &str) -> i64 {
    EXPECTED_CODE
        .iter()
        .find(|(f, _)| *f == function)
        .map_or(0, |(_, code)| *code)
}

async fn prepared_app(env: &Env, function: &str) -> App {
    let app = env.dev_app().await;
    for user in ["alice", "bob", "carol"] {
        env.issue(&app, user).await;
    }
    for (path, body) in setup(function) {
        let response = env.call(&app, path, body).await;
        assert_eq!(
            response.status, 200,
            "{function} setup {path}: {}",
            response.body
        );
    }
    app
}

#[tokio::test]
async fn every_function_has_an_event_that_its_handler_accepts() {
    let env = env().await;
    let functions: Vec<String> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../functions"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
    assert!(functions.len() >= 8);
    for function in &functions {
        let app = prepared_app(&env, function).await;
        let mut request = event(function);
        let console = !request.headers().contains_key("app-key");
        if console {
            let body = std::str::from_utf8(request.body().as_ref())
                .unwrap()
                .replace("EVENTSAPPKEY", &app.app_key);
            *request.body_mut() = body.into();
            request.headers_mut().insert(
                "authorization",
                format!("Bearer {ADMIN_TOKEN}").parse().unwrap(),
            );
        } else {
            assert_eq!(request.headers()["app-key"], "EVENTSAPPKEY", "{function}");
            env.sign(&mut request, &app);
        }
        let response = env.send(request).await;
        assert_eq!(
            response.outcome(),
            (200, expected_code(function)),
            "{function}: {}",
            response.body
        );
    }
}
