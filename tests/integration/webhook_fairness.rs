//! One app whose receiver never answers neither takes more than the sender's bounded
//! concurrency nor holds back another app's deliveries behind its backlog (the queue is fair
//! across apps, as SQS fair queues are with the app as `MessageGroupId`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use integration_tests::receiver::Receiver;
use integration_tests::{Env, isolated_env};
use local_api::queue::{LOCAL_RETRY_DELAYS, SENDER_CONCURRENCY};
use serde_json::json;
use shared::apps::{App, AppChanges, WebhookEvent};

/// A receiver that accepts connections and never answers; counts them open at once.
struct Hanging {
    url: String,
    open: Arc<AtomicUsize>,
    most_open: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Hanging {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn hanging() -> Hanging {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let open = Arc::new(AtomicUsize::new(0));
    let most_open = Arc::new(AtomicUsize::new(0));
    let (count, most) = (open.clone(), most_open.clone());
    let task = tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let now = count.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            let count = count.clone();
            tokio::spawn(async move {
                // Read until the sender gives up and closes; never answer.
                let mut sink = tokio::io::sink();
                let _ = tokio::io::copy(&mut socket, &mut sink).await;
                count.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    Hanging {
        url,
        open,
        most_open,
        task,
    }
}

async fn app_delivering_to(env: &Env, url: &str) -> App {
    env.new_app(AppChanges {
        webhook_url: Some(url.to_owned()),
        webhook_events: Some(vec![WebhookEvent::ProfileUpdate]),
        ..Default::default()
    })
    .await
}

/// Logs and queues `count` profile events of the app, as the producer does for a stream batch.
async fn queue_events(env: &Env, app: &App, count: usize) {
    let producer = env.function("produce-webhook-events");
    let now = env.state.clock.now_ms();
    let mut messages = Vec::new();
    for i in 0..count {
        let random: [u8; 10] = uuid::Uuid::new_v4().as_bytes()[..10]
            .try_into()
            .expect("10 bytes");
        let event = shared::webhooks::events::Event {
            app_key: app.app_key.clone(),
            kind: WebhookEvent::ProfileUpdate,
            id: uuid::Builder::from_unix_timestamp_millis(now as u64 + i as u64, &random)
                .into_uuid()
                .to_string(),
            time: now,
            data: json!({"operatorId": format!("user{i}"), "operationType": 0, "time": now}),
            request_id: None,
        };
        let message = shared::webhooks::deliveries::record(&producer, &event, now)
            .await
            .expect("logged");
        messages.push((message, Duration::ZERO));
    }
    producer
        .webhooks
        .queue()
        .send(messages)
        .await
        .expect("queued");
}

#[tokio::test]
async fn a_hanging_receiver_takes_bounded_senders_and_does_not_delay_another_app() {
    let env = isolated_env("webhooks-fairness").await;
    let _pipeline = env.deliver_webhooks(&LOCAL_RETRY_DELAYS).await;
    let stuck = hanging().await;
    let noisy = app_delivering_to(&env, &stuck.url).await;
    // A backlog of eight rounds of the senders' concurrency, each attempt held 5 s.
    queue_events(&env, &noisy, 8 * SENDER_CONCURRENCY).await;
    let backlog = Instant::now();
    while stuck.open.load(Ordering::SeqCst) < SENDER_CONCURRENCY {
        assert!(
            backlog.elapsed() < Duration::from_secs(30),
            "the backlog never formed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let receiver = Receiver::start().await;
    let quiet = app_delivering_to(&env, &receiver.url).await;
    let started = Instant::now();
    queue_events(&env, &quiet, 1).await;
    receiver
        .wait_for(Duration::from_secs(60), |received| !received.is_empty())
        .await;
    let waited = started.elapsed();
    // In arrival order it would wait for seven rounds of 5 s; fairly, for one sender at most.
    assert!(
        waited < Duration::from_secs(12),
        "the other app's event waited {waited:?} behind the backlog"
    );
    // The receiver sees a timed-out connection close a moment after the sender let go of it and
    // started its next attempt: one over the bound at most.
    assert!(
        stuck.most_open.load(Ordering::SeqCst) <= SENDER_CONCURRENCY + 1,
        "{} attempts at the hanging receiver at once (bound {SENDER_CONCURRENCY})",
        stuck.most_open.load(Ordering::SeqCst)
    );
}
