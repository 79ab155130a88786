//! Every `events/<function>.json` (a real API Gateway v2 payload) through its handler. Signed
//! events carry the placeholder app EVENTSAPPKEY and are re-signed here for a fresh test app in
//! which the users the events name (alice, bob, carol) are registered; console events get the
//! admin token and the test app's key.

use integration_tests::{ADMIN_TOKEN, Env, env, event};
use serde_json::Value;
use shared::apps::App;

/// What an event needs beyond registered users: signed calls (function, path, JSON body) made
/// before it, in order.
const SETUP: &[(&str, &str, &str)] = &[
    (
        "remove-friends",
        "/v4/friend/add",
        r#"{"userId":"alice","targetId":"bob","action":2}"#,
    ),
    (
        "set-friend-profile",
        "/v4/friend/add",
        r#"{"userId":"alice","targetId":"bob","action":2}"#,
    ),
    (
        "accept-friend-request",
        "/v4/friend/add",
        r#"{"userId":"alice","targetId":"bob"}"#,
    ),
    (
        "reject-friend-request",
        "/v4/friend/add",
        r#"{"userId":"alice","targetId":"bob"}"#,
    ),
    (
        "remove-user-blocklist",
        "/v4/user/blocklist/add",
        r#"{"userId":"alice","targetUserIds":["bob"]}"#,
    ),
    (
        "batch-get-user-profiles",
        "/v4/user/profile/set",
        r#"{"userId":"alice","userProfile":{"name":"Alice"}}"#,
    ),
    (
        "list-user-profiles",
        "/v4/user/profile/set",
        r#"{"userId":"alice","userProfile":{"name":"Alice"}}"#,
    ),
    (
        "delete-user-profiles",
        "/v4/user/profile/set",
        r#"{"userId":"alice","userProfile":{"name":"Alice"}}"#,
    ),
];

/// Successful answers other than `{"code":0}`.
const EXPECTED_CODE: &[(&str, i64)] = &[];

/// Events whose fixed IDs cannot exist in a fresh app: the handler's documented refusal proves
/// the event reached it. (function, HTTP status, code)
const EXPECTED_REFUSAL: &[(&str, u16, i64)] = &[("get-operation", 404, 1015)];

/// The Console page: a GET of static files, not an operation (its event is run by
/// `scripts/invoke-functions`; `template.rs`, its unit tests and `tests/browser` cover it).
const PAGE_FUNCTIONS: &[&str] = &["console-page"];

/// Functions driven by the table's stream, a schedule or the WebSocket API rather than the HTTP
/// API (their events are tested in their own area's tests).
const STREAM_FUNCTIONS: &[&str] = &[
    "purge-soft-deleted-users",
    "produce-webhook-events",
    "send-webhooks",
    "sweep-stuck-purges",
    // WebSocket routes (tests/integration/connections.rs runs their events).
    "connect",
    "disconnect",
    "heartbeat",
];

fn expected_outcome(function: &str) -> (u16, i64) {
    EXPECTED_REFUSAL
        .iter()
        .find(|(f, _, _)| *f == function)
        .map_or((200, expected_code(function)), |(_, status, code)| {
            (*status, *code)
        })
}

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
    let spec = integration_tests::openapi::Spec::load();
    let mut checked = 0;
    for function in functions.iter().filter(|f| {
        !STREAM_FUNCTIONS.contains(&f.as_str()) && !PAGE_FUNCTIONS.contains(&f.as_str())
    }) {
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
        let path = request.uri().path().to_owned();
        let response = env.send(request).await;
        assert_eq!(
            response.outcome(),
            expected_outcome(function),
            "{function}: {}",
            response.body
        );
        // A success of an official operation has the shape the official SDK is generated from.
        if response.outcome() == (200, 0)
            && let Some(schema) = spec.success_schema(&path)
        {
            checked += 1;
            let violations = spec.violations(schema, &response.body);
            assert!(
                violations.is_empty(),
                "{function}: {path} answers outside the OpenAPI schema: {violations:?}\n{}",
                response.body
            );
        }
    }
    assert!(
        checked >= 20,
        "only {checked} answers checked against the OpenAPI file"
    );
}
