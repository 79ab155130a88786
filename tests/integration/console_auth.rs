//! Console sign-in on the local API: every console route refuses a call without a valid
//! credential the way API Gateway's JWT authorizer refuses it when deployed (401
//! `{"message":"Unauthorized"}`, before any function runs), and admits the admin token and a live
//! session. The routes are read from the router, so a console route is covered as soon as it is
//! served.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use integration_tests::{ADMIN_TOKEN, Env, env, post};
use local_api::console_session::{ConsoleAuth, ConsoleGate};
use local_api::router::Access;
use local_api::server::{LocalApi, SESSION_PATH, SIGN_OUT_PATH};
use serde_json::{Value, json};
use shared::lambda_http::http::HeaderValue;

/// Short, so a test can outlive a session.
const SESSION_LIFETIME: Duration = Duration::from_secs(1);
/// Comfortably past [`SESSION_LIFETIME`].
const PAST_EXPIRY: Duration = Duration::from_millis(1300);

fn unauthorized() -> Value {
    json!({"message": "Unauthorized"})
}

fn console_paths(env: &Env) -> Vec<&'static str> {
    env.router
        .paths()
        .into_iter()
        .filter(|(_, access)| *access == Access::Console)
        .map(|(path, _)| path)
        .collect()
}

/// `path` through the router with `authorization`, guarded by `gate`. The body is not JSON, so a
/// call that is let in stops at the handler's parsing and changes nothing.
async fn dispatch(
    env: &Env,
    gate: &(impl ConsoleGate + ?Sized),
    path: &str,
    authorization: Option<&str>,
) -> (u16, Value) {
    let mut request = post(path, "{not json");
    if let Some(authorization) = authorization {
        let value = HeaderValue::from_str(authorization).expect("a header value");
        request.headers_mut().insert("authorization", value);
    }
    let response = env.router.dispatch(&env.functions, request, gate).await;
    let body = serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null);
    (response.status().as_u16(), body)
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[tokio::test]
async fn every_console_route_refuses_a_call_without_a_valid_credential() {
    let env = env().await;
    let paths = console_paths(&env);
    // The six routes the console started with are among them: the list is the router's.
    for known in [
        "/console/v1/apps/create",
        "/console/v1/apps/get",
        "/console/v1/apps/update",
        "/console/v1/apps/rotate-secret",
        "/console/v1/apps/rotate-webhook-secret",
        "/console/v1/apps/delete-test-user",
    ] {
        assert!(paths.contains(&known), "{known} not among {paths:?}");
    }

    let auth = ConsoleAuth::new(ADMIN_TOKEN, SESSION_LIFETIME);
    let expired = auth.create_session().expect("a session").token;
    let signed_out = auth.create_session().expect("a session").token;
    let mut headers = shared::lambda_http::http::HeaderMap::new();
    headers.insert(
        "authorization",
        HeaderValue::from_str(&bearer(&signed_out)).expect("a header value"),
    );
    assert!(auth.revoke_session(&headers));
    tokio::time::sleep(PAST_EXPIRY).await;

    for path in paths {
        let refused = [
            ("no token", None),
            ("a wrong token", Some(bearer("not-the-admin-token"))),
            ("an empty bearer", Some("Bearer ".to_owned())),
            (
                "the admin token, not as a bearer",
                Some(ADMIN_TOKEN.to_owned()),
            ),
            ("an expired session", Some(bearer(&expired))),
            ("a signed-out session", Some(bearer(&signed_out))),
        ];
        for (what, authorization) in refused {
            assert_eq!(
                dispatch(&env, &auth, path, authorization.as_deref()).await,
                (401, unauthorized()),
                "{path} with {what}"
            );
        }
        // Made now, so it is alive whatever the time the routes before took.
        let live = auth.create_session().expect("a session").token;
        for (what, token) in [
            ("a live session", live.as_str()),
            ("the admin token", ADMIN_TOKEN),
        ] {
            let (status, body) = dispatch(&env, &auth, path, Some(&bearer(token))).await;
            assert!(
                status != 401 && body["code"].is_i64(),
                "{path} with {what}: the function should have answered, got {status} {body}"
            );
        }
    }
}

/// What a deployment's tooling (tests, benchmarks) passes when it makes no sessions: the admin
/// token alone, and `""`, which admits nothing.
#[tokio::test]
async fn a_bare_admin_token_admits_only_itself_and_an_empty_one_nothing() {
    let env = env().await;
    let path = "/console/v1/apps/get";
    let (status, body) = dispatch(&env, ADMIN_TOKEN, path, Some(&bearer(ADMIN_TOKEN))).await;
    assert!(status != 401 && body["code"].is_i64(), "{status} {body}");
    let other = ConsoleAuth::new(ADMIN_TOKEN, SESSION_LIFETIME);
    let session = other.create_session().expect("a session").token;
    for (gate, token) in [(ADMIN_TOKEN, session.as_str()), ("", ""), ("", ADMIN_TOKEN)] {
        assert_eq!(
            dispatch(&env, gate, path, Some(&bearer(token))).await,
            (401, unauthorized()),
            "gate {gate:?}, token {token:?}"
        );
    }
}

/// An answer of the local API over HTTP.
struct Answer {
    status: u16,
    head: String,
    body: Value,
}

/// One HTTP/1.1 request to the local API at `addr`.
async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    authorization: Option<&str>,
    body: &str,
) -> Answer {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let authorization = authorization
        .map(|value| format!("Authorization: {value}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: local\r\nConnection: close\r\n{authorization}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("send");
    stream.write_all(body.as_bytes()).await.expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.expect("read");
    let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("a status line");
    Answer {
        status,
        head: head.to_ascii_lowercase(),
        body: serde_json::from_str(body).unwrap_or(Value::Null),
    }
}

fn now_ms() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970");
    i64::try_from(since.as_millis()).expect("ms in an i64")
}

async fn sign_in(addr: SocketAddr) -> String {
    let answer = request(addr, "POST", SESSION_PATH, Some(&bearer(ADMIN_TOKEN)), "").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body["sessionToken"]
        .as_str()
        .expect("a session token")
        .to_owned()
}

#[tokio::test]
async fn a_session_is_made_with_the_admin_token_used_and_ended_by_sign_out_or_expiry() {
    let env = env().await;
    let console = Arc::new(ConsoleAuth::new(ADMIN_TOKEN, SESSION_LIFETIME));
    let api = LocalApi::with_console(
        env.functions.clone(),
        Arc::new(local_api::router::all()),
        console,
    );
    let (addr, server) = api
        .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("bind");
    let get_app = |token: String| async move {
        let body = json!({"appKey": "nosuchapp"}).to_string();
        request(
            addr,
            "POST",
            "/console/v1/apps/get",
            Some(&bearer(&token)),
            &body,
        )
        .await
    };

    // Only the admin token makes a session.
    for authorization in [None, Some(bearer("not-the-admin-token"))] {
        let refused = request(addr, "POST", SESSION_PATH, authorization.as_deref(), "").await;
        assert_eq!((refused.status, refused.body), (401, unauthorized()));
    }
    let before_ms = now_ms();
    let made = request(addr, "POST", SESSION_PATH, Some(&bearer(ADMIN_TOKEN)), "{}").await;
    assert_eq!(made.status, 200, "{}", made.body);
    assert!(
        made.head.contains("cache-control: no-store"),
        "{}",
        made.head
    );
    let token = made.body["sessionToken"]
        .as_str()
        .expect("a token")
        .to_owned();
    assert_eq!(token.len(), 64, "256 bits in hex");
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
    let expires_at = made.body["expiresAt"].as_i64().expect("expiresAt (ms)");
    let lifetime_ms = 1000;
    assert!(
        (before_ms + lifetime_ms..=now_ms() + lifetime_ms).contains(&expires_at),
        "{expires_at}"
    );
    // A session cannot make another (it would never have to end).
    let prolonged = request(addr, "POST", SESSION_PATH, Some(&bearer(&token)), "").await;
    assert_eq!((prolonged.status, prolonged.body), (401, unauthorized()));

    // Used: the function answers (an unknown app).
    let used = get_app(token.clone()).await;
    assert_eq!(
        (used.status, used.body["code"].as_i64()),
        (404, Some(1015)),
        "{}",
        used.body
    );
    // Signed out: refused from then on, and signing out again is refused too.
    let signed_out = request(addr, "POST", SIGN_OUT_PATH, Some(&bearer(&token)), "").await;
    assert_eq!(signed_out.status, 200, "{}", signed_out.body);
    let after = get_app(token.clone()).await;
    assert_eq!((after.status, after.body), (401, unauthorized()));
    let again = request(addr, "POST", SIGN_OUT_PATH, Some(&bearer(&token)), "").await;
    assert_eq!((again.status, again.body), (401, unauthorized()));
    // The admin token is no session to sign out.
    let admin = request(addr, "POST", SIGN_OUT_PATH, Some(&bearer(ADMIN_TOKEN)), "").await;
    assert_eq!((admin.status, admin.body), (401, unauthorized()));

    // Expired: refused, and another session is unaffected by its neighbour's end.
    let expiring = sign_in(addr).await;
    assert_eq!(get_app(expiring.clone()).await.status, 404);
    tokio::time::sleep(PAST_EXPIRY).await;
    let fresh = sign_in(addr).await;
    let expired = get_app(expiring).await;
    assert_eq!((expired.status, expired.body), (401, unauthorized()));
    assert_eq!(get_app(fresh).await.status, 404);

    // POST only, and no room for a payload.
    let wrong_method = request(addr, "PUT", SESSION_PATH, Some(&bearer(ADMIN_TOKEN)), "").await;
    assert_eq!(wrong_method.status, 405);
    assert!(
        wrong_method.head.contains("allow: post"),
        "{}",
        wrong_method.head
    );
    let large = format!("{{\"pad\":\"{}\"}}", "x".repeat(2048));
    let too_large = request(
        addr,
        "POST",
        SESSION_PATH,
        Some(&bearer(ADMIN_TOKEN)),
        &large,
    )
    .await;
    assert_eq!(too_large.status, 413);
    server.abort();
}
