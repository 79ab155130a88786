//! `webhook-latency [N]`: how long a webhook takes locally from a change's answer to its event
//! at a receiver, through the whole pipeline as the local API runs it: the table's stream (the
//! event source mapping's poll), the producer, the delivery log, the queue, the sender, the
//! signed POST. N profile updates (default 100), one at a time, each waiting for its event.
//! Needs DYNAMODB_ENDPOINT (DynamoDB Local). Prints Markdown.

use std::time::{Duration, Instant};

use integration_tests::receiver::Receiver;
use serde_json::json;
use shared::apps::{AppChanges, WebhookEvent};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let runs: usize = std::env::args().nth(1).map_or(Ok(100), |n| n.parse())?;
    let endpoint =
        std::env::var("DYNAMODB_ENDPOINT").map_err(|_| "DYNAMODB_ENDPOINT is required")?;
    let env = integration_tests::env().await;
    let receiver = Receiver::start().await;
    let app = env
        .new_app(AppChanges {
            webhook_url: Some(receiver.url.clone()),
            webhook_events: Some(vec![WebhookEvent::ProfileUpdate]),
            ..Default::default()
        })
        .await;
    let _sender = env.functions.serve_webhook_queue().ok_or("one sender")?;
    let _follower = local_api::stream::follow(
        env.functions.clone(),
        endpoint,
        aws_sdk_dynamodbstreams::types::ShardIteratorType::Latest,
        local_api::stream::Delivery::default(),
    )
    .await?;
    env.issue(&app, "alice").await;
    let mut latencies = Vec::with_capacity(runs);
    // The part before the attempt: stream, producer, log, queue (the attempt's logged time).
    let mut to_sender = Vec::with_capacity(runs);
    for i in 0..runs + 5 {
        let name = format!("n{i}");
        let body = json!({"userId": "alice", "userProfile": {"name": name}});
        let response = env.call(&app, "/v4/user/profile/set", body).await;
        if response.status != 200 {
            return Err(format!("set-user-profile answered {}", response.body).into());
        }
        let answered = Instant::now();
        let answered_ms = env.state.clock.now_ms();
        let received = receiver
            .wait_for(Duration::from_secs(30), |r| {
                r.iter()
                    .any(|r| r.data()["userProfile"]["name"] == name.as_str())
            })
            .await;
        let event = received
            .iter()
            .find(|r| r.data()["userProfile"]["name"] == name.as_str())
            .ok_or("no event")?;
        if i >= 5 {
            latencies.push(event.at.saturating_duration_since(answered));
            // The attempt is recorded just after the receiver answers.
            let mut attempted = None;
            for _ in 0..200 {
                let logged =
                    shared::webhooks::deliveries::get(&env.state, &app.app_key, event.id())
                        .await?
                        .ok_or("not logged")?;
                attempted = logged.history.first().map(|a| a.at);
                if attempted.is_some() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let attempted = attempted.ok_or("no attempt recorded")?;
            to_sender.push(Duration::from_millis(
                attempted.saturating_sub(answered_ms) as u64
            ));
        }
    }
    latencies.sort();
    to_sender.sort();
    println!("| from the change's answer | p50 | p90 | p99 | max |");
    println!("|---|---|---|---|---|");
    for (label, times) in [
        ("to the receiver (the whole pipeline)", &latencies),
        (
            "to the sender's attempt (stream, producer, log, queue)",
            &to_sender,
        ),
    ] {
        println!(
            "| {label} | {} ms | {} ms | {} ms | {} ms |",
            ms(percentile(times, 0.5)),
            ms(percentile(times, 0.9)),
            ms(percentile(times, 0.99)),
            ms(*times.last().ok_or("no runs")?)
        );
    }
    println!(
        "\n{runs} profile updates of one user, one at a time (after 5 not counted), each waiting for its event."
    );
    Ok(())
}
