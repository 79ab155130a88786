//! The WebSocket API on the local API's own port (`GET /ws?token=...` with an upgrade), as API
//! Gateway serves it: `$connect` runs the `connect` function with an equivalent event before the
//! upgrade is accepted (a refusal answers its status and JSON body instead of 101), text frames
//! `{"action":"heartbeat"}` run `heartbeat` and get its body back, and a closed socket runs
//! `$disconnect`. [`Sockets`] is the state's [`ConnectionCloser`]: a kick closes the socket.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::{SinkExt, StreamExt};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper_util::rt::TokioIo;
use serde_json::Value;

use crate::functions::Functions;
use shared::closer::{CloseFuture, ConnectionCloser};
use shared::lambda_http::http::{Request, Response};
use shared::websocket::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use tokio::sync::oneshot;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role};

/// The path of the WebSocket endpoint.
pub const PATH: &str = "/ws";

/// The WebSocket API's routes and the functions behind them, as `template.yaml` wires them.
pub const CONNECT: (&str, &str) = ("$connect", "connect");
pub const DISCONNECT: (&str, &str) = ("$disconnect", "disconnect");
pub const HEARTBEAT: (&str, &str) = ("heartbeat", "heartbeat");
pub const ROUTES: [(&str, &str); 3] = [CONNECT, DISCONNECT, HEARTBEAT];

/// The open sockets, by connection ID.
#[derive(Default)]
pub struct Sockets {
    open: Mutex<HashMap<String, oneshot::Sender<()>>>,
}

impl Sockets {
    fn register(&self, connection_id: &str) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        if let Ok(mut open) = self.open.lock() {
            open.insert(connection_id.to_owned(), tx);
        }
        rx
    }

    fn forget(&self, connection_id: &str) {
        if let Ok(mut open) = self.open.lock() {
            open.remove(connection_id);
        }
    }

    /// How many sockets are open.
    pub fn len(&self) -> usize {
        self.open.lock().map(|open| open.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl ConnectionCloser for Sockets {
    fn close<'a>(&'a self, connection_id: &'a str) -> CloseFuture<'a> {
        let sender = self
            .open
            .lock()
            .ok()
            .and_then(|mut open| open.remove(connection_id));
        if let Some(sender) = sender {
            let _ = sender.send(());
        }
        Box::pin(async { Ok(()) })
    }
}

/// The event API Gateway would send for this route.
fn event(
    connection_id: &str,
    route_key: &str,
    event_type: &str,
    request: Option<&Request<Incoming>>,
    body: Option<String>,
) -> ApiGatewayWebsocketProxyRequest {
    let mut event = ApiGatewayWebsocketProxyRequest::default();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let context = &mut event.request_context;
    context.connection_id = Some(connection_id.to_owned());
    context.route_key = Some(route_key.to_owned());
    context.event_type = Some(event_type.to_owned());
    context.stage = Some("local".to_owned());
    context.domain_name = Some("127.0.0.1".to_owned());
    context.apiid = Some("local".to_owned());
    context.message_direction = Some("IN".to_owned());
    context.request_id = Some(uuid::Uuid::new_v4().to_string());
    context.request_time_epoch = now_ms;
    context.connected_at = now_ms;
    // Clients of the local API connect over loopback.
    context.identity.source_ip = Some("127.0.0.1".to_owned());
    if let Some(request) = request {
        event.headers = request.headers().clone();
        if let Some(query) = request.uri().query()
            && let Ok(map) = query.parse()
        {
            event.query_string_parameters = map;
        }
    }
    event.body = body;
    event
}

fn body_text(response: &ApiGatewayProxyResponse) -> String {
    match &response.body {
        Some(shared::lambda_http::Body::Text(text)) => text.clone(),
        Some(shared::lambda_http::Body::Binary(bytes)) => String::from_utf8_lossy(bytes).into(),
        _ => String::new(),
    }
}

fn plain(status: u16, body: &str) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json; charset=utf-8")
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap_or_default()
}

/// Whether a request asks for the WebSocket endpoint.
pub fn is_websocket(request: &Request<Incoming>) -> bool {
    request.uri().path() == PATH
}

/// Runs `$connect`, and on success accepts the upgrade and serves the socket.
pub async fn accept(
    functions: Arc<Functions>,
    sockets: Arc<Sockets>,
    mut request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let upgrade = request
        .headers()
        .get("upgrade")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let key = request
        .headers()
        .get("sec-websocket-key")
        .map(|k| derive_accept_key(k.as_bytes()));
    let (true, Some(accept_key)) = (upgrade, key) else {
        return plain(426, r#"{"message":"Upgrade Required"}"#);
    };
    let connection_id = uuid::Uuid::new_v4().simple().to_string();
    // Registered before `$connect` runs, so a kick during the connect is not lost.
    let closed = sockets.register(&connection_id);
    let on_upgrade = hyper::upgrade::on(&mut request);
    let connect_event = event(&connection_id, CONNECT.0, "CONNECT", Some(&request), None);
    let answer = match functions.state(CONNECT.1) {
        Ok(state) => connect::handle(state, connect_event).await,
        Err(err) => {
            sockets.forget(&connection_id);
            return plain(500, &err.body().to_string());
        }
    };
    if answer.status_code != 200 {
        sockets.forget(&connection_id);
        return plain(
            u16::try_from(answer.status_code).unwrap_or(500),
            &body_text(&answer),
        );
    }
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let socket =
                    WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None)
                        .await;
                serve(&functions, socket, &connection_id, closed).await;
            }
            Err(err) => tracing::warn!(error = %err, "websocket upgrade failed"),
        }
        sockets.forget(&connection_id);
        let event = event(&connection_id, DISCONNECT.0, "DISCONNECT", None, None);
        match functions.state(DISCONNECT.1) {
            Ok(state) => {
                disconnect::handle(state, event).await;
            }
            Err(err) => tracing::error!(error = %err, "no disconnect container"),
        }
    });
    Response::builder()
        .status(101)
        .header("connection", "Upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-accept", accept_key)
        .body(Full::new(Bytes::new()))
        .unwrap_or_default()
}

async fn serve(
    functions: &Functions,
    socket: WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>,
    connection_id: &str,
    mut closed: oneshot::Receiver<()>,
) {
    let (mut tx, mut rx) = socket.split();
    loop {
        tokio::select! {
            _ = &mut closed => {
                let frame = CloseFrame { code: CloseCode::Policy, reason: "closed by the server".into() };
                let _ = tx.send(Message::Close(Some(frame))).await;
                return;
            }
            message = rx.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    let action = serde_json::from_str::<Value>(text.as_str())
                        .ok()
                        .and_then(|v| v.get("action").and_then(Value::as_str).map(str::to_owned));
                    let reply = if action.as_deref() == Some(HEARTBEAT.0) {
                        let event = event(connection_id, HEARTBEAT.0, "MESSAGE", None, Some(text.to_string()));
                        match functions.state(HEARTBEAT.1) {
                            Ok(state) => body_text(&heartbeat::handle(state, event).await),
                            Err(err) => err.body().to_string(),
                        }
                    } else {
                        // No `$default` route: API Gateway answers this.
                        r#"{"message": "Forbidden"}"#.to_owned()
                    };
                    if tx.send(Message::text(reply)).await.is_err() {
                        return;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            }
        }
    }
}
