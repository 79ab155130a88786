//! WebSocket route `heartbeat` (`{"action":"heartbeat"}`): extends the connection's TTL and
//! answers `{"type":"pong"}`. A connection whose TTL has passed (or that was kicked) is closed
//! and answered `{"type":"gone"}`: it is offline and must connect again.

use std::sync::Arc;

use serde_json::json;
use shared::State;
use shared::connections;
use shared::websocket::{self, ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};

pub async fn handle(
    state: Arc<State>,
    event: ApiGatewayWebsocketProxyRequest,
) -> ApiGatewayProxyResponse {
    websocket::measured("heartbeat", state, event, respond).await
}

async fn respond(
    state: Arc<State>,
    event: ApiGatewayWebsocketProxyRequest,
) -> ApiGatewayProxyResponse {
    let Some(connection_id) = websocket::connection_id(&event) else {
        return websocket::response(400, &json!({ "code": 400, "reason": "no-connection-id" }));
    };
    let result = match connections::heartbeat(&state, connection_id).await {
        Ok(true) => return websocket::response(200, &json!({ "type": "pong" })),
        Ok(false) => {
            async {
                connections::disconnect(&state, connection_id).await?;
                state.connections.closer().close(connection_id).await
            }
            .await
        }
        Err(err) => Err(err),
    };
    match result {
        Ok(()) => websocket::response(200, &json!({ "type": "gone" })),
        Err(err) => {
            tracing::error!(op = "heartbeat", error = %err, "failed");
            websocket::failure(&err)
        }
    }
}
