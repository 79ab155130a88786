//! Every Server API operation under DynamoDB's transient failures (throttling, 5xx, conflicts,
//! cancelled transactions), a lagging index and slow answers, injected at every step of the
//! operation in turn: the answer is the retryable 504/1050 (transient failures only) or what the
//! same request answers without the fault; never a refusal (401/403/404) or a 500 caused by the
//! fault; and the friendships and counted lists stay consistent.

use std::collections::{BTreeMap, BTreeSet};

use integration_tests::faults::Fault;
use serde_json::Value;
use shared::access::VerifyError;
use shared::error::ApiError;

/// Fault → the `(status, code)` answers an operation gave over every step.
type Row = BTreeMap<String, BTreeSet<(u16, i64)>>;

#[tokio::test]
async fn transient_failures_at_every_step_answer_504_1050_or_the_unfaulted_answer() {
    let (env, injector) = integration_tests::faulty_env().await;
    let app = env.dev_app().await;
    for user in ["alice", "bob", "carol"] {
        env.issue(&app, user).await;
    }
    env.warm(&app);
    let operations = integration_tests::signed_operations();
    assert!(operations.len() >= 30, "{} operations", operations.len());
    let mut calls = 0;
    let mut wrong = Vec::new();
    let mut matrix: BTreeMap<&str, Row> = BTreeMap::new();
    for (name, path, body) in &operations {
        // How many DynamoDB requests the call sends without a fault.
        injector.arm(Fault::Throttling, usize::MAX);
        env.call(&app, path, body.clone()).await;
        let (steps, _) = injector.disarm();
        for step in 0..steps {
            for fault in Fault::ALL {
                injector.arm(fault, step);
                let faulted = env.call(&app, path, body.clone()).await;
                let (_, injected) = injector.disarm();
                let unfaulted = env.call(&app, path, body.clone()).await;
                calls += 1;
                let answer = faulted.outcome();
                matrix
                    .entry(name)
                    .or_default()
                    .entry(format!("{fault:?}"))
                    .or_default()
                    .insert(answer);
                // A lagging index or a slow answer never turns into an error: 504/1050 is for
                // DynamoDB's errors only.
                let acceptable = (fault.transient() && answer == (504, 1050))
                    || answer == (200, 0)
                    || answer == unfaulted.outcome();
                if !acceptable {
                    wrong.push(format!(
                        "{name}: {fault:?} from request {} ({injected} injected): {answer:?} {}, unfaulted {:?}",
                        step + 1,
                        faulted.body,
                        unfaulted.outcome()
                    ));
                }
            }
        }
    }
    println!(
        "fault matrix: {} operations, {calls} faulted calls",
        operations.len()
    );
    let faults: Vec<String> = Fault::ALL.iter().map(|f| format!("{f:?}")).collect();
    println!("| operation | {} |", faults.join(" | "));
    println!("|---|{}", "---|".repeat(faults.len()));
    for (name, row) in &matrix {
        let cells: Vec<String> = faults
            .iter()
            .map(|f| {
                let answers = row.get(f).cloned().unwrap_or_default();
                let answers: Vec<String> = answers
                    .iter()
                    .map(|(status, code)| format!("{status}/{code}"))
                    .collect();
                answers.join(", ")
            })
            .collect();
        println!("| {name} | {} |", cells.join(" | "));
    }
    // Whatever each fault interrupted, nothing is half-written: edges mutual and counted.
    integration_tests::invariants::Friendships::read(&env, &app)
        .await
        .assert_consistent(&app);
    // ... and every counted list equals its count tree.
    let items = env.app_items(&app.app_key).await;
    let now = env.state.clock.now_ms();
    let off = integration_tests::invariants::counted_lists_off(&items, &app.app_key, now);
    assert!(off.is_empty(), "counted lists: {off:#?}");
    let busy = matrix
        .values()
        .flat_map(|row| row.values())
        .filter(|answers| answers.contains(&(504, 1050)))
        .count();
    assert!(
        busy >= matrix.len() * Fault::ALL.len() / 2,
        "faults were not injected: {busy} cells answered 504/1050"
    );
    assert!(
        wrong.is_empty(),
        "{} wrong answers:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[tokio::test]
async fn connect_with_a_valid_token_is_never_refused_because_of_a_transient_failure() {
    let (env, injector) = integration_tests::faulty_env().await;
    let app = env.dev_app().await;
    let token = env.issue(&app, "alice").await;
    injector.arm(Fault::Throttling, usize::MAX);
    shared::connections::connect(&env.state, &token, "probe0", None)
        .await
        .expect("connects without faults");
    let (steps, _) = injector.disarm();
    let mut answers = BTreeSet::new();
    for step in 0..steps {
        for fault in Fault::ALL {
            injector.arm(fault, step);
            let id = format!("c{step}{}", uuid::Uuid::new_v4().simple());
            let result = shared::connections::connect(&env.state, &token, &id, None).await;
            injector.disarm();
            match result {
                Ok(_) => answers.insert("connected"),
                Err(VerifyError::Store(ApiError::Busy)) if fault.transient() => {
                    answers.insert("busy (504/1050)")
                }
                Err(other) => panic!("{fault:?} from request {}: {other:?}", step + 1),
            };
        }
    }
    assert!(answers.contains("busy (504/1050)"), "{answers:?}");
}

#[tokio::test]
async fn a_dynamodb_that_never_answers_is_504_1050_within_the_operation_timeout() {
    // A listener that accepts connections and never answers: every attempt times out.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let sdk_config = shared::state::sdk_config(Some(&format!("http://{address}"))).await;
    let state = shared::State::new(
        aws_sdk_dynamodb::Client::new(&sdk_config),
        "chat-users-silent".into(),
        "silent-dynamodb-token-secret-0123456789".into(),
        std::time::Duration::from_secs(30),
    )
    .expect("state");
    let functions =
        local_api::functions::Functions::new(state, local_api::functions::Iam::Enforced)
            .expect("functions");
    let mut request = integration_tests::post(
        "/v4/user/get",
        serde_json::json!({"userId": "alice"}).to_string(),
    );
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    integration_tests::sign_headers(request.headers_mut(), "someapp", "some-secret", now_ms);
    let started = std::time::Instant::now();
    let response = local_api::router::all()
        .dispatch(&functions, request, integration_tests::ADMIN_TOKEN)
        .await;
    let elapsed = started.elapsed();
    let body: Value = serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null);
    assert_eq!(
        (response.status().as_u16(), body["code"].as_i64()),
        (504, Some(1050)),
        "{body}"
    );
    // The client's operation timeout (8 s) bounds the wait, whatever the retries.
    assert!(elapsed < std::time::Duration::from_secs(12), "{elapsed:?}");
}
