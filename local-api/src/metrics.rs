//! The metrics the local functions emit, collected in this process and served at `GET /metrics`
//! in the Prometheus text format, and at `GET /metrics/json` as JSON (the same samples). On AWS
//! the same calls are CloudWatch EMF lines (`shared::metrics::emf`): one catalogue, two
//! recorders of the `metrics` facade. Names here are `chat_users_<name>`, and counters end in
//! `_total`, as Prometheus names them.
//!
//! The Console's charts read them back through [`source`] (`shared::metrics::read`): a sampler
//! thread keeps what the figures the charts need grew by every [`SAMPLE_PERIOD`], for a day, and
//! each read takes one more sample so the latest calls show at once.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, OnceLock};
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use metrics_util::layers::{Layer, PrefixLayer};
use serde_json::{Map, Value, json};
use shared::error::ApiError;
use shared::metrics::name;
use shared::metrics::read::{
    Buckets, CALL_SECONDS, Metric, Point, Query, ReadFuture, Reading, Source,
};

use crate::iam::{Need, Policy};

/// What every name here starts with.
const PREFIX: &str = "chat_users";
/// Bucket bounds of capacity units per call (a strongly consistent read of 4 KB is 1).
const UNITS: &[f64] = &[0.0, 0.5, 1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0];
/// Bucket bounds (seconds) of a webhook's delay from its change to its first delivery: seconds
/// when the receiver answers at once, minutes to hours after retries (the local schedule spends
/// 7 minutes, AWS's more than a day). Other durations use [`CALL_SECONDS`]: DynamoDB Local
/// answers in about a millisecond, a batch of 100 users takes tens, a timeout 8 s.
const WEBHOOK_LAG_SECONDS: &[f64] = &[
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0, 3600.0, 21_600.0, 86_400.0,
];

/// How often the sampler reads the recorder: the resolution of the local charts.
pub const SAMPLE_PERIOD: Duration = Duration::from_secs(10);
/// How far back the samples go.
const KEPT_MS: i64 = 24 * 3600 * 1000;
/// At most this many samples are kept (a day of the sampler's and as many taken by reads);
/// samples in which nothing grew are not kept at all, so an idle day costs nothing.
const MAX_SAMPLES: usize = 2 * 24 * 3600 / 10;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process's recorder once (later calls return the same handle), and starts the
/// sampler behind [`source`]. `None` when another recorder was installed first (a benchmark's
/// own): then nothing is collected here.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let webhook_lag = exposed(name::WEBHOOK_DELIVERY_LATENCY, "");
            let recorder = PrometheusBuilder::new()
                .with_recommended_naming(true)
                // A full name is matched before a suffix.
                .set_buckets_for_metric(Matcher::Full(webhook_lag), WEBHOOK_LAG_SECONDS)
                .and_then(|b| {
                    b.set_buckets_for_metric(Matcher::Suffix("seconds".into()), CALL_SECONDS)
                })
                .and_then(|b| b.set_buckets_for_metric(Matcher::Suffix("units".into()), UNITS))
                .map(PrometheusBuilder::build_recorder);
            let recorder = match recorder {
                Ok(recorder) => recorder,
                Err(err) => {
                    tracing::error!(error = %err, "no metrics recorder");
                    return None;
                }
            };
            let handle = recorder.handle();
            let named = PrefixLayer::new(PREFIX).layer(recorder);
            metrics::set_global_recorder(named).ok()?;
            shared::metrics::describe();
            start_sampler(handle.clone());
            Some(handle)
        })
        .as_ref()
}

/// Everything collected so far, in the Prometheus text format (empty without a recorder).
pub fn prometheus() -> String {
    install().map(PrometheusHandle::render).unwrap_or_default()
}

/// The same samples as JSON: `{"metrics":[{"name","labels":{...},"value"}]}`, a histogram as
/// its `_bucket`, `_sum` and `_count` samples.
pub fn json() -> Value {
    json!({ "metrics": samples(&prometheus()) })
}

/// The samples of a Prometheus text exposition (comments skipped).
pub fn samples(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(sample)
        .collect()
}

/// `name{label="value",...} number` → `{"name","labels","value"}`.
fn sample(line: &str) -> Option<Value> {
    let (series, value) = line.rsplit_once(' ')?;
    let value: f64 = value.parse().ok()?;
    let (name, labels) = match series.split_once('{') {
        Some((name, rest)) => (name, labels_of(rest.strip_suffix('}')?)?),
        None => (series, Map::new()),
    };
    Some(json!({ "name": name, "labels": labels, "value": value }))
}

/// `a="x",b="y \"q\""` → `{"a":"x","b":"y \"q\""}` (values escaped as Prometheus escapes them).
fn labels_of(text: &str) -> Option<Map<String, Value>> {
    let mut labels = Map::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (key, after) = rest.split_once("=\"")?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next()? {
                (i, '"') => break i,
                (_, '\\') => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                (_, c) => value.push(c),
            }
        };
        labels.insert(key.trim_start_matches(',').to_owned(), Value::String(value));
        rest = &after[end + 1..];
    }
    Some(labels)
}

/// The value of one sample: `name` with every label of `labels` (others may differ), summed over
/// the series that match. Tests and scripts read single figures this way.
pub fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    samples(text)
        .iter()
        .filter(|s| s["name"] == name)
        .filter(|s| labels.iter().all(|(k, v)| s["labels"][*k] == *v))
        .filter_map(|s| s["value"].as_f64())
        .sum()
}

/// The figures the charts need: totals since the process started as the recorder holds them, or
/// what they grew by between two samples.
#[derive(Debug, Clone, Default, PartialEq)]
struct Figures {
    calls: f64,
    /// Calls answered 5xx.
    errors: f64,
    /// Refusals by an app's limit, by app.
    rate_limited: HashMap<String, f64>,
    /// Delivery attempts that failed with no retry left.
    webhook_failed: f64,
    /// Call durations of every operation (bounds [`CALL_SECONDS`]).
    latency: Buckets,
    /// Delays from a change to its first delivery (bounds [`WEBHOOK_LAG_SECONDS`]).
    webhook_lag: Buckets,
}

/// A histogram or counter as Prometheus names it here: `chat_users_<name><suffix>`.
fn exposed(metric: &str, suffix: &str) -> String {
    format!("{PREFIX}_{metric}{suffix}")
}

impl Figures {
    /// The totals of a Prometheus text exposition.
    fn of(text: &str) -> Figures {
        let calls = exposed(name::CALLS, "_total");
        let refused = exposed(name::RATE_LIMITED, "_total");
        let attempts = exposed(name::WEBHOOK_ATTEMPTS, "_total");
        let latency = exposed(name::CALL_DURATION, "_bucket");
        let latency_count = exposed(name::CALL_DURATION, "_count");
        let lag = exposed(name::WEBHOOK_DELIVERY_LATENCY, "_bucket");
        let lag_count = exposed(name::WEBHOOK_DELIVERY_LATENCY, "_count");
        let mut figures = Figures::default();
        for sample in samples(text) {
            let (Some(metric), Some(value)) = (sample["name"].as_str(), sample["value"].as_f64())
            else {
                continue;
            };
            let label = |key: &str| sample["labels"][key].as_str();
            if metric == calls {
                figures.calls += value;
                let status = label("status").and_then(|s| s.parse::<u16>().ok());
                if status.is_some_and(|status| status >= 500) {
                    figures.errors += value;
                }
            } else if metric == refused {
                if let Some(app) = label("app") {
                    *figures.rate_limited.entry(app.to_owned()).or_default() += value;
                }
            } else if metric == attempts {
                if label("outcome") == Some(shared::metrics::Attempt::Failed.label()) {
                    figures.webhook_failed += value;
                }
            } else if metric == latency {
                add_bucket(&mut figures.latency, CALL_SECONDS, label("le"), value);
            } else if metric == latency_count {
                figures.latency.count += value;
            } else if metric == lag {
                add_bucket(
                    &mut figures.webhook_lag,
                    WEBHOOK_LAG_SECONDS,
                    label("le"),
                    value,
                );
            } else if metric == lag_count {
                figures.webhook_lag.count += value;
            }
        }
        figures
    }

    /// What grew from `earlier` to these totals (never below 0; apps with no new refusal left
    /// out).
    fn since(&self, earlier: &Figures) -> Figures {
        let grown = |now: f64, before: f64| (now - before).max(0.0);
        Figures {
            calls: grown(self.calls, earlier.calls),
            errors: grown(self.errors, earlier.errors),
            rate_limited: self
                .rate_limited
                .iter()
                .map(|(app, n)| {
                    let before = earlier.rate_limited.get(app).copied().unwrap_or(0.0);
                    (app.clone(), grown(*n, before))
                })
                .filter(|(_, n)| *n > 0.0)
                .collect(),
            webhook_failed: grown(self.webhook_failed, earlier.webhook_failed),
            latency: buckets_since(&self.latency, &earlier.latency),
            webhook_lag: buckets_since(&self.webhook_lag, &earlier.webhook_lag),
        }
    }

    fn is_nothing(&self) -> bool {
        self.calls == 0.0
            && self.rate_limited.is_empty()
            && self.webhook_failed == 0.0
            && self.latency.count == 0.0
            && self.webhook_lag.count == 0.0
    }

    fn add(&mut self, other: &Figures) {
        self.calls += other.calls;
        self.errors += other.errors;
        for (app, n) in &other.rate_limited {
            *self.rate_limited.entry(app.clone()).or_default() += n;
        }
        self.webhook_failed += other.webhook_failed;
        add_buckets(&mut self.latency, &other.latency);
        add_buckets(&mut self.webhook_lag, &other.webhook_lag);
    }
}

/// Adds a `_bucket` sample (`le` one of `bounds`; `+Inf` is the count, read from `_count`).
fn add_bucket(buckets: &mut Buckets, bounds: &[f64], le: Option<&str>, value: f64) {
    let Some(le) = le.and_then(|le| le.parse::<f64>().ok()) else {
        return;
    };
    if let Some(i) = bounds.iter().position(|b| (b - le).abs() <= b * 1e-9) {
        buckets.at_or_under.resize(bounds.len(), 0.0);
        buckets.at_or_under[i] += value;
    }
}

fn buckets_since(now: &Buckets, before: &Buckets) -> Buckets {
    let earlier = |i: usize| before.at_or_under.get(i).copied().unwrap_or(0.0);
    Buckets {
        at_or_under: (now.at_or_under.iter().enumerate())
            .map(|(i, n)| (n - earlier(i)).max(0.0))
            .collect(),
        count: (now.count - before.count).max(0.0),
    }
}

fn add_buckets(into: &mut Buckets, other: &Buckets) {
    if into.at_or_under.len() < other.at_or_under.len() {
        into.at_or_under.resize(other.at_or_under.len(), 0.0);
    }
    for (sum, n) in into.at_or_under.iter_mut().zip(&other.at_or_under) {
        *sum += n;
    }
    into.count += other.count;
}

/// The recorder's figures over time.
#[derive(Default)]
struct Samples {
    /// The totals at the last sample.
    last: Figures,
    /// When each sample was taken (Unix ms) and what grew since the one before, oldest first.
    grown: VecDeque<(i64, Figures)>,
}

impl Samples {
    /// Records the totals read at `at_ms`: what grew since the last sample, if anything did.
    fn take(&mut self, totals: Figures, at_ms: i64) {
        let grown = totals.since(&self.last);
        self.last = totals;
        if !grown.is_nothing() {
            self.grown.push_back((at_ms, grown));
        }
        while self.grown.len() > MAX_SAMPLES
            || self
                .grown
                .front()
                .is_some_and(|(at, _)| *at < at_ms - KEPT_MS)
        {
            self.grown.pop_front();
        }
    }

    /// Each metric per period of `query`: growth is counted in the period its sample was taken
    /// in (so within [`SAMPLE_PERIOD`] of when it happened), percentiles are estimated from the
    /// period's bucket counts.
    fn read(&self, query: &Query) -> Vec<Reading> {
        let mut periods = BTreeMap::<i64, Figures>::new();
        for (at, grown) in &self.grown {
            if let Some(start) = query.period_of(*at) {
                periods.entry(start).or_default().add(grown);
            }
        }
        let count = |metric: Metric, value: &dyn Fn(&Figures) -> f64| Reading {
            metric,
            points: periods.iter().map(|(t, f)| Point(*t, value(f))).collect(),
        };
        let percentile = |metric: Metric, value: &dyn Fn(&Figures) -> Option<f64>| Reading {
            metric,
            points: (periods.iter())
                .filter_map(|(t, f)| value(f).map(|v| Point(*t, v)))
                .collect(),
        };
        let app = query.app_key.as_deref();
        vec![
            count(Metric::Calls, &|f| f.calls),
            count(Metric::Errors, &|f| f.errors),
            count(Metric::RateLimited, &|f| match app {
                Some(app) => f.rate_limited.get(app).copied().unwrap_or(0.0),
                None => f.rate_limited.values().sum(),
            }),
            count(Metric::WebhookFailed, &|f| f.webhook_failed),
            percentile(Metric::LatencyP50, &|f| {
                f.latency.quantile(CALL_SECONDS, 0.5)
            }),
            percentile(Metric::LatencyP99, &|f| {
                f.latency.quantile(CALL_SECONDS, 0.99)
            }),
            percentile(Metric::WebhookLagP99, &|f| {
                f.webhook_lag.quantile(WEBHOOK_LAG_SECONDS, 0.99)
            }),
        ]
    }
}

static SAMPLES: LazyLock<Mutex<Samples>> = LazyLock::new(Mutex::default);

fn samples_lock() -> std::sync::MutexGuard<'static, Samples> {
    SAMPLES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn now_ms() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

/// Takes a sample of `handle`'s figures now. Read under the lock, so two samples never record
/// their totals out of order.
fn take_sample(handle: &PrometheusHandle) {
    let mut samples = samples_lock();
    let totals = Figures::of(&handle.render());
    samples.take(totals, now_ms());
}

/// Samples every [`SAMPLE_PERIOD`] on a thread of its own: it outlives any one runtime (tests
/// start one per test).
fn start_sampler(handle: PrometheusHandle) {
    let started = std::thread::Builder::new()
        .name("metrics-sampler".into())
        .spawn(move || {
            loop {
                std::thread::sleep(SAMPLE_PERIOD);
                take_sample(&handle);
            }
        });
    if let Err(err) = started {
        // Reads still take their own sample; only the charts' resolution suffers.
        tracing::error!(error = %err, "no metrics sampler");
    }
}

static READS: AtomicU64 = AtomicU64::new(0);

/// How many reads the local source has answered in this process (a test checks that a refused
/// request read nothing).
pub fn reads() -> u64 {
    READS.load(Ordering::Relaxed)
}

/// The local API's metrics source for a container: this process's recorder, sampled; with a
/// policy, only if it allows `cloudwatch:GetMetricData` (which CloudWatch authorizes on `*`).
pub fn source(policy: Option<Arc<Policy>>) -> Arc<dyn Source> {
    Arc::new(LocalSource { policy })
}

struct LocalSource {
    policy: Option<Arc<Policy>>,
}

impl Source for LocalSource {
    fn resolution(&self) -> Duration {
        SAMPLE_PERIOD
    }

    fn read<'a>(&'a self, query: &'a Query) -> ReadFuture<'a> {
        let needs = [Need::new("cloudwatch:GetMetricData", "*")];
        let allowed = self.policy.as_ref().map_or(Ok(()), |p| p.check(&needs));
        Box::pin(async move {
            // CloudWatch answers AccessDenied.
            allowed.map_err(|denied| {
                ApiError::Internal(format!("GetMetricData: AccessDenied: {denied}"))
            })?;
            READS.fetch_add(1, Ordering::Relaxed);
            let Some(handle) = install() else {
                return Ok(Vec::new());
            };
            take_sample(handle);
            Ok(samples_lock().read(query))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_read_names_labels_and_values() {
        let text = "# HELP x y\n# TYPE chat_users_calls_total counter\n\
            chat_users_calls_total{operation=\"get-user\",status=\"404\",code=\"1010\"} 3\n\
            chat_users_purge_pending 0\n\
            chat_users_odd{a=\"say \\\"hi\\\", ok\",b=\"2\"} 1.5\n";
        let all = samples(text);
        assert_eq!(all.len(), 3);
        assert_eq!(all[0]["labels"]["status"], "404");
        assert_eq!(
            all[1],
            json!({"name": "chat_users_purge_pending", "labels": {}, "value": 0.0})
        );
        assert_eq!(all[2]["labels"]["a"], "say \"hi\", ok");
        assert_eq!(all[2]["labels"]["b"], "2");
        assert_eq!(
            value(text, "chat_users_calls_total", &[("code", "1010")]),
            3.0
        );
        assert_eq!(value(text, "chat_users_calls_total", &[("code", "0")]), 0.0);
    }

    /// A recorder's text with `calls` get-user calls answered 200 and `failed` answered 504, each
    /// taking 20 ms, `refused` refusals of app `k1`, and one failed webhook attempt.
    fn exposition(ok: u32, failed: u32, refused: u32) -> String {
        let calls = ok + failed;
        let buckets: String = CALL_SECONDS
            .iter()
            .map(|b| {
                let under = if *b >= 0.02 { calls } else { 0 };
                format!("chat_users_call_duration_seconds_bucket{{operation=\"get-user\",le=\"{b}\"}} {under}\n")
            })
            .collect();
        format!(
            "chat_users_calls_total{{operation=\"get-user\",status=\"200\",code=\"0\"}} {ok}\n\
             chat_users_calls_total{{operation=\"get-user\",status=\"504\",code=\"1050\"}} {failed}\n\
             chat_users_rate_limited_total{{operation=\"get-user\",app=\"k1\"}} {refused}\n\
             chat_users_webhook_attempts_total{{outcome=\"failed\"}} 1\n\
             chat_users_webhook_attempts_total{{outcome=\"retry\"}} 5\n\
             {buckets}\
             chat_users_call_duration_seconds_bucket{{operation=\"get-user\",le=\"+Inf\"}} {calls}\n\
             chat_users_call_duration_seconds_count{{operation=\"get-user\"}} {calls}\n"
        )
    }

    #[test]
    fn figures_read_calls_errors_refusals_and_buckets() {
        let figures = Figures::of(&exposition(7, 3, 2));
        assert_eq!((figures.calls, figures.errors), (10.0, 3.0));
        assert_eq!(figures.rate_limited.get("k1"), Some(&2.0));
        assert_eq!(
            figures.webhook_failed, 1.0,
            "only attempts with no retry left"
        );
        assert_eq!(figures.latency.count, 10.0);
        assert_eq!(figures.latency.at_or_under.len(), CALL_SECONDS.len());
        let p50 = figures.latency.quantile(CALL_SECONDS, 0.5).unwrap();
        assert!((0.01..=0.025).contains(&p50), "{p50}");
    }

    #[test]
    fn samples_keep_what_grew_and_read_it_per_period() {
        let minute = 60_000;
        let mut samples = Samples::default();
        samples.take(Figures::of(&exposition(1, 0, 0)), 10 * minute + 5_000);
        // Nothing grew: nothing kept.
        samples.take(Figures::of(&exposition(1, 0, 0)), 11 * minute);
        samples.take(Figures::of(&exposition(5, 1, 2)), 12 * minute + 1);
        assert_eq!(samples.grown.len(), 2);

        let query = |app: Option<&str>| Query {
            from_ms: 10 * minute,
            to_ms: 13 * minute,
            period_seconds: 60,
            app_key: app.map(str::to_owned),
        };
        let read = samples.read(&query(None));
        let of = |metric: Metric| {
            read.iter()
                .find(|r| r.metric == metric)
                .map(|r| r.points.clone())
                .unwrap_or_default()
        };
        assert_eq!(
            of(Metric::Calls),
            [Point(10 * minute, 1.0), Point(12 * minute, 5.0)]
        );
        assert_eq!(
            of(Metric::Errors),
            [Point(10 * minute, 0.0), Point(12 * minute, 1.0)]
        );
        assert_eq!(of(Metric::RateLimited)[1], Point(12 * minute, 2.0));
        assert_eq!(of(Metric::LatencyP99).len(), 2);
        // The webhook failure was there from the first sample on, and counted once.
        assert_eq!(of(Metric::WebhookFailed)[0], Point(10 * minute, 1.0));
        assert_eq!(of(Metric::WebhookFailed)[1], Point(12 * minute, 0.0));
        let other_app = samples.read(&query(Some("k2")));
        let refused = other_app.iter().find(|r| r.metric == Metric::RateLimited);
        assert!(refused.is_some_and(|r| r.points.iter().all(|p| p.1 == 0.0)));
    }

    #[test]
    fn samples_older_than_a_day_are_dropped() {
        let mut samples = Samples::default();
        samples.take(Figures::of(&exposition(1, 0, 0)), 0);
        samples.take(Figures::of(&exposition(2, 0, 0)), KEPT_MS + 1);
        assert_eq!(samples.grown.len(), 1);
        assert_eq!(samples.grown[0].0, KEPT_MS + 1);
    }

    #[test]
    fn the_recorder_keeps_a_webhook_lag_of_minutes_in_its_own_buckets() {
        install().expect("the process's recorder");
        let lag = Duration::from_secs(120);
        shared::metrics::webhook_attempt(shared::metrics::Attempt::Delivered, Some(lag));
        let text = prometheus();
        let lag_bucket = "chat_users_webhook_delivery_latency_seconds_bucket";
        assert_eq!(value(&text, lag_bucket, &[("le", "60")]), 0.0, "{text}");
        assert!(value(&text, lag_bucket, &[("le", "300")]) >= 1.0, "{text}");
        let p99 = Figures::of(&text)
            .webhook_lag
            .quantile(WEBHOOK_LAG_SECONDS, 0.99)
            .expect("a lag was recorded");
        assert!(p99 > 60.0 && p99 <= 300.0, "{p99}");
    }
}
