//! The metrics the functions emit, as the local API collects and serves them (`GET /metrics`,
//! `GET /metrics/json`): real values after real calls. Each test reads differences, so figures
//! other calls of the process add do not matter.

use integration_tests::{documented_budgets, env, sockets};
use local_api::metrics::{prometheus, value};
use serde_json::{Value, json};
use shared::apps::AppChanges;

/// A sample's value now.
fn now(name: &str, labels: &[(&str, &str)]) -> f64 {
    value(&prometheus(), name, labels)
}

const CALLS: &str = "chat_users_calls_total";
const COLD_STARTS: &str = "chat_users_cold_starts_total";
const DURATIONS: &str = "chat_users_call_duration_seconds_count";
const DYNAMODB_REQUESTS: &str = "chat_users_dynamodb_requests_total";

#[tokio::test]
async fn a_call_counts_under_its_answer_and_a_container_starts_cold_once() {
    let env = env().await;
    let app = env.dev_app().await;
    let get_user = [("operation", "get-user")];
    let (cold, timed) = (now(COLD_STARTS, &get_user), now(DURATIONS, &get_user));

    let unknown = json!({"userId": "nobody"});
    let first = env.call(&app, "/v4/user/get", unknown.clone()).await;
    let (status, code) = first.outcome();
    assert_eq!(status, 404, "{}", first.body);
    let answer = [
        ("operation", "get-user"),
        ("status", "404"),
        ("code", &code.to_string()),
    ];
    let refused = now(CALLS, &answer);
    env.call(&app, "/v4/user/get", unknown.clone()).await;
    assert_eq!(now(CALLS, &answer) - refused, 1.0, "the second 404 counts");
    assert_eq!(
        now(COLD_STARTS, &get_user) - cold,
        1.0,
        "one container, one cold start"
    );

    env.functions.recycle();
    env.call(&app, "/v4/user/get", unknown).await;
    assert_eq!(
        now(COLD_STARTS, &get_user) - cold,
        2.0,
        "a new container starts cold"
    );
    assert_eq!(
        now(DURATIONS, &get_user) - timed,
        3.0,
        "every call is timed"
    );
}

#[tokio::test]
async fn dynamodb_requests_per_call_match_the_readme_budgets() {
    let env = env().await;
    let app = env.dev_app().await;
    env.issue(&app, "alice").await;
    env.warm(&app);
    let budgets = documented_budgets();
    let calls = [
        ("get-user", "/v4/user/get", json!({"userId": "alice"})),
        (
            "update-user",
            "/v4/user/update",
            json!({"userId": "alice", "name": "Alice"}),
        ),
    ];
    for (operation, path, body) in calls {
        let labels = [("operation", operation)];
        let requests = now(DYNAMODB_REQUESTS, &labels);
        let writes = now("chat_users_dynamodb_write_units_sum", &labels);
        let reads = now("chat_users_dynamodb_read_units_sum", &labels);
        env.answered(&app, path, body, &[0]).await;
        let budget: f64 = budgets[operation].parse().expect("a single number");
        // The README states each call's own requests; the count against the app's limit (one
        // UpdateItem beside them) comes on top.
        assert_eq!(
            now(DYNAMODB_REQUESTS, &labels) - requests,
            budget + 1.0,
            "{operation}"
        );
        assert!(now("chat_users_dynamodb_write_units_sum", &labels) > writes);
        if operation == "get-user" {
            assert!(now("chat_users_dynamodb_read_units_sum", &labels) > reads);
        }
    }
}

#[tokio::test]
async fn rate_limit_refusals_count_per_operation_and_app() {
    let env = env().await;
    let app = env
        .new_app(AppChanges {
            rate_limits: Some(json!({"default": 1000, "/v4/user/get": 1})),
            ..Default::default()
        })
        .await;
    env.issue(&app, "alice").await;
    let refused_here = [("operation", "get-user"), ("app", app.app_key.as_str())];
    let before = now("chat_users_rate_limited_total", &refused_here);
    let answers_429 = [
        ("operation", "get-user"),
        ("status", "429"),
        ("code", "1008"),
    ];
    let answered_429 = now(CALLS, &answers_429);
    let mut refused = 0.0;
    for _ in 0..6 {
        let response = env
            .call(&app, "/v4/user/get", json!({"userId": "alice"}))
            .await;
        if response.outcome() == (429, 1008) {
            refused += 1.0;
        }
    }
    assert!(
        refused >= 1.0,
        "six calls in at most a few seconds to a limit of 1/s"
    );
    assert_eq!(
        now("chat_users_rate_limited_total", &refused_here) - before,
        refused
    );
    assert_eq!(now(CALLS, &answers_429) - answered_429, refused);
}

/// `GET path` on the local API: status line and body.
async fn get(addr: std::net::SocketAddr, path: &str) -> (String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: local\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.expect("read");
    let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
    (head.to_owned(), body.to_owned())
}

#[tokio::test]
async fn the_local_api_serves_prometheus_text_and_json() {
    let env = env().await;
    let app = env.dev_app().await;
    let addr = sockets::serve(&env).await;
    env.call(&app, "/v4/user/get", json!({"userId": "nobody"}))
        .await;
    // A refused connection is a call of `connect` too.
    let refused = sockets::connect(addr, "not-a-token").await.err();
    assert_eq!(refused.map(|(status, _)| status), Some(401));

    let (head, text) = get(addr, "/metrics").await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/plain"),
        "{head}"
    );
    assert!(
        text.contains("# TYPE chat_users_calls_total counter"),
        "{text}"
    );
    assert!(text.contains("# TYPE chat_users_call_duration_seconds histogram"));
    assert!(
        value(
            &text,
            CALLS,
            &[("operation", "get-user"), ("status", "404")]
        ) >= 1.0
    );
    assert!(value(&text, CALLS, &[("operation", "connect"), ("status", "401")]) >= 1.0);

    let (head, body) = get(addr, "/metrics/json").await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let json: Value = serde_json::from_str(&body).expect("JSON");
    let samples = json["metrics"].as_array().expect("a list of samples");
    assert!(samples.iter().any(|s| s["name"] == CALLS
        && s["labels"]["operation"] == "get-user"
        && s["value"].as_f64() >= Some(1.0)));
    // No label carries a user id.
    assert!(!text.contains("nobody"));
}
