//! `rate-limit-load [LIMIT] [OFFERED] [SECONDS]`: one app limited to LIMIT calls per second
//! (default 1,000) is offered OFFERED signed `get-user` calls per second (default 1,500) for
//! SECONDS (default 10), open loop (calls start on schedule whatever the answers), half through
//! each of two separate sets of containers. Prints, per second and in total, what was offered,
//! admitted (200), refused (429/1008) and failed otherwise, and the writes each rate counter item
//! took in its second (every attempt, refused ones included): what DynamoDB's per-partition limit
//! (about 1,000 writes/s) is measured against. Needs DYNAMODB_ENDPOINT (DynamoDB Local, which
//! does not throttle: the per-item write rates are the evidence).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use shared::apps::AppChanges;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// With `RATE_LOAD_COUNTER_ONLY=1`, each call is the admission alone (`shared::rate::admit` in
/// the get-user container), not the whole signed call: two shared cores running DynamoDB Local
/// serve far fewer whole calls than the 1,500/s offered.
static COUNTER_ONLY: std::sync::LazyLock<bool> =
    std::sync::LazyLock::new(|| std::env::var("RATE_LOAD_COUNTER_ONLY").is_ok_and(|v| v == "1"));

/// With `RATE_LOAD_SLOWDOWN=K` (counter-only runs), time runs K times slower for the counters:
/// each window second lasts K real seconds and takes OFFERED calls, so DynamoDB Local sees 1/K
/// of the rate while the limit's logic sees the full one.
fn slowdown() -> Result<u32, BoxError> {
    let k: u32 = std::env::var("RATE_LOAD_SLOWDOWN").map_or(Ok(1), |k| k.parse())?;
    if k != 1 && !*COUNTER_ONLY {
        return Err("RATE_LOAD_SLOWDOWN needs RATE_LOAD_COUNTER_ONLY=1".into());
    }
    Ok(k.max(1))
}

/// Every `UpdateItem` of a rate counter, by partition key.
#[derive(Debug, Default, Clone)]
struct CounterWrites(Arc<Mutex<BTreeMap<String, u64>>>);

impl aws_sdk_dynamodb::config::Intercept for CounterWrites {
    fn name(&self) -> &'static str {
        "CounterWrites"
    }

    fn read_before_transmit(
        &self,
        context: &aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _components: &aws_sdk_dynamodb::config::RuntimeComponents,
        _cfg: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let body = context.request().body().bytes().unwrap_or_default();
        if let Some(pk) = integration_tests::rate_counter_of(body) {
            let mut writes = self.0.lock().unwrap_or_else(|p| p.into_inner());
            *writes.entry(pk).or_default() += 1;
        }
        Ok(())
    }
}

#[derive(Default, Clone, Copy)]
struct Second {
    offered: u64,
    admitted: u64,
    refused: u64,
    failed: u64,
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let arg = |i: usize, default: u64| -> Result<u64, BoxError> {
        Ok(std::env::args().nth(i).map_or(Ok(default), |n| n.parse())?)
    };
    let (limit, offered, seconds) = (arg(1, 1000)?, arg(2, 1500)?, arg(3, 10)?);
    let writes = CounterWrites::default();
    let containers = {
        let mut containers = Vec::new();
        for _ in 0..2 {
            let interceptor = writes.clone();
            containers.push(Arc::new(
                integration_tests::env_with(|config| config.interceptor(interceptor)).await,
            ));
        }
        containers
    };
    let app = containers[0]
        .new_app(AppChanges {
            rate_limits: Some(json!({ "/v4/user/get": limit })),
            ..Default::default()
        })
        .await;
    containers[0].issue(&app, "alice").await;
    for env in &containers {
        env.warm(&app);
    }
    let app = Arc::new(app);
    let clock = containers[0].state.clock.clone();
    // Start on a second's boundary, so each second of the run is one window.
    let now = clock.now_ms();
    tokio::time::sleep(Duration::from_millis((1000 - now.rem_euclid(1000)) as u64)).await;
    let slowdown = slowdown()?;
    let start_ms = clock.now_ms();
    let first_second = start_ms.div_euclid(1000);
    let started = Instant::now();
    // The counters' time: the clock's, or the scaled one (window seconds of `slowdown` real
    // seconds from the first boundary).
    let window_ms =
        move || start_ms + (started.elapsed().as_millis() / u128::from(slowdown)) as i64;
    let interval = Duration::from_secs_f64(f64::from(slowdown) / offered as f64);
    let total = offered * seconds;
    let mut calls = Vec::with_capacity(total as usize);
    let mut behind = Duration::ZERO;
    for i in 0..total {
        let due = interval * i as u32;
        let elapsed = started.elapsed();
        if due > elapsed {
            tokio::time::sleep(due - elapsed).await;
        } else {
            behind = behind.max(elapsed - due);
        }
        let env = containers[(i % 2) as usize].clone();
        let app = app.clone();
        let clock = clock.clone();
        calls.push(tokio::spawn(async move {
            let now_ms = match slowdown {
                1 => clock.now_ms(),
                _ => window_ms(),
            };
            let outcome = match *COUNTER_ONLY {
                true => {
                    let container = env.function("get-user");
                    let paths = &["/v4/user/get"];
                    match shared::rate::admit(&container, &app, "get-user", paths, 1, now_ms).await
                    {
                        Ok(()) => (200, 0),
                        Err(err) => (err.status(), err.code()),
                    }
                }
                false => {
                    let body = json!({"userId": "alice"});
                    env.call(&app, "/v4/user/get", body).await.outcome()
                }
            };
            (now_ms.div_euclid(1000), outcome)
        }));
    }
    let mut by_second: BTreeMap<i64, Second> = BTreeMap::new();
    for call in calls {
        let (second, outcome) = call.await?;
        let row = by_second.entry(second - first_second).or_default();
        row.offered += 1;
        match outcome {
            (200, 0) => row.admitted += 1,
            (429, 1008) => row.refused += 1,
            _ => row.failed += 1,
        }
    }
    let writes = writes.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
    // Writes per counter item, by the second in its key.
    let mut item_writes: BTreeMap<i64, Vec<u64>> = BTreeMap::new();
    for (pk, count) in &writes {
        let second: i64 = pk
            .rsplit('#')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        item_writes
            .entry(second - first_second)
            .or_default()
            .push(*count);
    }
    let mode = match (*COUNTER_ONLY, slowdown) {
        (false, _) => "whole signed get-user calls".to_owned(),
        (true, 1) => "the admission alone".to_owned(),
        (true, k) => format!("the admission alone, window seconds of {k} real seconds"),
    };
    println!(
        "limit {limit}/s, offered {offered} per window second for {seconds} window seconds over two sets of containers ({mode}); the loop ran at most {:.0} ms behind schedule",
        behind.as_secs_f64() * 1000.0
    );
    println!();
    println!(
        "| second | offered | admitted (200) | refused (429/1008) | other answers | counter items | writes on the busiest item |"
    );
    println!("|---|---|---|---|---|---|---|");
    let mut sum = Second::default();
    for (second, row) in &by_second {
        let items = item_writes.get(second).cloned().unwrap_or_default();
        println!(
            "| {second} | {} | {} | {} | {} | {} | {} |",
            row.offered,
            row.admitted,
            row.refused,
            row.failed,
            items.len(),
            items.iter().max().copied().unwrap_or(0)
        );
        sum.offered += row.offered;
        sum.admitted += row.admitted;
        sum.refused += row.refused;
        sum.failed += row.failed;
    }
    let whole: Vec<&Second> = by_second
        .iter()
        .filter(|(s, _)| (0..seconds as i64).contains(s))
        .map(|(_, row)| row)
        .collect();
    let mut admitted: Vec<u64> = whole.iter().map(|row| row.admitted).collect();
    admitted.sort_unstable();
    let busiest = writes.values().max().copied().unwrap_or(0);
    println!(
        "| all | {} | {} | {} | {} | {} | {busiest} |",
        sum.offered,
        sum.admitted,
        sum.refused,
        sum.failed,
        writes.len()
    );
    println!();
    println!(
        "admitted per window second: median {}, max {} (limit {limit}); offered achieved {:.0} per window second; errors other than 429: {}",
        admitted.get(admitted.len() / 2).copied().unwrap_or(0),
        admitted.last().copied().unwrap_or(0),
        sum.offered as f64 * f64::from(slowdown)
            / started
                .elapsed()
                .as_secs_f64()
                .max((seconds * u64::from(slowdown)) as f64),
        sum.failed
    );
    Ok(())
}
