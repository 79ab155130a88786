//! WebSocket `$disconnect`: deletes the connection's items (already gone is fine).

use std::sync::Arc;

use serde_json::json;
use shared::State;
use shared::connections::{self, ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};

pub async fn handle(
    state: Arc<State>,
    event: ApiGatewayWebsocketProxyRequest,
) -> ApiGatewayProxyResponse {
    let Some(connection_id) = connections::connection_id(&event) else {
        return connections::response(400, &json!({ "code": 400, "reason": "no-connection-id" }));
    };
    match connections::disconnect(&state, connection_id).await {
        Ok(()) => connections::response(200, &json!({ "code": 0 })),
        Err(err) => {
            tracing::error!(op = "disconnect", error = %err, "failed");
            connections::failure()
        }
    }
}
