//! The webhook delivery log at scale: one partition per app and hour (none grows with time),
//! listed newest first across hours in bounded pages, and a `since` replay that goes page by
//! page, queueing each page before the next, about 1,000 events per call.

use std::collections::BTreeMap;

use integration_tests::{Env, env};
use serde_json::json;
use shared::apps::{App, WebhookEvent};
use shared::items::{Kind as _, WEBHOOK_HOUR_MS, WebhookDelivery};
use shared::webhooks::deliveries::{self, FAILED, MAX_READS_PER_PAGE};
use shared::webhooks::events::Event;

/// A UUID v7 event ID at `time_ms`, unique.
fn event_id_at(time_ms: i64) -> String {
    let random: [u8; 10] = uuid::Uuid::new_v4().as_bytes()[..10]
        .try_into()
        .expect("10 bytes");
    uuid::Builder::from_unix_timestamp_millis(time_ms as u64, &random)
        .into_uuid()
        .to_string()
}

fn event_at(app: &App, time_ms: i64) -> Event {
    Event {
        app_key: app.app_key.clone(),
        kind: WebhookEvent::ProfileUpdate,
        id: event_id_at(time_ms),
        time: time_ms,
        data: json!({"operatorId": "alice", "operationType": 0, "time": time_ms}),
        request_id: None,
    }
}

/// Every page of the app's delivery log (`status` filter), following page tokens: the event IDs
/// and the number of calls.
async fn whole_log(
    env: &Env,
    app: &App,
    status: Option<&str>,
    page_size: u32,
) -> (Vec<String>, usize) {
    let mut ids = Vec::new();
    let mut token = String::new();
    for calls in 1..=200 {
        let mut body = json!({"pageSize": page_size, "pageToken": token});
        if let Some(status) = status {
            body["status"] = json!(status);
        }
        let page = env.call(app, "/v4/ext/webhook/delivery/list", body).await;
        assert_eq!(page.outcome(), (200, 0), "{}", page.body);
        let result = &page.body["result"];
        for delivery in result["deliveries"].as_array().expect("deliveries") {
            ids.push(delivery["eventId"].as_str().expect("eventId").to_owned());
        }
        token = result["pageToken"].as_str().expect("pageToken").to_owned();
        if token.is_empty() {
            return (ids, calls);
        }
    }
    panic!("the log did not end in 200 pages");
}

/// The delivery log's partitions of the app and the items in each.
async fn partitions(env: &Env, app: &App) -> BTreeMap<String, usize> {
    let mut sizes = BTreeMap::new();
    for item in env.app_items(&app.app_key).await {
        let pk = item["PK"].as_s().expect("PK").clone();
        let is_delivery = WebhookDelivery::hour_of_pk(&app.app_key, &pk).is_some();
        if is_delivery {
            *sizes.entry(pk).or_insert(0) += 1;
        }
    }
    sizes
}

#[tokio::test]
async fn the_log_has_a_partition_per_hour_and_lists_across_them_newest_first() {
    let env = env().await;
    let app = env.dev_app().await;
    let producer = env.function("produce-webhook-events");
    let now = env.state.clock.now_ms();
    let mut recorded = Vec::new();
    for hours_ago in [3, 2, 1, 0] {
        for minute in 0..3 {
            let event = event_at(&app, now - hours_ago * WEBHOOK_HOUR_MS - minute * 60_000);
            deliveries::record(&producer, &event, now)
                .await
                .expect("recorded");
            recorded.push(event.id);
        }
    }
    // A stream record delivered twice records its events once.
    let again = event_at(&app, now);
    for _ in 0..2 {
        deliveries::record(&producer, &again, now)
            .await
            .expect("recorded");
    }
    recorded.push(again.id);
    recorded.sort();
    recorded.reverse();

    let (listed, calls) = whole_log(&env, &app, None, 5).await;
    assert_eq!(
        listed, recorded,
        "every event once, newest first across hours"
    );
    assert_eq!(calls, 3, "13 events in pages of 5");

    let sizes = partitions(&env, &app).await;
    assert!(
        (4..=5).contains(&sizes.len()),
        "one partition per hour: {sizes:?}"
    );
    for (pk, size) in &sizes {
        let hour = WebhookDelivery::hour_of_pk(&app.app_key, pk).expect("an hour");
        let in_hour = recorded
            .iter()
            .filter(|id| WebhookDelivery::hour_of(id) == Some(hour))
            .count();
        assert_eq!(*size, in_hour, "{pk} holds its hour's events only");
    }
}

#[tokio::test]
async fn a_status_filter_reads_a_bounded_number_of_pages_per_call() {
    let env = env().await;
    let app = env.dev_app().await;
    let producer = env.function("produce-webhook-events");
    let now = env.state.clock.now_ms();
    // 60 pending deliveries and no failed one: a filter for `failed` matches nothing.
    for i in 0..60 {
        let event = event_at(&app, now - i * 1000);
        deliveries::record(&producer, &event, now)
            .await
            .expect("recorded");
    }
    let first = env
        .call(
            &app,
            "/v4/ext/webhook/delivery/list",
            json!({"status": FAILED, "pageSize": 5}),
        )
        .await;
    assert_eq!(first.outcome(), (200, 0), "{}", first.body);
    assert_eq!(first.body["result"]["deliveries"], json!([]));
    assert_ne!(
        first.body["result"]["pageToken"],
        json!(""),
        "{MAX_READS_PER_PAGE} reads of 5 did not reach the end of 60: a token to go on"
    );
    let (failed, calls) = whole_log(&env, &app, Some(FAILED), 5).await;
    assert!(failed.is_empty());
    assert!(calls >= 2, "{calls} calls");
    let (pending, _) = whole_log(&env, &app, Some("pending"), 100).await;
    assert_eq!(pending.len(), 60);
}

/// Writes `count` failed deliveries of the app spread over the last two hours, and lists their
/// hours, as the producer and the sender would have left them.
async fn failed_deliveries(env: &Env, app: &App, count: i64, now: i64) -> Vec<String> {
    let mut ids = Vec::new();
    let mut items = Vec::new();
    for i in 0..count {
        let time = now - 2 * WEBHOOK_HOUR_MS + i * (2 * WEBHOOK_HOUR_MS / count);
        let event = event_at(app, time);
        let delivery = WebhookDelivery {
            app_key: app.app_key.clone(),
            event_id: event.id.clone(),
            event_type: event.kind.name().to_owned(),
            body: event.body(),
            status: FAILED.to_owned(),
            attempts: 9,
            created_at: time,
            last_status_code: Some(500),
            last_attempt_at: Some(time),
            next_attempt_at: None,
            history: Vec::new(),
            ttl: (now + deliveries::KEEP_MS) / 1000,
            request_id: None,
        };
        items.push(delivery.item().expect("item"));
        ids.push(event.id);
    }
    let hours: std::collections::BTreeSet<String> = ids
        .iter()
        .filter_map(|id| WebhookDelivery::hour_of(id))
        .map(|hour| hour.to_string())
        .collect();
    env.state
        .db
        .update_item()
        .table_name(&env.state.table)
        .set_key(Some(shared::items::WebhookHours::key_of(&app.app_key)))
        .update_expression("ADD hours :hours")
        .expression_attribute_values(
            ":hours",
            aws_sdk_dynamodb::types::AttributeValue::Ns(hours.into_iter().collect()),
        )
        .send()
        .await
        .expect("hours listed");
    for chunk in items.chunks(25) {
        let writes: Vec<_> = chunk
            .iter()
            .map(|item| {
                aws_sdk_dynamodb::types::WriteRequest::builder()
                    .put_request(
                        aws_sdk_dynamodb::types::PutRequest::builder()
                            .set_item(Some(item.clone()))
                            .build()
                            .expect("put"),
                    )
                    .build()
            })
            .collect();
        let mut pending = Some(writes);
        let mut attempts = 0;
        while let Some(writes) = pending.take().filter(|w| !w.is_empty()) {
            // DynamoDB Local stalls while another test creates its table: try again.
            attempts += 1;
            match env
                .state
                .db
                .batch_write_item()
                .request_items(&env.state.table, writes.clone())
                .send()
                .await
            {
                Ok(out) => {
                    pending = out
                        .unprocessed_items
                        .and_then(|mut left| left.remove(&env.state.table));
                }
                Err(err) if attempts < 5 => {
                    eprintln!("batch write failed, again: {err}");
                    pending = Some(writes);
                }
                Err(err) => panic!("batch write: {err}"),
            }
        }
    }
    ids
}

#[tokio::test]
async fn a_since_replay_goes_page_by_page_and_each_call_is_bounded() {
    let env = env().await;
    let app = env.dev_app().await;
    let now = env.state.clock.now_ms();
    let total = 35;
    failed_deliveries(&env, &app, total, now).await;
    let since = now - 3 * WEBHOOK_HOUR_MS;
    // The replay function as deployed, with a share of 10 per call instead of 1,000.
    let replayer = env.function("replay-webhooks");
    let mut counts = Vec::new();
    let mut from = None;
    loop {
        let replayed = deliveries::replay_since(&replayer, &app.app_key, since, from, now, 10)
            .await
            .expect("replayed");
        counts.push(replayed.count);
        from = replayed.next;
        if from.is_none() || counts.len() > 10 {
            break;
        }
    }
    assert_eq!(
        counts,
        [10, 10, 10, 5],
        "every call restarts its share, the last the rest"
    );
    let (pending, _) = whole_log(&env, &app, Some("pending"), 100).await;
    assert_eq!(
        pending.len() as i64,
        total,
        "each restarted once, none left failed"
    );

    // Through the API (a share of 1,000): nothing failed is left to replay.
    let answer = env
        .call(&app, "/v4/ext/webhook/replay", json!({"since": since}))
        .await;
    assert_eq!(answer.outcome(), (200, 0), "{}", answer.body);
    assert_eq!(
        answer.body["result"],
        json!({"replayed": 0, "pageToken": ""})
    );
}

#[tokio::test]
async fn a_since_replay_restarts_a_delivery_stuck_pending_without_a_message() {
    let env = env().await;
    let app = env.dev_app().await;
    let now = env.state.clock.now_ms();
    let producer = env.function("produce-webhook-events");
    // Recorded an hour ago and due then: its message is long gone (dead-lettered, say).
    let stuck = event_at(&app, now - WEBHOOK_HOUR_MS);
    deliveries::record(&producer, &stuck, now - WEBHOOK_HOUR_MS)
        .await
        .expect("recorded");
    // Recorded just now: its first attempt is on its way, and is left to it.
    let fresh = event_at(&app, now);
    deliveries::record(&producer, &fresh, now)
        .await
        .expect("recorded");
    let answer = env
        .call(&app, "/v4/ext/webhook/replay", json!({"since": 0}))
        .await;
    assert_eq!(answer.outcome(), (200, 0), "{}", answer.body);
    assert_eq!(answer.body["result"]["replayed"], 1, "{}", answer.body);
    assert_eq!(answer.body["result"]["pageToken"], "");
    let restarted = deliveries::get(&env.state, &app.app_key, &stuck.id)
        .await
        .expect("read")
        .expect("logged");
    assert!(restarted.next_attempt_at.unwrap_or_default() >= now);
}
