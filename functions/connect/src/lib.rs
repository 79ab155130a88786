//! WebSocket `$connect`: the access token (query parameter `token` or `Authorization: Bearer`)
//! is verified against the records, then the connection is recorded with a TTL. A refusal
//! answers 401/403 with `{"code","reason"}` (API Gateway then refuses the upgrade).

use std::sync::Arc;

use serde_json::json;
use shared::State;
use shared::access::{Rejection, VerifyError};
use shared::connections;
use shared::websocket::{self, ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};

pub async fn handle(
    state: Arc<State>,
    event: ApiGatewayWebsocketProxyRequest,
) -> ApiGatewayProxyResponse {
    websocket::measured("connect", state, event, respond).await
}

async fn respond(
    state: Arc<State>,
    event: ApiGatewayWebsocketProxyRequest,
) -> ApiGatewayProxyResponse {
    let Some(connection_id) = websocket::connection_id(&event) else {
        return websocket::response(400, &json!({ "code": 400, "reason": "no-connection-id" }));
    };
    let Some(token) = websocket::token_of(&event) else {
        return websocket::refusal(&Rejection::Invalid);
    };
    let client_ip = websocket::client_address(&event);
    match connections::connect(&state, &token, connection_id, client_ip.as_deref()).await {
        Ok(verified) => {
            tracing::info!(op = "connect", app = %verified.app_key, user = %verified.user_id, connection = connection_id, "connected");
            websocket::response(200, &json!({ "code": 0 }))
        }
        Err(VerifyError::Rejected(rejection)) => {
            tracing::info!(op = "connect", reason = rejection.reason(), "refused");
            websocket::refusal(&rejection)
        }
        Err(VerifyError::Store(err)) => {
            tracing::error!(op = "connect", error = %err, "failed");
            websocket::failure(&err)
        }
    }
}
