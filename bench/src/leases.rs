//! `bench leases [SECONDS]`: what counting a call against the app's limit costs under Nexconn's
//! default limits. Warm get-user calls offered open loop (on schedule, whatever the answers) at
//! 1, 10, 50 and 200 calls/s to one container each (its own `State`, so its own leases), every
//! DynamoDB request the container sends recorded: requests per call, counter writes per call
//! (each a one-write-unit `UpdateItem`), admitted and refused calls, and the p50 of the call.
//! The 200/s row needs a limit above it: that app's get-user limit is 1,000/s; the others use
//! Nexconn's default of 100/s.

use std::sync::Arc;
use std::time::{Duration, Instant};

use integration_tests::{RATE_COUNT, RequestLog};
use serde_json::{Value, json};
use shared::State;

use crate::{BoxError, TABLE, TOKEN_SECRET};

/// A container whose every DynamoDB request is recorded.
async fn recorded_container(log: &RequestLog) -> Result<Arc<State>, BoxError> {
    let (state, _) = crate::state().await?;
    let config = state
        .db
        .config()
        .to_builder()
        .interceptor(log.clone())
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(config);
    Ok(State::new(
        client,
        TABLE.into(),
        TOKEN_SECRET.into(),
        Duration::from_secs(300),
    )?)
}

pub async fn leases(seconds: u64) -> Result<(), BoxError> {
    println!(
        "| offered per container | limit | calls | admitted | refused | DynamoDB requests per call | counter writes (write units) per call | p50 ms |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (per_second, limits) in [
        (1u64, json!({})),
        (10, json!({})),
        (50, json!({})),
        (200, json!({"/v4/user/get": 1000})),
    ] {
        // The 1/s row runs long enough to see several leases.
        let seconds = if per_second == 1 {
            seconds * 3
        } else {
            seconds
        };
        row(per_second, limits, seconds).await?;
    }
    println!(
        "\nEach row: one container, warm (app cached, one call before counting), {seconds} s of calls (60 s at 1/s), open loop."
    );
    Ok(())
}

async fn row(per_second: u64, limits: Value, seconds: u64) -> Result<(), BoxError> {
    let log = RequestLog::default();
    let state = recorded_container(&log).await?;
    let app = Arc::new(crate::production_app_limited(&state, limits.clone()).await?);
    crate::issue(&state, &app, "benchuser").await?;
    let body = Arc::new(json!({"userId": "benchuser"}).to_string());
    crate::timed_get_user(&state, &app, &body).await?;
    log.take();
    let interval = Duration::from_secs_f64(1.0 / per_second as f64);
    let total = per_second * seconds;
    let started = Instant::now();
    let mut calls = Vec::with_capacity(total as usize);
    for i in 0..total {
        let due = interval * i as u32;
        if let Some(wait) = due.checked_sub(started.elapsed()) {
            tokio::time::sleep(wait).await;
        }
        let (state, app, body) = (state.clone(), app.clone(), body.clone());
        calls.push(tokio::spawn(async move {
            crate::timed_get_user(&state, &app, &body).await
        }));
    }
    let (mut admitted, mut refused, mut times) = (0u64, 0u64, Vec::new());
    for call in calls {
        match call.await? {
            Ok(elapsed) => {
                admitted += 1;
                times.push(elapsed);
            }
            Err(err) if err.to_string().contains("429") => refused += 1,
            Err(err) => return Err(err),
        }
    }
    times.sort_unstable();
    let requests = log.take();
    let counts = requests.iter().filter(|r| *r == RATE_COUNT).count();
    let limit = match limits.get("/v4/user/get") {
        Some(limit) => format!("{limit}/s"),
        None => "100/s (Nexconn's)".to_owned(),
    };
    println!(
        "| {per_second}/s | {limit} | {total} | {admitted} | {refused} | {:.3} | {:.3} | {} |",
        requests.len() as f64 / total as f64,
        counts as f64 / total as f64,
        crate::ms(crate::percentile(&times, 0.5)),
    );
    Ok(())
}
