//! What AWS enforces and the local stack now enforces too: each function's IAM policy from
//! `template.yaml`, and one container (own client, own app cache) per function.

use aws_sdk_dynamodb::types::AttributeValue;
use integration_tests::{Env, env, post, sign_headers};
use serde_json::{Value, json};
use shared::access::{Rejection, VerifyError};
use shared::apps::App;

async fn ok(env: &Env, app: &App, path: &str, body: Value) -> Value {
    env.answered(app, path, body, &[0]).await
}

/// The purge's first read of a user's data is a `GetItem` (its hosted profile). With only the
/// actions its role allows, the purge must still remove everything: on AWS, a missing action
/// fails every record, ten retries later drops it, and no soft-deleted user is ever purged.
#[tokio::test]
async fn the_purge_completes_with_only_its_own_policy() {
    let env = env().await;
    let app = env.dev_app().await;
    for user in ["alice", "bob"] {
        env.issue(&app, user).await;
    }
    ok(
        &env,
        &app,
        "/v4/user/profile/set",
        json!({"userId": "alice", "userProfile": {"name": "Al"}}),
    )
    .await;
    ok(
        &env,
        &app,
        "/v4/friend/add",
        json!({"userId": "alice", "targetId": "bob", "action": 2}),
    )
    .await;
    ok(
        &env,
        &app,
        "/v4/user/blocklist/add",
        json!({"userId": "bob", "targetUserIds": ["alice"]}),
    )
    .await;
    let deleted = ok(
        &env,
        &app,
        "/v4/user/soft-delete",
        json!({"userIds": ["alice"]}),
    )
    .await;
    let operation_id = deleted["result"]["operationId"]
        .as_str()
        .expect("operationId");

    // The record the stream delivers, handled by the purge function's own container.
    let answer = env
        .deliver_to_purge(&Env::purge_record(&app, "alice", operation_id))
        .await;
    assert_eq!(answer, json!({"batchItemFailures": []}));
    let operation = env.wait_for_operation(&app, operation_id).await;
    assert_eq!(operation["users"][0]["status"], "done", "{operation}");
    let friends = ok(&env, &app, "/v4/friend/list", json!({"userId": "bob"})).await;
    assert_eq!(friends["result"]["totalCount"], 0, "{friends}");
    let profiles = ok(
        &env,
        &app,
        "/v4/user/profile/batch/get",
        json!({"userIds": ["alice"]}),
    )
    .await;
    assert_eq!(profiles["result"]["users"], json!([]));
}

/// A request outside a function's policy gets AWS's answer and changes nothing.
#[tokio::test]
async fn a_function_is_refused_what_its_policy_does_not_allow() {
    let env = env().await;
    let app = env.dev_app().await;
    env.issue(&app, "alice").await;
    let key = |pk: String, sk: &str| {
        std::collections::HashMap::from([
            ("PK".to_owned(), AttributeValue::S(pk)),
            ("SK".to_owned(), AttributeValue::S(sk.to_owned())),
        ])
    };
    let get_user = env.function("get-user");
    let err = get_user
        .db
        .delete_item()
        .table_name(&get_user.table)
        .set_key(Some(key(format!("APP#{}#U#alice", app.app_key), "USER")))
        .send()
        .await
        .expect_err("get-user may not delete");
    let status = err.raw_response().map(|r| r.status().as_u16());
    let code = err
        .as_service_error()
        .and_then(|e| aws_sdk_dynamodb::error::ProvideErrorMetadata::code(e).map(str::to_owned));
    assert_eq!(
        (status, code.as_deref()),
        (Some(400), Some("AccessDeniedException"))
    );
    let still = env
        .call(&app, "/v4/user/get", json!({"userId": "alice"}))
        .await;
    assert_eq!(still.outcome(), (200, 0), "{}", still.body);
    // An index needs its own resource: get-user's policy names the table only.
    let query = get_user
        .db
        .query()
        .table_name(&get_user.table)
        .index_name("GSI1")
        .key_condition_expression("GSI1PK = :p")
        .expression_attribute_values(":p", AttributeValue::S("x".into()))
        .send()
        .await;
    assert!(query.is_err(), "get-user may not query an index");
}

fn signed_with(
    path: &str,
    body: Value,
    app: &App,
    secret: &str,
    now_ms: i64,
) -> shared::lambda_http::Request {
    let mut request = post(path, body.to_string());
    sign_headers(request.headers_mut(), &app.app_key, secret, now_ms);
    request
}

/// After a rotation in one function's container, no other container accepts the old secret for
/// a change, nor an old token at connect, although each still has the old app cached.
#[tokio::test]
async fn a_rotation_in_one_container_binds_every_other_at_once() {
    let env = env().await;
    // Connection ids are global, as API Gateway's are.
    let connection = |name: &str| format!("{name}{}", uuid::Uuid::new_v4().simple());
    let app = env.dev_app().await;
    let old_token = env.issue(&app, "alice").await;
    // Warm containers: connect and update-user have the app (old secret) cached.
    env.warm(&app);
    let connect = env.function("connect");
    let warmup = connection("warmup");
    shared::connections::connect(&connect, &old_token, &warmup, None)
        .await
        .expect("the old token connects before the rotation");
    shared::connections::disconnect(&env.function("disconnect"), &warmup)
        .await
        .expect("disconnect");
    let update = |secret: &str, name: &str| {
        signed_with(
            "/v4/user/update",
            json!({"userId": "alice", "name": name}),
            &app,
            secret,
            env.state.clock.now_ms(),
        )
    };
    let before = env.send(update(&app.app_secret, "Before")).await;
    assert_eq!(before.outcome(), (200, 0), "{}", before.body);

    let rotated = env
        .console(
            "/console/v1/apps/rotate-secret",
            json!({"appKey": app.app_key}),
        )
        .await;
    assert_eq!(rotated.outcome(), (200, 0), "{}", rotated.body);
    let new_secret = rotated.body["result"]["appSecret"]
        .as_str()
        .expect("new secret")
        .to_owned();
    assert!(
        env.function("update-user")
            .apps
            .peek(&app.app_key)
            .is_some_and(|cached| cached.app_secret == app.app_secret),
        "update-user's container still caches the old secret"
    );

    let refused = env.send(update(&app.app_secret, "Stale")).await;
    assert_eq!(refused.outcome(), (401, 1004), "{}", refused.body);
    // A read trusts its container's cached app, for at most the cache's TTL
    // (docs/API-DECISIONS.md): it costs its own request only.
    let stale_read = env
        .send(signed_with(
            "/v4/user/get",
            json!({"userId": "alice"}),
            &app,
            &app.app_secret,
            env.state.clock.now_ms(),
        ))
        .await;
    assert_eq!(stale_read.outcome(), (200, 0), "{}", stale_read.body);
    let got = env
        .send(signed_with(
            "/v4/user/get",
            json!({"userId": "alice"}),
            &app,
            &new_secret,
            env.state.clock.now_ms(),
        ))
        .await;
    assert_eq!(
        got.outcome(),
        (200, 0),
        "the new secret works at once: {}",
        got.body
    );
    assert_eq!(
        got.body["result"]["name"], "Before",
        "the old secret changed nothing"
    );
    let after = env.send(update(&new_secret, "After")).await;
    assert_eq!(after.outcome(), (200, 0), "{}", after.body);

    let refused =
        shared::connections::connect(&connect, &old_token, &connection("stale"), None).await;
    assert!(
        matches!(refused, Err(VerifyError::Rejected(Rejection::Invalid))),
        "{refused:?}"
    );
    let rotated_app = App {
        app_secret: new_secret,
        ..app.clone()
    };
    let new_token = env.issue(&rotated_app, "alice").await;
    shared::connections::connect(&connect, &new_token, &connection("fresh"), None)
        .await
        .expect("a new token connects");
}

/// The token-signing secret is read where it is used, and only there: a function that signs or
/// checks no token holds no grant to read it, and its container is refused (as IAM refuses
/// `GetSecretValue`) if it ever tries; one that pages with signed tokens reads it at first use.
#[tokio::test]
async fn only_the_functions_that_sign_or_check_tokens_may_read_the_secret() {
    let env = env().await;
    for function in ["get-user", "ban-users", "soft-delete-users", "get-metrics"] {
        let container = env.function(function);
        match container.token_secret.get().await {
            Err(shared::ApiError::Internal(detail)) => assert!(
                detail.contains("not authorized to perform: secretsmanager:GetSecretValue"),
                "{function}: {detail}"
            ),
            other => panic!("{function} read the secret without the grant: {other:?}"),
        }
    }
    for function in ["issue-access-token", "connect", "list-friends", "list-apps"] {
        let container = env.function(function);
        let secret = container.token_secret.get().await;
        assert!(secret.is_ok_and(|s| !s.is_empty()), "{function}");
    }
    // A function without the grant still answers its calls: it never needed the secret.
    let app = env.dev_app().await;
    env.issue(&app, "alice").await;
    ok(&env, &app, "/v4/user/get", json!({"userId": "alice"})).await;
}
