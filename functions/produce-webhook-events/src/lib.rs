//! The webhook producer, driven by the table's DynamoDB Stream (filtered in `template.yaml` to
//! the item kinds that make events): each committed change's events, for the apps that selected
//! them, are recorded in the delivery log and queued (`shared::webhooks::producer`).

use serde_json::Value;
use shared::State;

/// Handles a batch of stream records (see `shared::webhooks::producer::handle`), counting the
/// container's cold start first.
pub async fn handle(state: &State, batch: &Value) -> Value {
    shared::metrics::invoked(&state.cold_start, "produce-webhook-events");
    shared::webhooks::producer::handle(state, batch).await
}
