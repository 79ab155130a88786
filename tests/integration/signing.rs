//! The signing check of every Server API request.

use integration_tests::{env, logged_env, post, sign_headers};
use serde_json::json;
use shared::apps::{AppChanges, AppStatus};
use shared::auth::WINDOW_MS;
use shared::replay::Placement;

const GET: &str = "/v4/user/get";

#[tokio::test]
async fn a_signed_request_passes_and_echoes_the_request_id() {
    let env = env().await;
    let app = env.dev_app().await;
    env.issue(&app, "alice").await;
    let mut request = env.signed(&app, GET, &json!({"userId": "alice"}));
    request
        .headers_mut()
        .insert("x-request-id", "trace-42".parse().unwrap());
    let response = env.send(request).await;
    assert_eq!(response.outcome(), (200, 0));
    assert_eq!(response.headers["x-request-id"], "trace-42");
    assert_eq!(
        response.headers["content-type"],
        "application/json; charset=utf-8"
    );
    let generated = env.call(&app, GET, json!({"userId": "alice"})).await;
    assert_eq!(generated.headers["x-request-id"].len(), 36);
}

#[tokio::test]
async fn rc_prefixed_headers_are_accepted() {
    let env = env().await;
    let app = env.dev_app().await;
    let mut request = post(
        "/v4/auth/access-token/issue",
        json!({"userId": "bob", "name": "Bob"}).to_string(),
    );
    let mut plain = request.headers().clone();
    sign_headers(
        &mut plain,
        &app.app_key,
        &app.app_secret,
        env.state.clock.now_ms(),
    );
    for name in ["app-key", "nonce", "timestamp", "signature"] {
        request.headers_mut().insert(
            format!("rc-{name}")
                .parse::<shared::lambda_http::http::HeaderName>()
                .unwrap(),
            plain[name].clone(),
        );
    }
    assert_eq!(env.send(request).await.outcome(), (200, 0));
}

#[tokio::test]
async fn missing_headers_wrong_secret_and_unknown_app_are_refused() {
    let env = env().await;
    let app = env.dev_app().await;
    let body = json!({"userId": "carol", "name": "Carol"}).to_string();
    let path = "/v4/auth/access-token/issue";

    let unsigned = env.send(post(path, body.clone())).await;
    assert_eq!(unsigned.outcome(), (401, 1004));

    for missing in ["app-key", "nonce", "timestamp", "signature"] {
        let mut request = post(path, body.clone());
        env.sign(&mut request, &app);
        request.headers_mut().remove(missing);
        assert_eq!(
            env.send(request).await.outcome(),
            (401, 1004),
            "without {missing}"
        );
    }

    let mut wrong = post(path, body.clone());
    sign_headers(
        wrong.headers_mut(),
        &app.app_key,
        "not-the-secret",
        env.state.clock.now_ms(),
    );
    assert_eq!(env.send(wrong).await.outcome(), (401, 1004));

    let mut unknown = post(path, body.clone());
    sign_headers(
        unknown.headers_mut(),
        "nosuchapp0000000",
        &app.app_secret,
        env.state.clock.now_ms(),
    );
    assert_eq!(env.send(unknown).await.outcome(), (401, 1001));

    assert_eq!(
        env.user_count(&app.app_key).await,
        0,
        "nothing was registered"
    );
    assert!(
        env.app_items(&app.app_key).await.len() == 1,
        "only the app record exists"
    );
}

#[tokio::test]
async fn stale_and_future_timestamps_are_refused() {
    let env = env().await;
    let app = env.dev_app().await;
    for offset in [-WINDOW_MS - 1_000, WINDOW_MS + 1_000] {
        let mut request = post(GET, json!({"userId": "dave"}).to_string());
        sign_headers(
            request.headers_mut(),
            &app.app_key,
            &app.app_secret,
            env.state.clock.now_ms() + offset,
        );
        assert_eq!(
            env.send(request).await.outcome(),
            (401, 1004),
            "offset {offset}"
        );
    }
    let mut edge = post(GET, json!({"userId": "dave"}).to_string());
    sign_headers(
        edge.headers_mut(),
        &app.app_key,
        &app.app_secret,
        env.state.clock.now_ms() - WINDOW_MS + 5_000,
    );
    assert_eq!(
        env.send(edge).await.outcome(),
        (404, 400),
        "inside the window: reaches the lookup"
    );
}

/// A read records no nonce: the same signed read sent twice is answered twice (it shows only
/// what the first answer showed), and it costs no write.
#[tokio::test]
async fn a_replayed_read_is_answered() {
    let env = env().await;
    let app = env.dev_app().await;
    env.issue(&app, "ivy").await;
    let first = env.signed(&app, GET, &json!({"userId": "ivy"}));
    let mut replay = post(GET, json!({"userId": "ivy"}).to_string());
    *replay.headers_mut() = first.headers().clone();
    let (first, replay) = (env.send(first).await, env.send(replay).await);
    assert_eq!(first.outcome(), (200, 0), "{}", first.body);
    assert_eq!(replay.outcome(), (200, 0), "{}", replay.body);
    assert_eq!(first.body["result"], replay.body["result"]);
    // ... while the same headers on a change are refused once used.
    let change = env.signed(
        &app,
        "/v4/user/update",
        &json!({"userId": "ivy", "name": "Ivy"}),
    );
    let mut again = post(
        "/v4/user/update",
        json!({"userId": "ivy", "name": "Mallory"}).to_string(),
    );
    *again.headers_mut() = change.headers().clone();
    assert_eq!(env.send(change).await.outcome(), (200, 0));
    assert_eq!(env.send(again).await.outcome(), (401, 1004));
    let user = env.call(&app, GET, json!({"userId": "ivy"})).await;
    assert_eq!(user.body["result"]["name"], "Ivy", "{}", user.body);
}

#[tokio::test]
async fn a_replayed_nonce_is_refused_and_changes_nothing() {
    let env = env().await;
    let app = env.dev_app().await;
    let first = env.signed(
        &app,
        "/v4/auth/access-token/issue",
        &json!({"userId": "erin", "name": "Erin"}),
    );
    let mut replay = post(
        "/v4/auth/access-token/issue",
        json!({"userId": "frank", "name": "Frank"}).to_string(),
    );
    *replay.headers_mut() = first.headers().clone();
    assert_eq!(env.send(first).await.outcome(), (200, 0));
    assert_eq!(env.send(replay).await.outcome(), (401, 1004));
    assert_eq!(env.user_count(&app.app_key).await, 1);
    let frank = env.call(&app, GET, json!({"userId": "frank"})).await;
    assert_eq!(
        frank.outcome(),
        (404, 400),
        "the replayed request registered nobody"
    );
}

#[tokio::test]
async fn an_offline_app_is_refused_and_a_rotated_secret_works_at_once() {
    let env = env().await;
    let app = env
        .new_app(AppChanges {
            status: Some(AppStatus::Offline),
            ..Default::default()
        })
        .await;
    assert_eq!(
        env.call(&app, GET, json!({"userId": "gina"}))
            .await
            .outcome(),
        (403, 1006)
    );

    let app = env.dev_app().await;
    assert_eq!(
        env.call(&app, GET, json!({"userId": "gina"}))
            .await
            .outcome(),
        (404, 400),
        "app now cached"
    );
    let rotated = env
        .console(
            "/console/v1/apps/rotate-secret",
            json!({"appKey": app.app_key}),
        )
        .await;
    assert_eq!(rotated.outcome(), (200, 0));
    let new_secret = rotated.body["result"]["appSecret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(new_secret, app.app_secret);
    // A container that cached the old secret refreshes once on a mismatch.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let renewed = shared::apps::App {
        app_secret: new_secret,
        ..app.clone()
    };
    assert_eq!(
        env.call(&renewed, GET, json!({"userId": "gina"}))
            .await
            .outcome(),
        (404, 400)
    );
}

#[tokio::test]
async fn only_post_is_allowed_and_unknown_paths_are_404() {
    let env = env().await;
    let app = env.dev_app().await;
    let mut request = env.signed(&app, GET, &json!({"userId": "hal"}));
    *request.method_mut() = shared::lambda_http::http::Method::GET;
    assert_eq!(env.send(request).await.outcome(), (405, 405));
    assert_eq!(
        env.call(&app, "/v4/user/nope", json!({})).await.outcome(),
        (404, 404)
    );
}

#[tokio::test]
async fn the_console_needs_the_admin_token() {
    let env = env().await;
    let response = env.send(post("/console/v1/apps/create", "{}")).await;
    // What API Gateway's JWT authorizer answers (console_auth.rs tests every route).
    assert_eq!(
        (response.status, response.body),
        (401, json!({"message": "Unauthorized"}))
    );
    let created = env
        .console(
            "/console/v1/apps/create",
            json!({"environment": "production", "plan": "pro"}),
        )
        .await;
    assert_eq!(created.outcome(), (200, 0));
    assert_eq!(created.body["result"]["userCap"], serde_json::Value::Null);
    assert_eq!(
        created.body["result"]["appSecret"].as_str().unwrap().len(),
        32
    );
    let bad = env
        .console(
            "/console/v1/apps/update",
            json!({"appKey": "nosuchapp", "plan": "gold"}),
        )
        .await;
    assert_eq!(bad.outcome(), (400, 1002));
    let missing = env
        .console("/console/v1/apps/get", json!({"appKey": "nosuchapp"}))
        .await;
    assert_eq!(missing.outcome(), (404, 1015));
}

#[tokio::test]
async fn timestamps_at_both_ends_of_the_64_bit_range_are_stale_not_a_panic() {
    let env = env().await;
    let app = env.dev_app().await;
    for timestamp in [i64::MIN, i64::MAX, -1, 0] {
        let mut request = post(GET, json!({"userId": "dave"}).to_string());
        sign_headers(
            request.headers_mut(),
            &app.app_key,
            &app.app_secret,
            timestamp,
        );
        assert_eq!(
            env.send(request).await.outcome(),
            (401, 1004),
            "{timestamp}"
        );
    }
}

/// The operations that change nothing (`READ_ONLY`): a replay is answered as the first call was.
const READS: &[&str] = &[
    "batch-get-user-profiles",
    "batch-get-user-tags",
    "check-dm-permission",
    "get-friend-permission",
    "get-friend-relationships",
    "get-operation",
    "get-user",
    "get-user-blocklist",
    "get-user-connection-status",
    "list-banned-users",
    "list-channel-type-mute",
    "list-friend-requests",
    "list-friends",
    "list-soft-deleted-users",
    "list-webhook-deliveries",
];

/// Every signed operation's sample request (`events/`), sent, then sent again with the same
/// headers: a change is refused with 401/1004 whether its first call was answered or refused, and
/// wherever it records its nonce; a read is answered as before; and no replay changes the table.
/// The first call's requests show the nonce where the operation declares it: a `PutItem` beside
/// the app's `GetItem` before anything else, or nothing written before the first transaction
/// (which carries it) and, without one, a `PutItem` of the nonce last.
#[tokio::test]
async fn every_change_replayed_is_refused_and_changes_nothing() {
    let (env, log) = logged_env().await;
    let app = env.dev_app().await;
    for user in ["alice", "bob", "carol"] {
        env.issue(&app, user).await;
    }
    let sorted = |mut items: Vec<std::collections::HashMap<String, _>>| {
        let key = |item: &std::collections::HashMap<
            String,
            aws_sdk_dynamodb::types::AttributeValue,
        >| { format!("{:?}{:?}", item.get("PK"), item.get("SK")) };
        items.sort_by_key(key);
        items
    };
    const WRITES: &[&str] = &["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"];
    for (function, path, body) in integration_tests::signed_operations() {
        let placement = env.router.nonce_placement(&path);
        assert_eq!(
            placement.is_none(),
            READS.contains(&function.as_str()),
            "{function}: read-only as the contract says"
        );
        let first = env.signed(&app, &path, &body);
        let mut replay = post(&path, body.to_string());
        *replay.headers_mut() = first.headers().clone();
        log.take();
        let first = env.send(first).await;
        // Every call counts against the app's limit: from its container's lease, or with one
        // count sent before anything but the app's read (a container that has not cached it).
        let mut requests = log.take();
        let counted = requests
            .iter()
            .filter(|r| *r == integration_tests::RATE_COUNT)
            .count();
        assert!(
            counted <= 1,
            "{function}: counted once at most: {requests:?}"
        );
        if let Some(count) = requests
            .iter()
            .position(|r| r == integration_tests::RATE_COUNT)
        {
            assert!(
                requests[..count].iter().all(|r| r == "GetItem"),
                "{function}: the count before the call's own requests: {requests:?}"
            );
            requests.remove(count);
        }
        match placement {
            Some(Placement::BesideAppCheck) => {
                let mut opening = requests.get(..2).unwrap_or_default().to_vec();
                opening.sort();
                assert_eq!(opening, ["GetItem", "PutItem"], "{function}: {requests:?}");
            }
            Some(Placement::InFirstTransaction) => {
                let first_write = requests
                    .iter()
                    .position(|r| r == "TransactWriteItems" || WRITES.contains(&r.as_str()));
                match requests.iter().position(|r| r == "TransactWriteItems") {
                    Some(transaction) => assert_eq!(
                        first_write,
                        Some(transaction),
                        "{function}: nothing written before the transaction carrying the nonce: {requests:?}"
                    ),
                    None => assert_eq!(
                        (first_write, requests.last().map(String::as_str)),
                        (Some(requests.len() - 1), Some("PutItem")),
                        "{function}: no transaction, the nonce recorded last: {requests:?}"
                    ),
                }
            }
            None => assert!(
                !requests
                    .iter()
                    .any(|r| r == "TransactWriteItems" || WRITES.contains(&r.as_str())),
                "{function}: a read writes nothing: {requests:?}"
            ),
        }
        let before = sorted(env.app_items(&app.app_key).await);
        let replayed = env.send(replay).await;
        let after = sorted(env.app_items(&app.app_key).await);
        if placement.is_none() {
            assert_eq!(
                (replayed.outcome(), &replayed.body),
                (first.outcome(), &first.body),
                "{function}: a replayed read is answered as before"
            );
        } else {
            assert_eq!(
                replayed.outcome(),
                (401, 1004),
                "{function} (first answered {:?}): {}",
                first.outcome(),
                replayed.body
            );
        }
        assert!(before == after, "{function}: the replay changed the table");
    }
}

/// A change whose nonce rides in its transaction, sent twice at once: one copy commits, the
/// other is refused by the nonce inside the same transaction, and the change happens once.
#[tokio::test]
async fn two_copies_of_a_change_sent_at_once_change_it_once() {
    let env = env().await;
    let app = env.dev_app().await;
    for user in ["alice", "bob"] {
        env.issue(&app, user).await;
    }
    let path = "/v4/user/blocklist/add";
    let body = json!({"userId": "alice", "targetUserIds": ["bob"]});
    let first = env.signed(&app, path, &body);
    let mut copy = post(path, body.to_string());
    *copy.headers_mut() = first.headers().clone();
    let (a, b) = tokio::join!(env.send(first), env.send(copy));
    let mut outcomes = [a.outcome(), b.outcome()];
    outcomes.sort();
    assert_eq!(outcomes, [(200, 0), (401, 1004)], "{} {}", a.body, b.body);
    let list = env
        .call(&app, "/v4/user/blocklist/get", json!({"userId": "alice"}))
        .await;
    assert_eq!(
        list.body["result"]["blockedUserIds"],
        json!(["bob"]),
        "{}",
        list.body
    );
}

/// A nonce put whose answer is lost (it was recorded, the attempt timed out) is retried by the
/// SDK: the retry finds the request's own record, and the change is answered, not refused as a
/// replay.
#[tokio::test]
async fn a_retried_nonce_put_is_not_its_own_replay() {
    let lost = integration_tests::faults::LostAnswer::new("PutItem", "#NONCE#");
    let interceptor = lost.clone();
    let env = integration_tests::env_with(|config| config.interceptor(interceptor)).await;
    let app = env.dev_app().await;
    env.warm(&app);
    let issued = env
        .call(
            &app,
            "/v4/auth/access-token/issue",
            json!({"userId": "retried", "name": "R"}),
        )
        .await;
    assert_eq!(lost.lost(), 1, "the nonce put's answer was lost once");
    assert_eq!(issued.outcome(), (200, 0), "{}", issued.body);
}
