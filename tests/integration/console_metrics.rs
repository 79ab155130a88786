//! The Console's metrics read, `POST /console/v1/metrics/get`, against the local API's sampled
//! recorder: what calls made through the harness did shows in its series at once (each read
//! takes a sample). Tests compare reads before and after their own calls.

use integration_tests::{Env, env, faulty_env};
use serde_json::{Value, json};
use shared::apps::AppChanges;

const PATH: &str = "/console/v1/metrics/get";

/// A successful read's `result`.
async fn metrics(env: &Env, body: Value) -> Value {
    let response = env.console(PATH, body).await;
    assert_eq!(response.outcome(), (200, 0), "{}", response.body);
    response.body["result"].clone()
}

fn points<'a>(result: &'a Value, name: &str) -> &'a [Value] {
    result["series"]
        .as_array()
        .and_then(|all| all.iter().find(|s| s["name"] == name))
        .and_then(|s| s["points"].as_array())
        .map_or(&[], Vec::as_slice)
}

/// A series' values added up over the window.
fn total(result: &Value, name: &str) -> f64 {
    points(result, name)
        .iter()
        .filter_map(|p| p[1].as_f64())
        .sum()
}

#[tokio::test]
async fn calls_and_one_apps_refusals_show_in_the_series() {
    let env = env().await;
    let limited = env
        .new_app(AppChanges {
            rate_limits: Some(json!({"default": 1000, "/v4/user/get": 1})),
            ..Default::default()
        })
        .await;
    let other = env.dev_app().await;
    for app in [&limited, &other] {
        env.issue(app, "alice").await;
    }
    let all_before = metrics(&env, json!({})).await;
    let limited_before = metrics(&env, json!({"appKey": limited.app_key})).await;
    let other_before = metrics(&env, json!({"appKey": other.app_key})).await;

    let mut refused = 0.0;
    for _ in 0..6 {
        let response = env
            .call(&limited, "/v4/user/get", json!({"userId": "alice"}))
            .await;
        if response.outcome() == (429, 1008) {
            refused += 1.0;
        }
    }
    for _ in 0..2 {
        let response = env
            .call(&other, "/v4/user/get", json!({"userId": "alice"}))
            .await;
        assert_eq!(response.outcome(), (200, 0), "{}", response.body);
    }
    assert!(refused >= 1.0, "six calls within seconds to a limit of 1/s");

    let limited_after = metrics(&env, json!({"appKey": limited.app_key})).await;
    let other_after = metrics(&env, json!({"appKey": other.app_key})).await;
    let all_after = metrics(&env, json!({})).await;
    let grown =
        |after: &Value, before: &Value, name: &str| total(after, name) - total(before, name);
    assert!(
        grown(&all_after, &all_before, "calls") >= 8.0,
        "the eight calls are counted"
    );
    assert_eq!(
        grown(&limited_after, &limited_before, "rateLimited"),
        refused,
        "the limited app's refusals"
    );
    assert_eq!(
        grown(&other_after, &other_before, "rateLimited"),
        0.0,
        "another app's refusals are not this app's"
    );
    assert!(grown(&all_after, &all_before, "rateLimited") >= refused);
    // A 429 is no error.
    assert_eq!(grown(&all_after, &all_before, "errors"), 0.0);
}

#[tokio::test]
async fn answers_of_5xx_are_errors() {
    use integration_tests::faults::Fault;
    let (env, injector) = faulty_env().await;
    let app = env.dev_app().await;
    env.issue(&app, "alice").await;
    env.warm(&app);
    let before = metrics(&env, json!({})).await;
    injector.arm(Fault::InternalServerError, 0);
    let failed = env
        .call(&app, "/v4/user/get", json!({"userId": "alice"}))
        .await;
    injector.disarm();
    assert_eq!(failed.outcome(), (504, 1050), "{}", failed.body);
    let after = metrics(&env, json!({})).await;
    assert_eq!(total(&after, "errors") - total(&before, "errors"), 1.0);
}

#[tokio::test]
async fn the_window_is_whole_periods_oldest_first_with_latency_percentiles() {
    let env = env().await;
    let app = env.dev_app().await;
    env.issue(&app, "alice").await;
    for _ in 0..3 {
        env.call(&app, "/v4/user/get", json!({"userId": "alice"}))
            .await;
    }
    let hour = metrics(&env, json!({})).await;
    assert_eq!(hour["periodSeconds"], 60, "{hour}");
    let (from, to) = (hour["from"].as_i64().unwrap(), hour["to"].as_i64().unwrap());
    assert_eq!(to - from, 3_600_000);
    assert_eq!(points(&hour, "calls").len(), 60, "a count in every period");

    // Five minutes at the sampler's 10 s.
    let recent = metrics(&env, json!({"minutes": 5, "appKey": app.app_key})).await;
    assert_eq!(recent["periodSeconds"], 10);
    let (from, to) = (
        recent["from"].as_i64().unwrap(),
        recent["to"].as_i64().unwrap(),
    );
    assert_eq!((to - from, from % 10_000), (300_000, 0));
    let calls = points(&recent, "calls");
    assert_eq!(calls.len(), 30);
    let starts: Vec<i64> = calls.iter().filter_map(|p| p[0].as_i64()).collect();
    let expected: Vec<i64> = (0..30).map(|i| from + i * 10_000).collect();
    assert_eq!(starts, expected, "oldest first, one per period");
    assert!(total(&recent, "calls") >= 4.0);

    let names: Vec<&str> = (recent["series"].as_array().unwrap().iter())
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "calls",
            "errors",
            "latencyP50",
            "latencyP99",
            "rateLimited",
            "webhookLagP99",
            "webhookFailed"
        ]
    );
    let p50 = points(&recent, "latencyP50");
    let p99 = points(&recent, "latencyP99");
    assert!(!p99.is_empty(), "the calls had durations: {recent}");
    assert_eq!(p50.len(), p99.len());
    for (median, high) in p50.iter().zip(p99) {
        assert_eq!(median[0], high[0]);
        let (median, high) = (median[1].as_f64().unwrap(), high[1].as_f64().unwrap());
        assert!(
            0.0 < median && median <= high && high <= 10.0,
            "{median} {high}"
        );
    }
    let units: Vec<(&str, &str)> = (recent["series"].as_array().unwrap().iter())
        .filter_map(|s| Some((s["name"].as_str()?, s["unit"].as_str()?)))
        .collect();
    assert!(units.contains(&("latencyP99", "seconds")));
    assert!(units.contains(&("calls", "count")));
    // No webhook was delivered here: no lag to take a percentile of.
    assert!(points(&recent, "webhookLagP99").is_empty());
}

#[tokio::test]
async fn bad_input_is_refused_and_reads_nothing() {
    let env = env().await;
    let reads = local_api::metrics::reads();
    let refused = [
        (json!({"minutes": 4}), 1002, "minutes"),
        (json!({"minutes": 1441}), 1005, "minutes"),
        (json!({"minutes": "60"}), 1002, "minutes"),
        (json!({"minutes": -5}), 1002, "minutes"),
        (json!({"appKey": "not a key"}), 1002, "appKey"),
        (json!({"appKey": 7}), 1002, "appKey"),
        (json!({"window": 5}), 1002, "window"),
    ];
    for (body, code, field) in refused {
        let response = env.console(PATH, body.clone()).await;
        assert_eq!(response.outcome(), (400, code), "{body}: {}", response.body);
        let message = response.body["errorMessage"].as_str().unwrap_or_default();
        assert!(message.contains(field), "{body}: {message}");
    }
    assert_eq!(local_api::metrics::reads(), reads, "nothing was read");
}

/// Only the metrics function may read metrics (its policy grants `cloudwatch:GetMetricData`,
/// and its `main` installs the CloudWatch source); another container's read is denied as
/// CloudWatch would deny it.
#[tokio::test]
async fn only_the_metrics_function_reads_metrics() {
    use local_api::iam::Policy;
    use local_api::template::Template;
    let template = Template::shipped().expect("template.yaml");
    for function in &template.functions {
        let binary = function.binary.as_str();
        let main = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../functions")
                .join(binary)
                .join("src/main.rs"),
        )
        .expect("main.rs");
        let reads = binary == "get-metrics";
        assert_eq!(main.contains("::run_metrics_reading("), reads, "{binary}");
        let policy = Policy::of(function, "t");
        assert_eq!(
            policy.allows("cloudwatch:GetMetricData", "*"),
            reads,
            "{binary}: may read metrics iff it is the metrics function"
        );
    }
    // It reads metrics only: nothing of the table.
    let get_metrics = Policy::of(template.function("get-metrics").expect("get-metrics"), "t");
    let table = local_api::iam::table_arn("t");
    for action in ["GetItem", "Query", "PutItem", "UpdateItem"] {
        assert!(
            !get_metrics.allows(&format!("dynamodb:{action}"), &table),
            "{action}"
        );
    }

    let env = env().await;
    let query = shared::metrics::read::Query::last(
        5,
        env.state.clock.now_ms(),
        std::time::Duration::from_secs(10),
        None,
    );
    let get_user = env.function("get-user");
    let source = get_user
        .metrics_source
        .get()
        .expect("every container has a source");
    let denied = source
        .read(&query)
        .await
        .expect_err("get-user may not read metrics");
    assert!(
        matches!(&denied, shared::ApiError::Internal(detail) if detail.contains("AccessDenied")),
        "{denied:?}"
    );
}
