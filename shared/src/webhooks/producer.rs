//! The producer: the table's stream in, events of the apps that selected them out, each recorded
//! in the delivery log and queued for its first attempt. A record whose events fail is reported,
//! so the stream delivers it (and the rest of its batch) again: events are recorded at least once
//! and a repeated record makes the same events (same IDs).

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::apps::{self, App};
use crate::error::ApiError;
use crate::state::State;
use crate::webhooks::deliveries;
use crate::webhooks::events::{self, Event};

/// Handles a batch of stream records (Lambda's `{"Records": [...]}`); answers
/// `{"batchItemFailures": [...]}` from the first record that failed on (the stream retries from
/// there, in order).
pub async fn handle(state: &State, batch: &Value) -> Value {
    let records = batch["Records"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    // The apps as stored now, read once per batch: a setting changed a moment ago applies.
    let mut apps: HashMap<String, Option<Arc<App>>> = HashMap::new();
    for record in records {
        if let Err(err) = produce(state, &mut apps, record).await {
            let sequence = record["dynamodb"]["SequenceNumber"]
                .as_str()
                .unwrap_or_default();
            tracing::error!(sequence, error = %err, "webhook events of a record failed");
            return json!({ "batchItemFailures": [{ "itemIdentifier": sequence }] });
        }
    }
    json!({ "batchItemFailures": [] })
}

async fn produce(
    state: &State,
    apps: &mut HashMap<String, Option<Arc<App>>>,
    record: &Value,
) -> Result<(), ApiError> {
    let mut wanted: Vec<Event> = Vec::new();
    for event in events::from_record(record) {
        if !apps.contains_key(&event.app_key) {
            let app = apps::fetch(state, &event.app_key).await?.map(Arc::new);
            apps.insert(event.app_key.clone(), app);
        }
        let delivers = apps
            .get(&event.app_key)
            .and_then(Option::as_ref)
            .is_some_and(|app| app.settings.delivers(event.kind));
        if delivers {
            wanted.push(event);
        }
    }
    if wanted.is_empty() {
        return Ok(());
    }
    let now = state.clock.now_ms();
    let recorded = wanted
        .iter()
        .map(|event| deliveries::record(state, event, now));
    let queued = futures::future::try_join_all(recorded).await?;
    let messages = queued
        .into_iter()
        .map(|message| (message, std::time::Duration::ZERO))
        .collect();
    state.webhooks.queue().send(messages).await?;
    // Counted once recorded and queued; a record the stream delivers again counts again (events
    // are produced at least once).
    for event in &wanted {
        crate::metrics::webhook_event(event.kind.name());
    }
    Ok(())
}
