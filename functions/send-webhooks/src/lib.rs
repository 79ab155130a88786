//! The webhook sender, driven by the webhook queue (SQS): one signed attempt per message, to
//! public destinations only (`shared::webhooks::sender`; the local API passes a poster that
//! allows loopback).

use serde_json::Value;
use shared::State;
use shared::webhooks::post::Poster;

/// Handles a batch of queue messages (see `shared::webhooks::sender::handle`), counting the
/// container's cold start first.
pub async fn handle(state: &State, poster: &Poster, batch: &Value) -> Value {
    shared::metrics::invoked(&state.cold_start, "send-webhooks");
    shared::webhooks::sender::handle(state, poster, batch).await
}
