//! What the stack measures, through the `metrics` facade: on Lambda the CloudWatch Embedded
//! Metric Format ([`emf`], log lines CloudWatch turns into metrics: no `PutMetricData`, no
//! request), in the local API the Prometheus text format (`local-api/src/metrics.rs`). Code that
//! measures calls the functions here, never the facade's macros, so the catalogue below is the
//! whole list and its dimensions stay few: an operation (the function's name), an answer (HTTP
//! status and business code), an outcome or an event type, and the app only for rate-limit
//! refusals. Never a user.
//!
//! `METRICS=off` in a function's environment (the template's `Metrics` parameter) records
//! nothing and asks DynamoDB for no capacity figures.

pub mod dynamodb;
pub mod emf;
pub mod read;

use std::cell::Cell;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};

/// Metric names: CloudWatch's, in the stack's namespace; the local API's are
/// `chat_users_<name>`, with `_total` after a counter's.
pub mod name {
    /// Counter {operation, status, code}: calls answered.
    pub const CALLS: &str = "calls";
    /// Histogram {operation}: from the request to its answer, in seconds.
    pub const CALL_DURATION: &str = "call_duration_seconds";
    /// Counter {operation}: DynamoDB requests the calls sent.
    pub const DYNAMODB_REQUESTS: &str = "dynamodb_requests";
    /// Histogram {operation}: read capacity units one call consumed.
    pub const DYNAMODB_READ_UNITS: &str = "dynamodb_read_units";
    /// Histogram {operation}: write capacity units one call consumed.
    pub const DYNAMODB_WRITE_UNITS: &str = "dynamodb_write_units";
    /// Counter {operation}: containers started.
    pub const COLD_STARTS: &str = "cold_starts";
    /// Histogram {operation}: a container's set-up, in seconds.
    pub const INIT_DURATION: &str = "init_duration_seconds";
    /// Counter {operation, app}: calls the app's limit per second refused (429/1008).
    pub const RATE_LIMITED: &str = "rate_limited";
    /// Counter {type}: webhook events recorded for delivery.
    pub const WEBHOOK_EVENTS: &str = "webhook_events";
    /// Counter {outcome}: delivery attempts (`delivered`, `failed`, `retry`).
    pub const WEBHOOK_ATTEMPTS: &str = "webhook_attempts";
    /// Histogram: from the change's commit to its first successful delivery, in seconds.
    pub const WEBHOOK_DELIVERY_LATENCY: &str = "webhook_delivery_latency_seconds";
    /// Counter: purge rounds (one invocation's work on one user).
    pub const PURGE_ROUNDS: &str = "purge_rounds";
    /// Counter: items a purge removed.
    pub const PURGE_ITEMS_REMOVED: &str = "purge_items_removed";
    /// Counter: users whose purge finished.
    pub const PURGE_USERS_DONE: &str = "purge_users_done";
    /// Gauge: users of soft deletes whose purge has not finished (the sweeper's census).
    pub const PURGE_PENDING: &str = "purge_pending";
    /// Gauge: age of the oldest soft delete whose purge has not finished, in seconds.
    pub const PURGE_OLDEST_PENDING: &str = "purge_oldest_pending_seconds";
}

static ENABLED: AtomicBool = AtomicBool::new(true);

/// Whether this process records metrics (on unless switched off).
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Switches recording on or off for the whole process (the `METRICS` variable; benchmarks).
pub fn set_enabled(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// On Lambda, one call in this many per container (and its first) asks DynamoDB for the
/// capacity its requests consume. Asking costs the request time: +35 µs on a GetItem of about
/// 0.8 ms against DynamoDB Local (`bench metrics`), 4 %, which every call would pay; the units of
/// a sample of calls give the same average per call. Requests are counted on every call.
pub const LAMBDA_CAPACITY_SAMPLE: u32 = 16;

/// Which calls measure their capacity: the first of every `every` started.
struct Sampler {
    every: AtomicU32,
    started: AtomicU32,
}

impl Sampler {
    const fn every(every: u32) -> Self {
        Self {
            every: AtomicU32::new(every),
            started: AtomicU32::new(0),
        }
    }

    fn next(&self) -> bool {
        let every = self.every.load(Ordering::Relaxed).max(1);
        self.started
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(every)
    }
}

/// Every call until configured (the local API's setting: its figures are for reading).
static CAPACITY_SAMPLER: Sampler = Sampler::every(1);

/// Sets how many calls share one capacity sample (1: every call measures its capacity).
pub fn set_capacity_sample(every: u32) {
    CAPACITY_SAMPLER
        .every
        .store(every.max(1), Ordering::Relaxed);
}

/// A function's configuration on Lambda: `METRICS` (`off` switches recording off) and
/// `METRICS_CAPACITY_SAMPLE` (one call in how many measures its capacity, default
/// [`LAMBDA_CAPACITY_SAMPLE`]).
pub fn configure_from_env() {
    if std::env::var("METRICS").is_ok_and(|v| v.trim().eq_ignore_ascii_case("off")) {
        set_enabled(false);
    }
    let sample = std::env::var("METRICS_CAPACITY_SAMPLE")
        .ok()
        .and_then(|v| v.trim().parse::<u32>().ok())
        .unwrap_or(LAMBDA_CAPACITY_SAMPLE);
    set_capacity_sample(sample);
}

/// Whether a request sent now asks for its consumed capacity: always outside a call (event
/// functions, tests' own requests), in a call when it is one of the sample.
fn asks_capacity() -> bool {
    enabled() && CALL.try_with(|c| c.usage.get().capacity).unwrap_or(true)
}

/// The kind of a metric of the catalogue.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// Every metric with its kind, unit and description.
const CATALOGUE: &[(Kind, &str, Unit, &str)] = {
    use Kind::*;
    use name::*;
    &[
        (
            Counter,
            CALLS,
            Unit::Count,
            "Calls answered, by HTTP status and business code.",
        ),
        (
            Histogram,
            CALL_DURATION,
            Unit::Seconds,
            "From the request to its answer.",
        ),
        (
            Counter,
            DYNAMODB_REQUESTS,
            Unit::Count,
            "DynamoDB requests sent by calls.",
        ),
        (
            Histogram,
            DYNAMODB_READ_UNITS,
            Unit::Count,
            "Read capacity units per call.",
        ),
        (
            Histogram,
            DYNAMODB_WRITE_UNITS,
            Unit::Count,
            "Write capacity units per call.",
        ),
        (Counter, COLD_STARTS, Unit::Count, "Containers started."),
        (
            Histogram,
            INIT_DURATION,
            Unit::Seconds,
            "A container's set-up.",
        ),
        (
            Counter,
            RATE_LIMITED,
            Unit::Count,
            "Calls refused by an app's limit per second.",
        ),
        (
            Counter,
            WEBHOOK_EVENTS,
            Unit::Count,
            "Webhook events recorded for delivery.",
        ),
        (
            Counter,
            WEBHOOK_ATTEMPTS,
            Unit::Count,
            "Webhook delivery attempts by outcome.",
        ),
        (
            Histogram,
            WEBHOOK_DELIVERY_LATENCY,
            Unit::Seconds,
            "From a change's commit to its first successful delivery.",
        ),
        (Counter, PURGE_ROUNDS, Unit::Count, "Purge rounds."),
        (
            Counter,
            PURGE_ITEMS_REMOVED,
            Unit::Count,
            "Items purges removed.",
        ),
        (
            Counter,
            PURGE_USERS_DONE,
            Unit::Count,
            "Users whose purge finished.",
        ),
        (
            Gauge,
            PURGE_PENDING,
            Unit::Count,
            "Users whose purge has not finished.",
        ),
        (
            Gauge,
            PURGE_OLDEST_PENDING,
            Unit::Seconds,
            "Age of the oldest soft delete whose purge has not finished.",
        ),
    ]
};

/// Units and descriptions, for whichever recorder is installed (EMF units, Prometheus help).
pub fn describe() {
    for &(kind, name, unit, description) in CATALOGUE {
        match kind {
            Kind::Counter => describe_counter!(name, unit, description),
            Kind::Gauge => describe_gauge!(name, unit, description),
            Kind::Histogram => describe_histogram!(name, unit, description),
        }
    }
}

/// What one call cost in DynamoDB: requests sent, and the units their answers reported when it
/// asked for them (`capacity`).
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Usage {
    pub requests: u32,
    pub read_units: f64,
    pub write_units: f64,
    /// Whether the call's requests asked for their capacity (one call of each sample).
    pub capacity: bool,
}

/// The call a task is serving: its request id, and what its DynamoDB requests cost so far.
struct CallScope {
    request_id: Box<str>,
    usage: Cell<Usage>,
}

tokio::task_local! {
    static CALL: CallScope;
}

/// Runs `call` as the call `request_id`: the DynamoDB requests it sends (the futures it joins,
/// not tasks it spawns) are counted for it ([`usage`]), and [`request_id`] answers its id.
pub async fn within_call<F: Future>(request_id: &str, call: F) -> F::Output {
    let scope = CallScope {
        request_id: request_id.into(),
        usage: Cell::new(Usage {
            capacity: CAPACITY_SAMPLER.next(),
            ..Usage::default()
        }),
    };
    CALL.scope(scope, call).await
}

/// What the call in scope ([`within_call`]) has cost so far; nothing outside a call.
pub fn usage() -> Usage {
    CALL.try_with(|c| c.usage.get()).unwrap_or_default()
}

/// The request id of the call in scope ([`within_call`]), if any: what the changes a call makes
/// carry, so an operator can follow them from the API to a webhook's receiver.
pub fn request_id() -> Option<String> {
    CALL.try_with(|c| c.request_id.to_string()).ok()
}

fn add_dynamodb_request(read_units: f64, write_units: f64) {
    let _ = CALL.try_with(|c| {
        let mut usage = c.usage.get();
        usage.requests += 1;
        usage.read_units += read_units;
        usage.write_units += write_units;
        c.usage.set(usage);
    });
}

/// A container's first invocation, counted once: how long its set-up took.
#[derive(Debug)]
pub struct ColdStart {
    pending: AtomicBool,
    init: Duration,
}

impl ColdStart {
    /// A container whose set-up began at `began` and ends now.
    pub fn since(began: Instant) -> Self {
        Self {
            pending: AtomicBool::new(true),
            init: began.elapsed(),
        }
    }

    /// The set-up's duration the first time, then `None`.
    pub fn take(&self) -> Option<Duration> {
        self.pending
            .swap(false, Ordering::Relaxed)
            .then_some(self.init)
    }
}

/// Counts an invocation of `operation`'s container: a cold start the first time.
pub fn invoked(cold_start: &ColdStart, operation: &'static str) {
    if let Some(init) = cold_start.take()
        && enabled()
    {
        counter!(name::COLD_STARTS, "operation" => operation).increment(1);
        histogram!(name::INIT_DURATION, "operation" => operation).record(init.as_secs_f64());
    }
}

/// One answered call: its answer, its duration and what it cost in DynamoDB (its units when it
/// measured them).
pub fn answered(operation: &'static str, status: u16, code: i64, elapsed: Duration, usage: Usage) {
    if !enabled() {
        return;
    }
    counter!(name::CALLS, "operation" => operation, "status" => status.to_string(), "code" => code.to_string())
        .increment(1);
    histogram!(name::CALL_DURATION, "operation" => operation).record(elapsed.as_secs_f64());
    counter!(name::DYNAMODB_REQUESTS, "operation" => operation).increment(usage.requests.into());
    if usage.capacity {
        histogram!(name::DYNAMODB_READ_UNITS, "operation" => operation).record(usage.read_units);
        histogram!(name::DYNAMODB_WRITE_UNITS, "operation" => operation).record(usage.write_units);
    }
}

/// A call `app`'s limit per second refused.
pub fn rate_limited(operation: &str, app_key: &str) {
    if enabled() {
        let (operation, app) = (operation.to_owned(), app_key.to_owned());
        counter!(name::RATE_LIMITED, "operation" => operation, "app" => app).increment(1);
    }
}

/// A webhook event recorded for delivery (its Nexconn type, `user:profile_update`).
pub fn webhook_event(event_type: &'static str) {
    if enabled() {
        counter!(name::WEBHOOK_EVENTS, "type" => event_type).increment(1);
    }
}

/// What became of one delivery attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// The receiver accepted it.
    Delivered,
    /// It failed and another attempt is scheduled.
    Retry,
    /// It failed and no attempt is left.
    Failed,
}

impl Attempt {
    pub fn label(self) -> &'static str {
        match self {
            Attempt::Delivered => "delivered",
            Attempt::Retry => "retry",
            Attempt::Failed => "failed",
        }
    }
}

/// One delivery attempt's outcome; for the first success, how long after its change's commit.
pub fn webhook_attempt(outcome: Attempt, since_commit: Option<Duration>) {
    if !enabled() {
        return;
    }
    counter!(name::WEBHOOK_ATTEMPTS, "outcome" => outcome.label()).increment(1);
    if let Some(latency) = since_commit {
        histogram!(name::WEBHOOK_DELIVERY_LATENCY).record(latency.as_secs_f64());
    }
}

/// One purge round: the items it removed, and whether the user's purge finished.
pub fn purge_round(items_removed: u64, finished: bool) {
    if !enabled() {
        return;
    }
    counter!(name::PURGE_ROUNDS).increment(1);
    counter!(name::PURGE_ITEMS_REMOVED).increment(items_removed);
    if finished {
        counter!(name::PURGE_USERS_DONE).increment(1);
    }
}

/// The purge backlog as the sweeper counted it.
pub fn purge_backlog(pending_users: u64, oldest: Option<Duration>) {
    if !enabled() {
        return;
    }
    gauge!(name::PURGE_PENDING).set(pending_users as f64);
    gauge!(name::PURGE_OLDEST_PENDING).set(oldest.unwrap_or_default().as_secs_f64());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_call_counts_only_its_own_requests() {
        let counted = within_call("r-1", async {
            add_dynamodb_request(0.5, 0.0);
            add_dynamodb_request(0.0, 2.0);
            assert_eq!(request_id().as_deref(), Some("r-1"));
            usage()
        })
        .await;
        assert_eq!(
            (counted.requests, counted.read_units, counted.write_units),
            (2, 0.5, 2.0)
        );
        // Outside a call nothing is counted and there is no request id.
        add_dynamodb_request(1.0, 1.0);
        assert_eq!(request_id(), None);
        assert_eq!(usage(), Usage::default());
    }

    #[test]
    fn the_first_call_of_each_sample_measures_its_capacity() {
        let sampler = Sampler::every(4);
        let measured: Vec<bool> = (0..9).map(|_| sampler.next()).collect();
        let expected = [true, false, false, false, true, false, false, false, true];
        assert_eq!(measured, expected);
        assert!((0..3).all(|_| Sampler::every(1).next()));
    }

    #[test]
    fn a_cold_start_is_taken_once() {
        let cold = ColdStart::since(Instant::now());
        assert!(cold.take().is_some());
        assert_eq!(cold.take(), None);
    }
}
