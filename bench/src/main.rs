//! `bench`: measurements for BENCHMARKS.md (run by `make bench`, never by the tests).
//!
//!   bench warm [ITERATIONS] [SAMPLES.csv]   get-user through its handler vs a bare GetItem
//!                                           (optionally every sample, for the chart)
//!   bench metrics [ITERATIONS]              get-user with metrics on (EMF recorded and formatted)
//!                                           vs off, interleaved
//!   bench leases [SECONDS]                  DynamoDB requests per get-user call under Nexconn's
//!                                           default limits at 1, 10, 50 and 200 calls/s offered
//!                                           to one container
//!   bench secret RUNS SIGNER OTHER          GetSecretValue requests per cold start, against a
//!                                           Secrets Manager stand-in answering in 30 ms
//!   bench guard [ITERATIONS]                a single-item write's nonce: beside, or in a
//!                                           transaction (latency, write units)
//!   bench lambda RUNS FUNCTION BASELINE...   cold start and peak RSS of real binaries through a
//!                                           Lambda Runtime API emulator
//!   bench profiles [PROFILES] [ITERATIONS]  list-user-profiles at 10,000 hosted profiles: page 1,
//!                                           page 50, the last page (both orders)
//!
//! Needs DYNAMODB_ENDPOINT (DynamoDB Local). Prints Markdown.

mod guard;
mod leases;
mod runtime_api;
mod secret_cold;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shared::State;
use shared::apps::{self, App, AppChanges, Environment, Plan};
use shared::lambda_http::Body;
use shared::lambda_http::http::{HeaderValue, Method, Request};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
const TABLE: &str = "chat-users-bench";
const TOKEN_SECRET: &str = "bench-token-signing-secret-0123456789abcdef";

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1000.0)
}

/// Sorts each path's times and prints the table of their p50 and p99, one row per path (`rows`
/// in the order of `times`), then each ratio `(label, a, b)`: path a's percentiles over path b's.
fn percentile_table(
    rows: &[&str],
    times: &mut [Vec<Duration>],
    ratios: &[(&str, usize, usize)],
    digits: usize,
) {
    for all in times.iter_mut() {
        all.sort();
    }
    println!("| path | p50 ms | p99 ms |");
    println!("|---|---|---|");
    for (row, all) in rows.iter().zip(times.iter()) {
        println!(
            "| {row} | {} | {} |",
            ms(percentile(all, 0.5)),
            ms(percentile(all, 0.99))
        );
    }
    for (label, a, b) in ratios {
        let ratio =
            |q| percentile(&times[*a], q).as_secs_f64() / percentile(&times[*b], q).as_secs_f64();
        println!(
            "| ratio {label} | {:.digits$} | {:.digits$} |",
            ratio(0.5),
            ratio(0.99)
        );
    }
}

async fn state() -> Result<(Arc<State>, String), BoxError> {
    let endpoint =
        std::env::var("DYNAMODB_ENDPOINT").map_err(|_| "DYNAMODB_ENDPOINT is required")?;
    let client = shared::state::dynamodb_client(Some(&endpoint)).await;
    let definition = local_api::table::definition_from_template(local_api::table::TEMPLATE)?;
    local_api::table::ensure(&client, TABLE, &definition).await?;
    let state = State::new(
        client,
        TABLE.into(),
        TOKEN_SECRET.into(),
        Duration::from_secs(300),
    )?;
    Ok((state, endpoint))
}

/// A production app on a paid plan (no user cap) with `rateLimits` `limits`.
async fn production_app_limited(state: &State, limits: Value) -> Result<App, BoxError> {
    let changes = AppChanges {
        environment: Some(Environment::Production),
        plan: Some(Plan::Pro),
        rate_limits: Some(limits),
        ..Default::default()
    };
    Ok(apps::create(state, changes).await?)
}

/// [`production_app_limited`] that counts every call (one rate-counter update each) under a
/// limit no benchmark reaches.
async fn production_app(state: &State) -> Result<App, BoxError> {
    let limits = json!({ "default": shared::rate_limits::MAX_LIMIT });
    production_app_limited(state, limits).await
}

fn signed_headers(app: &App, now_ms: i64) -> Vec<(&'static str, String)> {
    let nonce = (uuid::Uuid::new_v4().as_u128() % 1_000_000_000_000_000_000).to_string();
    let timestamp = now_ms.to_string();
    let signature = shared::auth::sign(&app.app_secret, &nonce, &timestamp);
    vec![
        ("app-key", app.app_key.clone()),
        ("nonce", nonce),
        ("timestamp", timestamp),
        ("signature", signature),
    ]
}

async fn issue(state: &Arc<State>, app: &App, user_id: &str) -> Result<(), BoxError> {
    let now_ms = state.clock.now_ms();
    shared::users::upsert_for_token(state, app, user_id, "Bench User", None, now_ms).await?;
    Ok(())
}

/// p50/p99 of get-user through its handler (signature check, replay guard, read, JSON) beside a
/// bare `GetItem` of the same item, interleaved so both see the same machine.
/// The handler's read of `key` sent bare: a strongly consistent GetItem.
fn bare_get(
    state: &State,
    key: &shared::db::Item,
) -> aws_sdk_dynamodb::operation::get_item::builders::GetItemFluentBuilder {
    state
        .db
        .get_item()
        .table_name(TABLE)
        .set_key(Some(key.clone()))
        .consistent_read(true)
}

/// One signed get-user through its handler: how long it took to answer (an error unless 200).
async fn timed_get_user(state: &Arc<State>, app: &App, body: &str) -> Result<Duration, BoxError> {
    let mut request = Request::new(Body::Text(body.to_owned()));
    *request.method_mut() = Method::POST;
    *request.uri_mut() = "/v4/user/get".parse()?;
    for (name, value) in signed_headers(app, state.clock.now_ms()) {
        request
            .headers_mut()
            .insert(name, HeaderValue::from_str(&value)?);
    }
    let started = Instant::now();
    let response = shared::http::serve::<get_user::GetUser>(state.clone(), request).await;
    let elapsed = started.elapsed();
    if response.status() != 200 {
        return Err(format!("get-user answered {}", response.status()).into());
    }
    Ok(elapsed)
}

async fn warm(iterations: usize, samples: Option<PathBuf>) -> Result<(), BoxError> {
    let (state, _) = state().await?;
    // The same read in an app that counts nothing and in one under Nexconn's default limits
    // (100 calls/s for get-user): the container's lease admits most calls with no request.
    let off = production_app_limited(&state, json!("off")).await?;
    let limited = production_app_limited(&state, json!({})).await?;
    for app in [&off, &limited] {
        issue(&state, app, "benchuser").await?;
    }
    let key = shared::users::key(&off.app_key, "benchuser");
    let body = json!({"userId": "benchuser"}).to_string();
    // Rounds at 40 per second, so the limited app's calls stay under its limit of 100/s.
    let round_every = Duration::from_millis(25);
    // Per path, in the order of the table printed below.
    let mut times: [Vec<Duration>; 3] = Default::default();
    let started = Instant::now();
    for i in 0..iterations + 200 {
        let due = round_every * i as u32;
        if let Some(wait) = due.checked_sub(started.elapsed()) {
            tokio::time::sleep(wait).await;
        }
        // Each path first in a third of the rounds: the first call after the pause between
        // rounds is the slowest, and no path should always be it.
        let mut round = [Duration::ZERO; 3];
        for slot in (0..3).map(|k| (i + k) % 3) {
            round[slot] = match slot {
                0 => timed_get_user(&state, &off, &body).await?,
                1 => timed_get_user(&state, &limited, &body).await?,
                _ => {
                    let started = Instant::now();
                    bare_get(&state, &key).send().await?;
                    started.elapsed()
                }
            };
        }
        if i >= 200 {
            for (all, one) in times.iter_mut().zip(round) {
                all.push(one);
            }
        }
    }
    if let Some(path) = samples {
        // Interleaved pairs (handler under the default limits, bare GetItem), in the order
        // measured, for the chart (scripts/chart.py).
        let mut csv = String::from("handler_ms,bare_ms\n");
        for (h, b) in times[1].iter().zip(&times[2]) {
            csv.push_str(&format!("{},{}\n", ms(*h), ms(*b)));
        }
        std::fs::write(path, csv)?;
    }
    let rows = [
        "get-user handler, rateLimits \"off\" (signature, cached app, GetItem, JSON; a read records no nonce)",
        "get-user handler, Nexconn's default limits (the same, counted from the container's lease)",
        "bare SDK GetItem of the same item",
    ];
    let ratios = [
        (
            "default limits handler / bare GetItem (the goal: 1.1 at most)",
            1,
            2,
        ),
        ("\"off\" handler / bare GetItem", 0, 2),
    ];
    percentile_table(&rows, &mut times, &ratios, 2);
    println!(
        "\n{iterations} interleaved rounds at 40 per second (each path first in a third of them) after 200 warm-up rounds; the DynamoDB requests per call of the limited app are in the next table."
    );
    Ok(())
}

/// Warm get-user with metrics on (the Lambda recorder: every figure recorded, then formatted as
/// EMF lines as each invocation ends) and off (`METRICS=off`), interleaved call by call.
async fn metrics(iterations: usize) -> Result<(), BoxError> {
    let (state, _) = state().await?;
    // As a function's `main` does on Lambda (capacity sampled, the EMF recorder).
    shared::metrics::configure_from_env();
    shared::metrics::emf::install();
    let app = production_app_limited(&state, json!("off")).await?;
    issue(&state, &app, "benchuser").await?;
    let key = shared::users::key(&app.app_key, "benchuser");
    let body = json!({"userId": "benchuser"}).to_string();
    let mut emf_bytes = 0usize;
    // Handler on, handler off, bare GetItem asking for its capacity (metrics on), bare GetItem.
    let mut times: [Vec<Duration>; 4] = Default::default();
    let mut flushes = Vec::new();
    for i in 0..iterations + 200 {
        // Alternating which goes first, so neither always follows the other.
        let order = match i % 2 {
            0 => [(0, true), (1, false)],
            _ => [(1, false), (0, true)],
        };
        let mut round = [Duration::ZERO; 4];
        for (slot, on) in order {
            shared::metrics::set_enabled(on);
            round[slot] = timed_get_user(&state, &app, &body).await?;
            // What the Lambda glue then does beside posting the answer (timed on its own, into
            // memory rather than a terminal).
            let mut lines = Vec::new();
            let flushing = Instant::now();
            shared::metrics::emf::flush_into(&mut lines)?;
            if on && i >= 200 {
                flushes.push(flushing.elapsed());
                emf_bytes += lines.len();
            }
            // The same item read bare, with and without `ReturnConsumedCapacity` (the meter
            // asks for it only while metrics are on).
            let started = Instant::now();
            bare_get(&state, &key).send().await?;
            round[slot + 2] = started.elapsed();
        }
        if i >= 200 {
            for (all, one) in times.iter_mut().zip(round) {
                all.push(one);
            }
        }
    }
    shared::metrics::set_enabled(true);
    flushes.sort();
    let rows = [
        "get-user handler (rateLimits \"off\"), metrics on: recorded, capacity asked by 1 call in 16",
        "get-user handler (rateLimits \"off\"), metrics off (`METRICS=off`)",
        "bare SDK GetItem asking for its consumed capacity (what the meter adds to a request)",
        "bare SDK GetItem",
    ];
    let ratios = [
        ("handler on / off (the goal: at most 1.02 at p50)", 0, 1),
        ("GetItem with / without capacity", 2, 3),
    ];
    percentile_table(&rows, &mut times, &ratios, 3);
    println!(
        "\n{iterations} interleaved rounds after 200 warm-up rounds. Formatting a call's EMF lines, after its answer: {} µs at p50 ({} bytes on average).",
        percentile(&flushes, 0.5).as_micros(),
        emf_bytes / iterations.max(1)
    );
    Ok(())
}

fn issue_event(app: &App, user_id: &str, now_ms: i64) -> Result<Value, BoxError> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events/issue-access-token.json");
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
    for (name, value) in signed_headers(app, now_ms) {
        event["headers"][name] = value.into();
    }
    event["body"] = json!({"userId": user_id, "name": "Bench User"})
        .to_string()
        .into();
    Ok(event)
}

struct LambdaFigures {
    /// Process start → the first `next` poll (the function's init).
    init_median: Duration,
    /// Process start → the first response (init and the first call).
    cold_median: Duration,
    cold_min: Duration,
    warm_median: Duration,
    peak_rss_kib: u64,
}

fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// One binary under measurement: its Runtime API emulator and what its starts measured.
struct Subject {
    binary: PathBuf,
    emulator: runtime_api::Emulator,
    /// Users of this binary only: each binary's first call registers a new user.
    users: String,
    inits: Vec<Duration>,
    colds: Vec<Duration>,
    warm_times: Vec<Duration>,
    peak_rss_kib: u64,
}

impl Subject {
    async fn new(binary: PathBuf) -> Result<Self, BoxError> {
        let users = binary
            .file_name()
            .map(|n| {
                n.to_string_lossy()
                    .replace(|c: char| !c.is_ascii_alphanumeric(), "")
            })
            .unwrap_or_default();
        Ok(Self {
            binary,
            emulator: runtime_api::Emulator::start().await?,
            users,
            inits: Vec::new(),
            colds: Vec::new(),
            warm_times: Vec::new(),
            peak_rss_kib: 0,
        })
    }

    /// One cold start: process start → the first poll, → the first response; with `warm`, then
    /// 1,000 warm requests and the peak RSS.
    async fn start(
        &mut self,
        run: usize,
        warm: bool,
        endpoint: &str,
        app: &App,
        state: &State,
    ) -> Result<(), BoxError> {
        let (binary, emulator, users) = (&self.binary, &self.emulator, &self.users);
        emulator.forget_polls();
        let mut child = tokio::process::Command::new(binary)
            .env("AWS_LAMBDA_RUNTIME_API", emulator.address())
            .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "bench")
            .env("TABLE_NAME", TABLE)
            .env("TOKEN_SIGNING_SECRET", TOKEN_SECRET)
            .env("DYNAMODB_ENDPOINT", endpoint)
            .env("RUST_LOG", "error")
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let started = Instant::now();
        let event = issue_event(app, &format!("{users}cold{run}"), state.clock.now_ms())?;
        let response = emulator.invoke(event).await?;
        self.colds.push(started.elapsed());
        self.inits.push(
            emulator
                .first_poll()
                .ok_or("no poll before the first response")?
                .saturating_duration_since(started),
        );
        if response["statusCode"] != 200 {
            return Err(format!("{}: first response {response}", binary.display()).into());
        }
        if warm {
            for i in 0..1000 {
                let user = format!("{users}warm{}", i % 100);
                let event = issue_event(app, &user, state.clock.now_ms())?;
                let started = Instant::now();
                let response = emulator.invoke(event).await?;
                self.warm_times.push(started.elapsed());
                if response["statusCode"] != 200 {
                    return Err(format!("{}: warm response {response}", binary.display()).into());
                }
            }
            self.peak_rss_kib = child.id().map(peak_rss_kib).unwrap_or(0);
        }
        child.kill().await?;
        Ok(())
    }

    fn figures(mut self) -> (PathBuf, LambdaFigures) {
        self.inits.sort();
        self.colds.sort();
        self.warm_times.sort();
        let figures = LambdaFigures {
            init_median: percentile(&self.inits, 0.5),
            cold_median: percentile(&self.colds, 0.5),
            cold_min: self.colds[0],
            warm_median: percentile(&self.warm_times, 0.5),
            peak_rss_kib: self.peak_rss_kib,
        };
        (self.binary, figures)
    }
}

/// Cold start and memory of `function` beside `baselines`; ratios against the first baseline
/// (the fair one: the same SDK client and requests, nothing else).
async fn lambda(function: PathBuf, baselines: Vec<PathBuf>, runs: usize) -> Result<(), BoxError> {
    let (state, endpoint) = state().await?;
    let app = production_app(&state).await?;
    let mut subjects = Vec::new();
    for binary in std::iter::once(function).chain(baselines) {
        subjects.push(Subject::new(binary).await?);
    }
    // Interleaved, one start of each binary per round: DynamoDB Local (a JVM) warms up and its
    // tables grow during the run, and every binary should meet it in the same states.
    for run in 0..runs {
        for subject in &mut subjects {
            subject
                .start(run, run + 1 == runs, &endpoint, &app, &state)
                .await?;
        }
    }
    let measured: Vec<(PathBuf, LambdaFigures)> =
        subjects.into_iter().map(Subject::figures).collect();
    let name = |p: &PathBuf| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    println!(
        "| binary | init median ms | first response median ms | first response min ms | warm invoke median ms | peak RSS after 1,000 requests MiB |"
    );
    println!("|---|---|---|---|---|---|");
    for (binary, f) in &measured {
        println!(
            "| {} | {} | {} | {} | {} | {:.1} |",
            name(binary),
            ms(f.init_median),
            ms(f.cold_median),
            ms(f.cold_min),
            ms(f.warm_median),
            f.peak_rss_kib as f64 / 1024.0
        );
    }
    if let [(_, real), (fair, bare), ..] = measured.as_slice() {
        let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-9);
        println!(
            "| ratio to {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
            name(fair),
            ratio(real.init_median, bare.init_median),
            ratio(real.cold_median, bare.cold_median),
            ratio(real.cold_min, bare.cold_min),
            ratio(real.warm_median, bare.warm_median),
            real.peak_rss_kib as f64 / bare.peak_rss_kib.max(1) as f64
        );
    }
    println!(
        "\n{runs} cold starts each, interleaved (one of each binary per round), medians: init is process start → the first poll of the Runtime API's `next`; first response is process start → the response to the first event (a new user: the function's DynamoDB calls included). 1,000 warm `issue-access-token` requests on the last start, then the peak RSS (VmHWM)."
    );
    Ok(())
}

/// Runs `work` for every item, at most `limit` at a time.
async fn for_each_concurrently<F, Fut>(
    items: Vec<String>,
    limit: usize,
    work: F,
) -> Result<(), BoxError>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Result<(), BoxError>> + Send + 'static,
{
    let mut running = tokio::task::JoinSet::new();
    for item in items {
        if running.len() >= limit
            && let Some(done) = running.join_next().await
        {
            done??;
        }
        running.spawn(work(item));
    }
    while let Some(done) = running.join_next().await {
        done??;
    }
    Ok(())
}

/// list-user-profiles with `total` hosted profiles in a production/pro app: p50 and p99 of
/// page 1, page 50 and the last page (20 per page, both orders) through the handler (signature,
/// replay guard, reads, JSON), the page after a page just read (a walk), and the DynamoDB
/// requests and items each read costs (counted by the shared list function itself).
async fn profiles(total: usize, iterations: usize) -> Result<(), BoxError> {
    use shared::profiles::{self, Changes, Order};
    let (state, _) = state().await?;
    let app = Arc::new(production_app(&state).await?);
    let ids: Vec<String> = (0..total).map(|i| format!("p{i:05}")).collect();
    let started = Instant::now();
    for_each_concurrently(ids.clone(), 16, |id| {
        let (state, app) = (state.clone(), app.clone());
        async move { issue(&state, &app, &id).await }
    })
    .await?;
    let registered = started.elapsed();
    let started = Instant::now();
    for_each_concurrently(ids, 16, |id| {
        let (state, app) = (state.clone(), app.clone());
        async move {
            let changes = Changes {
                user_profile: json!({"name": format!("User {id}"), "level": 7})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
                user_ext_profile: json!({"ext_team": "blue"})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
            };
            profiles::set(&state, &app, &id, &changes, state.clock.now_ms()).await?;
            Ok(())
        }
    })
    .await?;
    let profiled = started.elapsed();
    eprintln!(
        "{total} users registered in {:.1} s, their profiles set in {:.1} s",
        registered.as_secs_f64(),
        profiled.as_secs_f64()
    );

    let router = local_api::router::all();
    let functions =
        local_api::functions::Functions::new(state.clone(), local_api::functions::Iam::Off)?;
    let page_size = 20u32;
    let last = (total as u32).div_ceil(page_size);
    let read = |page: u32, order: u8| {
        let body = json!({"page": page, "pageSize": page_size, "order": order}).to_string();
        let mut request = Request::new(Body::Text(body));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = "/v4/user/profile/list".parse().expect("path");
        for (name, value) in signed_headers(&app, state.clock.now_ms()) {
            if let Ok(value) = HeaderValue::from_str(&value) {
                request.headers_mut().insert(name, value);
            }
        }
        let (router, functions) = (router.clone(), functions.clone());
        async move {
            let started = Instant::now();
            let response = router.dispatch(&functions, request, "").await;
            let elapsed = started.elapsed();
            let body: Value = serde_json::from_slice(response.body().as_ref())?;
            let users = body["result"]["users"].as_array().map_or(0, Vec::len);
            if response.status() != 200 {
                return Err(format!("list answered {}: {body}", response.status()).into());
            }
            Ok::<_, BoxError>((elapsed, users))
        }
    };
    println!(
        "| read (pageSize {page_size}, {total} profiles) | order | p50 ms | p99 ms | users returned | DynamoDB requests | items read |"
    );
    println!("|---|---|---|---|---|---|---|");
    for order in [0u8, 1] {
        let list_order = if order == 0 {
            Order::Ascending
        } else {
            Order::Descending
        };
        for (label, page, after_previous) in [
            ("page 1".to_owned(), 1, false),
            ("page 50".to_owned(), 50, false),
            (format!("last page ({last})"), last, false),
            ("page 51 right after page 50 (a walk)".to_owned(), 51, true),
        ] {
            let mut times = Vec::with_capacity(iterations);
            let mut returned = 0;
            for i in 0..iterations + 20 {
                if after_previous {
                    read(page - 1, order).await?;
                }
                let (elapsed, users) = read(page, order).await?;
                returned = users;
                if i >= 20 {
                    times.push(elapsed);
                }
            }
            times.sort();
            // The same read once more through the shared function, for its cost.
            if after_previous {
                let now_ms = state.clock.now_ms();
                profiles::list(
                    &state,
                    &app.app_key,
                    page - 1,
                    page_size,
                    list_order,
                    now_ms,
                )
                .await?;
            }
            let now_ms = state.clock.now_ms();
            let (_, stats) =
                profiles::list(&state, &app.app_key, page, page_size, list_order, now_ms).await?;
            println!(
                "| {label} | {} | {} | {} | {returned} | {} | {} |",
                if order == 0 {
                    "ascending"
                } else {
                    "descending"
                },
                ms(percentile(&times, 0.5)),
                ms(percentile(&times, 0.99)),
                stats.requests + 1,
                stats.items_read,
            );
        }
    }
    println!(
        "\n{iterations} reads each after 20 warm-up reads, through the handler; \"DynamoDB requests\" includes the replay guard's PutItem. Items read: count-tree nodes, the remembered page end, the profiles of the page's first millisecond before it, and the page. Setup: {total} users registered in {:.0} s and their profiles set in {:.0} s (16 at a time).",
        registered.as_secs_f64(),
        profiled.as_secs_f64()
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["warm"] => warm(2000, None).await,
        ["metrics"] => metrics(2000).await,
        ["metrics", n] => metrics(n.parse()?).await,
        ["warm", n] => warm(n.parse()?, None).await,
        ["warm", n, samples] => warm(n.parse()?, Some(samples.into())).await,
        ["leases"] => leases::leases(20).await,
        ["leases", seconds] => leases::leases(seconds.parse()?).await,
        ["secret", runs, signer, other] => {
            secret_cold::secret(runs.parse()?, signer.into(), other.into()).await
        }
        ["guard"] => guard::guard(1000).await,
        ["guard", n] => guard::guard(n.parse()?).await,
        ["lambda", runs, function, baselines @ ..] if !baselines.is_empty() => {
            let baselines = baselines.iter().map(|b| PathBuf::from(*b)).collect();
            lambda(function.into(), baselines, runs.parse()?).await
        }
        ["profiles"] => profiles(10_000, 200).await,
        ["profiles", n] => profiles(n.parse()?, 200).await,
        ["profiles", n, iterations] => profiles(n.parse()?, iterations.parse()?).await,
        _ => Err("usage: bench warm [N [SAMPLES.csv]] | bench metrics [N] | bench leases [SECONDS] | bench secret RUNS SIGNER OTHER | bench guard [N] | bench lambda RUNS FUNCTION BASELINE... | bench profiles [PROFILES] [ITERATIONS]".into()),
    }
}
