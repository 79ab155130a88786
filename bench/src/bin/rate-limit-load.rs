//! `rate-limit-load [LIMIT] [OFFERED] [SECONDS]`: one app limited to LIMIT calls per second
//! (default 1,000) is offered OFFERED signed `get-user` calls per second (default 1,500) for
//! SECONDS (default 10), open loop (calls start on schedule whatever the answers), spread over
//! `RATE_LOAD_CONTAINERS` separate sets of containers (default 4), each with its own leases.
//! Prints, per second and in total, what was offered, admitted (200), refused (429/1008) and
//! failed otherwise, and the writes the counter items took (every attempt, refused ones
//! included): what DynamoDB's per-partition limit (about 1,000 writes/s) is measured against.
//! Then a burst: 40 calls at once, at the start of each of 3 seconds, under a limit of 5/s.
//! Needs DYNAMODB_ENDPOINT (DynamoDB Local, which does not throttle: the write counts are the
//! evidence).

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

/// Every `UpdateItem` of a rate counter, by partition key (one item per block of seconds).
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
    let sets: u64 = std::env::var("RATE_LOAD_CONTAINERS").map_or(Ok(4), |n| n.parse())?;
    let writes = CounterWrites::default();
    let containers = {
        let mut containers = Vec::new();
        for _ in 0..sets {
            let interceptor = writes.clone();
            containers.push(Arc::new(
                integration_tests::env_with(|config| config.interceptor(interceptor)).await,
            ));
        }
        containers
    };
    let app = Arc::new(limited_app(&containers, limit).await);
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
        let env = containers[(i % sets) as usize].clone();
        let app = app.clone();
        let clock = clock.clone();
        calls.push(tokio::spawn(async move {
            let now_ms = match slowdown {
                1 => clock.now_ms(),
                _ => window_ms(),
            };
            let outcome = offer(&env, &app, now_ms).await;
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
    let total_writes: u64 = writes.values().sum();
    let busiest = writes.values().max().copied().unwrap_or(0);
    let mode = match (*COUNTER_ONLY, slowdown) {
        (false, _) => "whole signed get-user calls".to_owned(),
        (true, 1) => "the admission alone".to_owned(),
        (true, k) => format!("the admission alone, window seconds of {k} real seconds"),
    };
    println!(
        "limit {limit}/s, offered {offered} per window second for {seconds} window seconds over {sets} sets of containers ({mode}); the loop ran at most {:.0} ms behind schedule",
        behind.as_secs_f64() * 1000.0
    );
    println!();
    println!("| second | offered | admitted (200) | refused (429/1008) | other answers |");
    println!("|---|---|---|---|---|");
    let mut sum = Second::default();
    for (second, row) in &by_second {
        println!(
            "| {second} | {} | {} | {} | {} |",
            row.offered, row.admitted, row.refused, row.failed
        );
        sum.offered += row.offered;
        sum.admitted += row.admitted;
        sum.refused += row.refused;
        sum.failed += row.failed;
    }
    println!(
        "| all | {} | {} | {} | {} |",
        sum.offered, sum.admitted, sum.refused, sum.failed
    );
    // Whole window seconds after the first (the first may start with empty leases).
    let mut after_first: Vec<u64> = by_second
        .iter()
        .filter(|(s, _)| (1..seconds as i64).contains(s))
        .map(|(_, row)| row.admitted)
        .collect();
    after_first.sort_unstable();
    let most = by_second
        .values()
        .map(|row| row.admitted)
        .max()
        .unwrap_or(0);
    println!();
    println!(
        "admitted per window second: at most {most} in any (limit {limit}); after the first: least {}, median {}; errors other than 429: {}",
        after_first.first().copied().unwrap_or(0),
        after_first.get(after_first.len() / 2).copied().unwrap_or(0),
        sum.failed
    );
    println!(
        "counter writes: {total_writes} in all ({:.4} per call offered, {:.1} per window second), at most {busiest} on one counter item (a block of {} seconds)",
        total_writes as f64 / sum.offered.max(1) as f64,
        total_writes as f64 / seconds as f64,
        shared::rate::BLOCK_SECONDS
    );
    burst(&containers, 5, 40, 3).await
}

/// `calls` at once at the start of each of `seconds` seconds, spread over the containers, under
/// a limit of `limit` per second: prints the admitted per second.
async fn burst(
    containers: &[Arc<integration_tests::Env>],
    limit: u64,
    calls: u64,
    seconds: u64,
) -> Result<(), BoxError> {
    let app = limited_app(containers, limit).await;
    let clock = containers[0].state.clock.clone();
    let mut admitted = Vec::new();
    for _ in 0..seconds {
        let now = clock.now_ms();
        tokio::time::sleep(Duration::from_millis(
            (1000 - now.rem_euclid(1000)) as u64 + 5,
        ))
        .await;
        let second = clock.now_ms().div_euclid(1000);
        let answers = futures::future::join_all((0..calls).map(|i| {
            let env = &containers[(i % containers.len() as u64) as usize];
            let app = &app;
            async move {
                let now_ms = env.state.clock.now_ms();
                let admitted = offer(env, app, now_ms).await == (200, 0);
                (now_ms.div_euclid(1000), admitted)
            }
        }))
        .await;
        let in_second = answers.iter().filter(|(s, a)| *a && *s == second).count();
        let late = answers.iter().filter(|(s, a)| *a && *s != second).count();
        admitted.push(format!("{in_second} (+{late} in the next second)"));
    }
    println!();
    println!(
        "burst: limit {limit}/s, {calls} calls at once over {} sets of containers at the start of each of {seconds} seconds; admitted: {}",
        containers.len(),
        admitted.join(", ")
    );
    Ok(())
}

/// An app limited to `limit` get-user calls per second, its user `alice`, cached by every
/// container.
async fn limited_app(containers: &[Arc<integration_tests::Env>], limit: u64) -> shared::apps::App {
    let app = containers[0]
        .new_app(AppChanges {
            rate_limits: Some(json!({ "/v4/user/get": limit })),
            ..Default::default()
        })
        .await;
    containers[0].issue(&app, "alice").await;
    for env in containers {
        env.warm(&app);
    }
    app
}

/// One call through `env`'s containers at `now_ms` (the admission alone, or the whole signed
/// call): its status and code.
async fn offer(env: &integration_tests::Env, app: &shared::apps::App, now_ms: i64) -> (u16, i64) {
    match *COUNTER_ONLY {
        true => {
            let container = env.function("get-user");
            let paths = &["/v4/user/get"];
            match shared::rate::admit(&container, app, "get-user", paths, 1, now_ms).await {
                Ok(()) => (200, 0),
                Err(err) => (err.status(), err.code()),
            }
        }
        false => {
            let body = json!({"userId": "alice"});
            env.call(app, "/v4/user/get", body).await.outcome()
        }
    }
}
