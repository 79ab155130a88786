//! WebSocket `$disconnect`: deletes the connection's items (already gone is fine).

use std::sync::Arc;

use serde_json::json;
use shared::State;
use shared::connections;
use shared::websocket::{self, ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};

pub async fn handle(
    state: Arc<State>,
    event: ApiGatewayWebsocketProxyRequest,
) -> ApiGatewayProxyResponse {
    websocket::measured("disconnect", state, event, respond).await
}

async fn respond(
    state: Arc<State>,
    event: ApiGatewayWebsocketProxyRequest,
) -> ApiGatewayProxyResponse {
    let Some(connection_id) = websocket::connection_id(&event) else {
        return websocket::response(400, &json!({ "code": 400, "reason": "no-connection-id" }));
    };
    match connections::disconnect(&state, connection_id).await {
        Ok(()) => websocket::response(200, &json!({ "code": 0 })),
        Err(err) => {
            tracing::error!(op = "disconnect", error = %err, "failed");
            websocket::failure(&err)
        }
    }
}
