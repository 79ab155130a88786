//! Cost per call (`scripts/cost`, BENCHMARKS.md): every signed operation's sample request (its
//! `events/` file), warm, after three users are registered, through its function's handler
//! against DynamoDB Local. DynamoDB reports the capacity units each request consumed
//! (`ReturnConsumedCapacity`, added by `integration_tests::capacity`); the handler's time at the
//! template's 128 MB gives Lambda GB-seconds. Prints a Markdown table with dollars per million
//! calls at the on-demand prices below. The app has Nexconn's default limits: a read's row is the
//! mean of 100 calls at 10 calls/s after 10 to warm its container's lease (so it carries its share
//! of the rate counter's writes, as in production); a change's row is its one call, the first of
//! its container, so it carries a whole counter write (1 write unit) that later calls share. The
//! last row is `get-user` in an app with `rateLimits` "off".

use std::time::{Duration, Instant};

use integration_tests::capacity::CapacityMeter;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// On-demand prices, us-east-1, as AWS published them in November 2024 (after that month's
/// DynamoDB on-demand price cut); check them before relying on the dollars.
const DOLLARS_PER_MILLION_READ_UNITS: f64 = 0.125;
const DOLLARS_PER_MILLION_WRITE_UNITS: f64 = 0.625;
const DOLLARS_PER_GB_SECOND_ARM64: f64 = 0.000_013_333_4;
const DOLLARS_PER_MILLION_LAMBDA_REQUESTS: f64 = 0.20;
const DOLLARS_PER_MILLION_HTTP_API_REQUESTS: f64 = 1.00;
/// The row of a read in an app that counts nothing.
const OFF_ROW: &str = "get-user (rateLimits \"off\")";
/// The template's `MemorySize`.
const MEMORY_GB: f64 = 128.0 / 1024.0;
/// A read's calls: unmeasured (to warm the lease), then measured, at [`READ_EVERY`].
const READ_WARM_CALLS: u32 = 10;
const READ_MEASURED_CALLS: u32 = 100;
const READ_EVERY: Duration = Duration::from_millis(100);

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    // SAFETY: set before any other thread reads the environment.
    unsafe { std::env::set_var("TEST_TABLE_NAME", "chat-users-cost") };
    let meter = CapacityMeter::default();
    let interceptor = meter.clone();
    let env = integration_tests::env_with(|config| config.interceptor(interceptor)).await;
    let app = env
        .new_app(shared::apps::AppChanges {
            rate_limits: Some(serde_json::json!({})),
            ..Default::default()
        })
        .await;
    for user in ["alice", "bob", "carol"] {
        env.issue(&app, user).await;
    }
    env.warm(&app);
    println!(
        "| operation | answer | DynamoDB requests | read units | write units | handler ms (local) | Lambda GB-s | $ per million calls |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    // The same read in an app whose `rateLimits` is "off": what the rate counter adds to
    // every row above it (one request, one write unit), measured rather than assumed.
    let off = env
        .new_app(shared::apps::AppChanges {
            rate_limits: Some(serde_json::json!("off")),
            ..Default::default()
        })
        .await;
    env.issue(&off, "alice").await;
    env.warm(&off);
    let mut operations = integration_tests::signed_operations();
    operations.push((
        OFF_ROW.to_owned(),
        "/v4/user/get".to_owned(),
        serde_json::json!({"userId": "alice"}),
    ));
    for (name, path, body) in operations {
        let app = if name == OFF_ROW { &off } else { &app };
        let read = env.router.nonce_placement(&path).is_none();
        let (warm, measured) = match read {
            true => (READ_WARM_CALLS, READ_MEASURED_CALLS),
            false => (0, 1),
        };
        let mut response = None;
        let mut millis = 0.0;
        for i in 0..warm + measured {
            if i == warm {
                meter.take();
            }
            let due = Instant::now() + READ_EVERY;
            let started = Instant::now();
            let answer = env.call(app, &path, body.clone()).await;
            if i >= warm {
                millis += started.elapsed().as_secs_f64() * 1000.0;
            }
            response = Some(answer);
            if read {
                tokio::time::sleep_until(due.into()).await;
            }
        }
        let mut consumed = meter.take();
        let calls = f64::from(measured);
        millis /= calls;
        consumed.read_units /= calls;
        consumed.write_units /= calls;
        let requests = consumed.requests as f64 / calls;
        let Some(response) = response else {
            return Err("no call made".into());
        };
        // Lambda bills whole milliseconds.
        let gb_seconds = MEMORY_GB * millis.ceil() / 1000.0;
        let dollars = consumed.read_units * DOLLARS_PER_MILLION_READ_UNITS
            + consumed.write_units * DOLLARS_PER_MILLION_WRITE_UNITS
            + gb_seconds * DOLLARS_PER_GB_SECOND_ARM64 * 1e6
            + DOLLARS_PER_MILLION_LAMBDA_REQUESTS
            + DOLLARS_PER_MILLION_HTTP_API_REQUESTS;
        let (status, code) = response.outcome();
        println!(
            "| {name} | {status}/{code} | {requests:.3} | {:.3} | {:.3} | {millis:.1} | {gb_seconds:.6} | {dollars:.2} |",
            consumed.read_units, consumed.write_units
        );
    }
    Ok(())
}
