//! Connections and presence, with a real WebSocket client against the local API served
//! in-process: token verification at connect, online status, heartbeats and TTL, kicks.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use integration_tests::{Env, env};
use serde_json::{Value, json};
use shared::apps::App;
use tokio_tungstenite::tungstenite::Message;

use integration_tests::sockets::{Socket, connect, serve};

async fn status(env: &Env, app: &App, user_id: &str) -> String {
    let response = env
        .call(
            app,
            "/v4/user/connection-status/get",
            json!({ "userId": user_id }),
        )
        .await;
    assert_eq!(response.outcome(), (200, 0), "{}", response.body);
    response.body["result"]["status"]
        .as_str()
        .expect("status is a string")
        .to_owned()
}

/// Waits (up to 2 s) for the status to become `want`.
async fn status_becomes(env: &Env, app: &App, user_id: &str, want: &str) {
    for _ in 0..40 {
        if status(env, app, user_id).await == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{user_id} never became {want}");
}

/// Whether the server closes the socket within `within`.
async fn closed_within(socket: &mut Socket, within: Duration) -> bool {
    tokio::time::timeout(within, async {
        loop {
            match socket.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await
    .is_ok()
}

async fn heartbeat(socket: &mut Socket) -> Value {
    socket
        .send(Message::text(r#"{"action":"heartbeat"}"#))
        .await
        .expect("send");
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => return serde_json::from_str(&text).expect("json"),
            Some(Ok(_)) => {}
            other => panic!("no answer to a heartbeat: {other:?}"),
        }
    }
}

/// Connection items left anywhere for this app: in user partitions and lookups.
async fn connection_items(env: &Env, app: &App) -> usize {
    let in_partitions = env
        .app_items(&app.app_key)
        .await
        .iter()
        .filter(|item| {
            item.get("SK")
                .and_then(|v| v.as_s().ok())
                .is_some_and(|sk| sk.starts_with("CONN#"))
                // A soft delete keeps the connections it closed, marked (for the webhook's
                // "2"), until their TTL or the purge.
                && !item.contains_key("closedBy")
        })
        .count();
    let lookups = env
        .scan_where(
            "begins_with(PK, :conn) AND begins_with(edgeTo, :app)",
            &[
                (":conn", "CONN#".to_owned()),
                (":app", format!("APP#{}#", app.app_key)),
            ],
        )
        .await
        .len();
    in_partitions + lookups
}

#[tokio::test]
async fn a_valid_token_connects_heartbeats_and_closing_goes_offline() {
    let env = env().await;
    let addr = serve(&env).await;
    let app = env.dev_app().await;
    let token = env.issue(&app, "alice").await;
    assert_eq!(status(&env, &app, "alice").await, "0");

    let mut socket = connect(addr, &token).await.expect("connects");
    assert_eq!(status(&env, &app, "alice").await, "1");
    let alias = env
        .call(
            &app,
            "/v4/user/online-status/get",
            json!({"userId": "alice"}),
        )
        .await;
    assert_eq!(alias.body["result"]["status"], "1", "{}", alias.body);
    assert_eq!(heartbeat(&mut socket).await, json!({"type": "pong"}));
    // Another app's user of the same name is not online.
    let other = env.dev_app().await;
    assert_eq!(status(&env, &other, "alice").await, "0");

    socket.close(None).await.expect("close");
    status_becomes(&env, &app, "alice", "0").await;
    assert_eq!(connection_items(&env, &app).await, 0);

    // The bearer header works as well as the query parameter.
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(format!(
            "ws://{addr}/ws"
        ))
        .expect("request");
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("header"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("bearer connects");
    assert_eq!(status(&env, &app, "alice").await, "1");
    socket.close(None).await.expect("close");
    status_becomes(&env, &app, "alice", "0").await;
}

#[tokio::test]
async fn refused_tokens_carry_their_reason() {
    let env = env().await;
    let addr = serve(&env).await;
    let app = env.dev_app().await;
    let banned = env.issue(&app, "bob").await;
    let deleted = env.issue(&app, "carol").await;
    let expired = env.issue(&app, "dave").await;
    let ban = env
        .call(
            &app,
            "/v4/user/ban",
            json!({"userIds": ["bob"], "durationMinutes": 5}),
        )
        .await;
    assert_eq!(ban.outcome(), (200, 0), "{}", ban.body);
    let delete = env
        .call(&app, "/v4/user/soft-delete", json!({"userIds": ["carol"]}))
        .await;
    assert_eq!(delete.outcome(), (200, 0), "{}", delete.body);
    let now = env.state.clock.now_ms();
    let expire = env
        .call(
            &app,
            "/v4/auth/access-token/expire",
            json!({"userIds": ["dave"], "expiresAt": now + 1}),
        )
        .await;
    assert_eq!(expire.outcome(), (200, 0), "{}", expire.body);

    let refusal = |result: Result<Socket, (u16, Value)>| match result {
        Ok(_) => panic!("connected"),
        Err((status, body)) => (status, body["reason"].as_str().unwrap_or("").to_owned()),
    };
    assert_eq!(
        refusal(connect(addr, &banned).await),
        (403, "banned".into())
    );
    assert_eq!(
        refusal(connect(addr, &deleted).await),
        (403, "soft-deleted".into())
    );
    assert_eq!(
        refusal(connect(addr, &expired).await),
        (401, "expired".into())
    );
    assert_eq!(
        refusal(connect(addr, "not-a-token").await),
        (401, "invalid".into())
    );
    let mut tampered = env.issue(&app, "erin").await;
    tampered.insert(tampered.len() / 2, 'x');
    assert_eq!(
        refusal(connect(addr, &tampered).await),
        (401, "invalid".into())
    );
    // A fresh token of the expired user connects; nobody refused is online or left an item.
    let fresh = env.issue(&app, "dave").await;
    let socket = connect(addr, &fresh).await.expect("a fresh token connects");
    for user in ["bob", "carol", "erin"] {
        assert_eq!(status(&env, &app, user).await, "0", "{user}");
    }
    assert_eq!(status(&env, &app, "dave").await, "1");
    drop(socket);
}

#[tokio::test]
async fn banning_a_connected_user_closes_the_socket_within_a_second() {
    let env = env().await;
    let addr = serve(&env).await;
    let app = env.dev_app().await;
    let token = env.issue(&app, "alice").await;
    let bystander = env.issue(&app, "bob").await;
    let mut first = connect(addr, &token).await.expect("connects");
    let mut second = connect(addr, &token)
        .await
        .expect("a second device connects");
    let mut other = connect(addr, &bystander).await.expect("bob connects");

    let ban = env
        .call(
            &app,
            "/v4/user/ban",
            json!({"userIds": ["alice"], "durationMinutes": 5}),
        )
        .await;
    assert_eq!(ban.outcome(), (200, 0), "{}", ban.body);
    assert_eq!(status(&env, &app, "alice").await, "0", "offline at once");
    assert!(closed_within(&mut first, Duration::from_secs(1)).await);
    assert!(closed_within(&mut second, Duration::from_secs(1)).await);
    // Bob is untouched.
    assert_eq!(heartbeat(&mut other).await, json!({"type": "pong"}));
    assert_eq!(status(&env, &app, "bob").await, "1");
    assert_eq!(
        connect(addr, &token)
            .await
            .err()
            .map(|(s, b)| (s, b["reason"].clone())),
        Some((403, json!("banned")))
    );
}

#[tokio::test]
async fn soft_delete_and_secret_rotation_close_connections() {
    let env = env().await;
    let addr = serve(&env).await;
    let app = env.dev_app().await;
    let alice = env.issue(&app, "alice").await;
    let bob = env.issue(&app, "bob").await;
    let mut alice_socket = connect(addr, &alice).await.expect("alice connects");
    let mut bob_socket = connect(addr, &bob).await.expect("bob connects");
    let other_app = env.dev_app().await;
    let carol = env.issue(&other_app, "carol").await;
    let mut carol_socket = connect(addr, &carol).await.expect("carol connects");

    let delete = env
        .call(&app, "/v4/user/soft-delete", json!({"userIds": ["alice"]}))
        .await;
    assert_eq!(delete.outcome(), (200, 0), "{}", delete.body);
    assert!(closed_within(&mut alice_socket, Duration::from_secs(1)).await);
    assert_eq!(status(&env, &app, "alice").await, "0");
    assert_eq!(status(&env, &app, "bob").await, "1");

    let rotate = env
        .console(
            "/console/v1/apps/rotate-secret",
            json!({"appKey": app.app_key}),
        )
        .await;
    assert_eq!(rotate.outcome(), (200, 0), "{}", rotate.body);
    assert!(closed_within(&mut bob_socket, Duration::from_secs(1)).await);
    assert_eq!(connection_items(&env, &app).await, 0);
    // Alice's connection, closed by the soft delete, stays marked (offline, out of the app's
    // list) until its TTL or the purge: its stream record tells the webhook "2".
    let marked: Vec<_> = env
        .app_items(&app.app_key)
        .await
        .into_iter()
        .filter(|item| item.contains_key("closedBy"))
        .collect();
    assert_eq!(marked.len(), 1, "{marked:?}");
    assert_eq!(
        marked[0]["closedBy"].as_s().ok().map(String::as_str),
        Some("soft-delete")
    );
    assert_eq!(
        marked[0]["userId"].as_s().ok().map(String::as_str),
        Some("alice")
    );
    assert!(!marked[0].contains_key("GSI1PK"));
    assert_eq!(
        connect(addr, &bob)
            .await
            .err()
            .map(|(s, b)| (s, b["reason"].clone())),
        Some((401, json!("invalid"))),
        "the old secret's tokens are dead"
    );
    // Another app's connections stay.
    assert_eq!(heartbeat(&mut carol_socket).await, json!({"type": "pong"}));
    assert_eq!(status(&env, &other_app, "carol").await, "1");
}

#[tokio::test]
async fn expire_keeps_live_connections_unless_asked_to_disconnect() {
    let env = env().await;
    let addr = serve(&env).await;
    let app = env.dev_app().await;
    let old = env.issue(&app, "alice").await;
    let mut old_socket = connect(addr, &old).await.expect("connects");
    tokio::time::sleep(Duration::from_millis(5)).await;
    let cut = env.state.clock.now_ms();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let new = env.issue(&app, "alice").await;
    let mut new_socket = connect(addr, &new).await.expect("connects");

    // Nexconn's behaviour: live connections stay, the next connect fails.
    let expire = env
        .call(
            &app,
            "/v4/auth/access-token/expire",
            json!({"userIds": ["alice"], "expiresAt": cut}),
        )
        .await;
    assert_eq!(expire.outcome(), (200, 0), "{}", expire.body);
    assert_eq!(heartbeat(&mut old_socket).await, json!({"type": "pong"}));
    assert_eq!(
        connect(addr, &old)
            .await
            .err()
            .map(|(s, b)| (s, b["reason"].clone())),
        Some((401, json!("expired")))
    );

    // The extension: connections of tokens issued before `expiresAt` are closed, newer stay.
    let expire = env
        .call(
            &app,
            "/v4/auth/access-token/expire",
            json!({"userIds": ["alice"], "expiresAt": cut, "disconnect": true}),
        )
        .await;
    assert_eq!(expire.outcome(), (200, 0), "{}", expire.body);
    assert!(closed_within(&mut old_socket, Duration::from_secs(1)).await);
    assert_eq!(heartbeat(&mut new_socket).await, json!({"type": "pong"}));
    assert_eq!(status(&env, &app, "alice").await, "1");
}

#[tokio::test]
async fn a_connection_without_heartbeats_goes_offline_after_its_ttl() {
    let env = env().await;
    let addr = serve(&env).await;
    let app = env.dev_app().await;
    let token = env.issue(&app, "alice").await;
    let mut socket = connect(addr, &token).await.expect("connects");
    let ttl = env.state.connections.ttl_ms;

    // A heartbeat before the TTL keeps it online past the first TTL.
    env.state.clock.advance_ms(ttl - 1_000);
    assert_eq!(heartbeat(&mut socket).await, json!({"type": "pong"}));
    env.state.clock.advance_ms(2_000);
    assert_eq!(status(&env, &app, "alice").await, "1");

    // No heartbeat for a whole TTL: offline, though the socket never said goodbye.
    env.state.clock.advance_ms(ttl);
    assert_eq!(status(&env, &app, "alice").await, "0");
    // A late heartbeat is told so, and the connection is closed.
    assert_eq!(heartbeat(&mut socket).await, json!({"type": "gone"}));
    assert!(closed_within(&mut socket, Duration::from_secs(1)).await);
    assert_eq!(connection_items(&env, &app).await, 0);
}

#[tokio::test]
async fn a_thousand_connect_disconnect_cycles_leave_no_connection_item() {
    let env = env().await;
    let addr = serve(&env).await;
    let app = env.dev_app().await;
    let mut tokens = Vec::new();
    for i in 0..100 {
        tokens.push(env.issue(&app, &format!("cycler{i}")).await);
    }
    let cycles = futures::stream::iter(0..1000)
        .map(|i| {
            let token = tokens[i % 100].clone();
            async move {
                let mut socket = connect(addr, &token).await.expect("connects");
                if i % 3 == 0 {
                    assert_eq!(heartbeat(&mut socket).await, json!({"type": "pong"}));
                }
                socket.close(None).await.expect("close");
                // Wait for the server's side of the close.
                while let Some(Ok(_)) = socket.next().await {}
            }
        })
        .buffer_unordered(25)
        .collect::<Vec<()>>()
        .await;
    assert_eq!(cycles.len(), 1000);
    // $disconnect runs after the socket closes: give the last ones a moment.
    for _ in 0..100 {
        if connection_items(&env, &app).await == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(connection_items(&env, &app).await, 0);
    for user in ["cycler0", "cycler57", "cycler99"] {
        assert_eq!(status(&env, &app, user).await, "0");
    }
}

fn websocket_event(name: &str) -> shared::websocket::ApiGatewayWebsocketProxyRequest {
    let path = format!("{}/../events/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("event file");
    serde_json::from_str(&text).expect("a WebSocket event")
}

#[tokio::test]
async fn the_websocket_functions_accept_their_api_gateway_events() {
    let env = env().await;
    let app = env.dev_app().await;
    let token = env.issue(&app, "alice").await;
    let body = |r: &shared::websocket::ApiGatewayProxyResponse| match &r.body {
        Some(shared::lambda_http::Body::Text(t)) => serde_json::from_str::<Value>(t).expect("json"),
        other => panic!("{other:?}"),
    };

    // A leftover of an interrupted run would make the fixed connection ID taken.
    ::disconnect::handle(env.function("disconnect"), websocket_event("disconnect")).await;
    let text = std::fs::read_to_string(format!(
        "{}/../events/connect.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("connect event")
    .replace("EVENTSACCESSTOKEN", &token);
    let event = serde_json::from_str(&text).expect("a WebSocket event");
    let connected = ::connect::handle(env.function("connect"), event).await;
    assert_eq!(connected.status_code, 200, "{:?}", connected.body);
    assert_eq!(status(&env, &app, "alice").await, "1");

    let pong = ::heartbeat::handle(env.function("heartbeat"), websocket_event("heartbeat")).await;
    assert_eq!(
        (pong.status_code, body(&pong)),
        (200, json!({"type": "pong"}))
    );

    let refused = ::connect::handle(env.function("connect"), websocket_event("connect")).await;
    assert_eq!(refused.status_code, 401);
    assert_eq!(body(&refused)["reason"], "invalid");

    let gone =
        ::disconnect::handle(env.function("disconnect"), websocket_event("disconnect")).await;
    assert_eq!(gone.status_code, 200);
    assert_eq!(status(&env, &app, "alice").await, "0");
    assert_eq!(connection_items(&env, &app).await, 0);
}

#[tokio::test]
async fn removing_a_test_user_purges_its_connection_items_and_lookups() {
    let env = env().await;
    let addr = serve(&env).await;
    let app = env.dev_app().await;
    let token = env.issue(&app, "alice").await;
    let _socket = connect(addr, &token).await.expect("connects");
    assert!(connection_items(&env, &app).await > 0);
    let removed = env
        .console(
            "/console/v1/apps/delete-test-user",
            json!({"appKey": app.app_key, "userId": "alice"}),
        )
        .await;
    assert_eq!(removed.outcome(), (200, 0), "{}", removed.body);
    // The partition purge takes the user's item, the EDGES index the lookup.
    assert_eq!(connection_items(&env, &app).await, 0);
    assert_eq!(status(&env, &app, "alice").await, "0");
}
