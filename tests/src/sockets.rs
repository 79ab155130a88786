//! The local API served in-process with a real WebSocket client (connections, presence, and the
//! webhooks' connection events).

use std::net::SocketAddr;
use std::sync::Arc;

use local_api::server::LocalApi;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::{ADMIN_TOKEN, Env};

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub async fn serve(env: &Env) -> SocketAddr {
    let api = LocalApi::new(
        env.functions.clone(),
        Arc::new(local_api::router::all()),
        ADMIN_TOKEN.into(),
    );
    let (addr, _task) = api
        .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("bind");
    addr
}

pub async fn connect(addr: SocketAddr, token: &str) -> Result<Socket, (u16, Value)> {
    match tokio_tungstenite::connect_async(format!("ws://{addr}/ws?token={token}")).await {
        Ok((socket, _)) => Ok(socket),
        Err(WsError::Http(response)) => {
            let body = response
                .body()
                .as_deref()
                .and_then(|b| serde_json::from_slice(b).ok())
                .unwrap_or(Value::Null);
            Err((response.status().as_u16(), body))
        }
        Err(other) => panic!("connect: {other}"),
    }
}
