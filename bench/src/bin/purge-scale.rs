//! `purge-scale [FRIENDS]`: the purge of one soft-deleted user with FRIENDS friends (default
//! 10,000) through the purge's own code against DynamoDB Local, twice: with a Lambda
//! invocation's 300 s (less the reserve), and with no time to spare (one page per invocation,
//! every continuation from a checkpoint). Prints a Markdown table: items deleted, invocations,
//! time, items per second, DynamoDB requests by kind, peak heap. Needs DYNAMODB_ENDPOINT.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use futures::{StreamExt, TryStreamExt};
use integration_tests::RequestLog;
use shared::State;
use shared::purge::{self, Deadline, PURGE_RESERVE, UserImage};
use shared::table;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
const TABLE: &str = "chat-users-bench";
const TOKEN_SECRET: &str = "bench-token-signing-secret-0123456789abcdef";
const LAMBDA_TIMEOUT: Duration = Duration::from_secs(300);

/// The system allocator, keeping the peak of live heap bytes.
struct PeakHeap {
    live: AtomicUsize,
    peak: AtomicUsize,
}

unsafe impl GlobalAlloc for PeakHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            let live = self.live.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            self.peak.fetch_max(live, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        self.live.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static HEAP: PeakHeap = PeakHeap {
    live: AtomicUsize::new(0),
    peak: AtomicUsize::new(0),
};

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// A user `victim`, soft-deleted with its purge pending, and `friends` friends: both edges of
/// each friendship and both counters, as add-friend leaves them. Answers the stream image.
async fn setup(state: &State, app_key: &str, friends: usize) -> Result<UserImage, BoxError> {
    let victim = table::user_pk(app_key, "victim");
    let operation = uuid::Uuid::new_v4().simple().to_string();
    type Item = std::collections::HashMap<String, AttributeValue>;
    let item = |pairs: Vec<(&str, AttributeValue)>| -> Item {
        pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    };
    let mut items: Vec<Item> = vec![
        item(vec![
            ("PK", s(&victim)),
            ("SK", s(table::SK_USER)),
            ("userId", s("victim")),
            ("state", s("soft-deleted")),
            ("purgeState", s("pending")),
            ("purgeOperation", s(&operation)),
            ("deletedAt", n(state.clock.now_ms())),
        ]),
        item(vec![
            ("PK", s(&victim)),
            ("SK", s(table::SK_FRIEND_COUNT)),
            ("count", n(friends)),
        ]),
    ];
    for i in 0..friends {
        let friend_id = format!("f{i:05}");
        let friend = table::user_pk(app_key, &friend_id);
        items.push(item(vec![
            ("PK", s(&victim)),
            ("SK", s(table::friend_sk(&friend_id))),
            ("edgeTo", s(&friend)),
            ("countedIn", s(table::SK_FRIEND_COUNT)),
        ]));
        items.push(item(vec![
            ("PK", s(&friend)),
            ("SK", s(table::friend_sk("victim"))),
            ("edgeTo", s(&victim)),
            ("countedIn", s(table::SK_FRIEND_COUNT)),
        ]));
        items.push(item(vec![
            ("PK", s(&friend)),
            ("SK", s(table::SK_FRIEND_COUNT)),
            ("count", n(1)),
        ]));
    }
    let chunks: Vec<Vec<WriteRequest>> = items
        .chunks(25)
        .map(|chunk| {
            chunk
                .iter()
                .map(|item| {
                    let put = PutRequest::builder().set_item(Some(item.clone())).build()?;
                    Ok(WriteRequest::builder().put_request(put).build())
                })
                .collect::<Result<_, BoxError>>()
        })
        .collect::<Result<_, BoxError>>()?;
    futures::stream::iter(chunks)
        .map(|mut requests| async move {
            while !requests.is_empty() {
                let out = state
                    .db
                    .batch_write_item()
                    .request_items(TABLE, requests)
                    .send()
                    .await?;
                requests = out
                    .unprocessed_items
                    .and_then(|mut u| u.remove(TABLE))
                    .unwrap_or_default();
            }
            Ok::<_, BoxError>(())
        })
        .buffer_unordered(8)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(UserImage {
        pk: victim,
        sk: table::SK_USER.into(),
        state: "soft-deleted".into(),
        purge_state: "pending".into(),
        purge_operation: operation,
        purge_rounds: 0,
    })
}

/// The USER item's purge state and checkpoint count.
async fn progress(state: &State, pk: &str) -> Result<(String, i64), BoxError> {
    let item = state
        .db
        .get_item()
        .table_name(TABLE)
        .key("PK", s(pk))
        .key("SK", s(table::SK_USER))
        .consistent_read(true)
        .send()
        .await?
        .item
        .unwrap_or_default();
    let purge_state = item
        .get("purgeState")
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default();
    let rounds = item
        .get("purgeRounds")
        .and_then(|v| v.as_n().ok()?.parse().ok())
        .unwrap_or(0);
    Ok((purge_state, rounds))
}

/// Items of the app left in the table: (items, friend counters above zero).
async fn leftovers(state: &State, app_key: &str) -> Result<(usize, usize), BoxError> {
    let prefix = format!("APP#{app_key}#");
    let mut start = None;
    let (mut items, mut counted) = (0, 0);
    loop {
        let out = state
            .db
            .scan()
            .table_name(TABLE)
            .filter_expression("begins_with(PK, :prefix)")
            .expression_attribute_values(":prefix", s(&prefix))
            .set_exclusive_start_key(start)
            .send()
            .await?;
        for item in out.items.unwrap_or_default() {
            let sk = item.get("SK").and_then(|v| v.as_s().ok());
            let count: i64 = item
                .get("count")
                .and_then(|v| v.as_n().ok()?.parse().ok())
                .unwrap_or(0);
            if sk.map(String::as_str) == Some(table::SK_FRIEND_COUNT) && count == 0 {
                continue; // a friend's counter, back at zero
            }
            items += 1;
            counted += usize::from(count > 0);
        }
        start = out.last_evaluated_key;
        if start.is_none() {
            return Ok((items, counted));
        }
    }
}

/// One purge to the end, each invocation given `invocation_time`; prints its table row.
async fn run(
    state: &State,
    log: &RequestLog,
    friends: usize,
    label: &str,
    invocation_time: Duration,
) -> Result<(), BoxError> {
    let app_key = format!("purge{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let mut image = setup(state, &app_key, friends).await?;
    log.take();
    HEAP.peak
        .store(HEAP.live.load(Ordering::Relaxed), Ordering::Relaxed);
    let heap_before = HEAP.live.load(Ordering::Relaxed);
    let started = Instant::now();
    let mut invocations = 0;
    let mut sent = Vec::new();
    loop {
        invocations += 1;
        // What the event source mapping does with each checkpoint's record: invoke again.
        purge::on_user_change(
            state,
            &image,
            Deadline::within(invocation_time, PURGE_RESERVE),
        )
        .await?;
        sent.extend(log.take());
        let (purge_state, rounds) = progress(state, &image.pk).await?;
        log.take(); // the benchmark's own read
        // The next record is the one the checkpoint wrote, at that checkpoint.
        image.purge_rounds = rounds.try_into().unwrap_or(0);
        if purge_state == "done" {
            break;
        }
        if invocations > 10_000 {
            return Err("the purge does not finish".into());
        }
    }
    let elapsed = started.elapsed();
    let peak_heap = HEAP
        .peak
        .load(Ordering::Relaxed)
        .saturating_sub(heap_before);
    let mut requests: BTreeMap<String, usize> = BTreeMap::new();
    for name in sent {
        *requests.entry(name).or_default() += 1;
    }
    let (_, checkpoints) = progress(state, &image.pk).await?;
    let (left, counted) = leftovers(state, &app_key).await?;
    if left != 1 || counted != 0 {
        return Err(format!(
            "{left} items left (expected the USER item), {counted} counters above zero"
        )
        .into());
    }
    // The victim's edges, its counter, the friends' edges back (their counters are updated).
    let deleted = 2 * friends + 1;
    let total: usize = requests.values().sum();
    let by_kind: Vec<String> = requests.iter().map(|(k, v)| format!("{k} {v}")).collect();
    println!(
        "| {label} | {friends} | {deleted} | {invocations} ({checkpoints} checkpoints) | {:.1} | {:.0} | {total}: {} | {:.2} |",
        elapsed.as_secs_f64(),
        deleted as f64 / elapsed.as_secs_f64(),
        by_kind.join(", "),
        peak_heap as f64 / 1e6,
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let friends: usize = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 10_000,
    };
    let endpoint =
        std::env::var("DYNAMODB_ENDPOINT").map_err(|_| "DYNAMODB_ENDPOINT is required")?;
    let log = RequestLog::default();
    let config = shared::state::dynamodb_config(&shared::state::sdk_config(Some(&endpoint)).await)
        .interceptor(log.clone())
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(config);
    let definition = local_api::table::definition_from_template(local_api::table::TEMPLATE)?;
    local_api::table::ensure(&client, TABLE, &definition).await?;
    let state = State::new(
        client,
        TABLE.into(),
        TOKEN_SECRET.into(),
        Duration::from_secs(300),
    )?;
    println!(
        "| invocation time | friends | items deleted | invocations | seconds | items/s | DynamoDB requests | peak heap MB |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    run(
        &state,
        &log,
        friends,
        "300 s (Lambda timeout)",
        LAMBDA_TIMEOUT,
    )
    .await?;
    run(
        &state,
        &log,
        friends,
        "none (one page each)",
        Duration::ZERO,
    )
    .await?;
    Ok(())
}
