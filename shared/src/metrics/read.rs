//! Reading back what the stack measured: the Console's Activity charts
//! (`POST /console/v1/metrics/get`, `functions/get-metrics`). This module holds what both places
//! the figures live in share: the window and period a read covers ([`Query`]), the series it
//! answers ([`Metric`], [`Series`]), the percentile estimate from bucket counts ([`Buckets`]),
//! and the [`Source`] trait. On AWS the source is CloudWatch (`GetMetricData` over the stack's
//! namespace, in `functions/get-metrics`, the only artifact that links that client); locally it
//! is the local API's recorder, sampled (`local-api/src/metrics.rs`).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde::Serialize;

use crate::error::ApiError;

/// The window a read may cover, in minutes: at least 5, at most a day, an hour by default.
pub const MIN_MINUTES: u32 = 5;
pub const MAX_MINUTES: u32 = 1440;
pub const DEFAULT_MINUTES: u32 = 60;

/// Most points a series has: the period grows with the window (an hour: 60 s, a day: 24 min).
pub const MAX_POINTS: u32 = 60;

/// CloudWatch's period for metrics of standard resolution (EMF writes those): its shortest.
pub const STANDARD_RESOLUTION: Duration = Duration::from_secs(60);

/// Bucket bounds (seconds) of call durations: the local recorder's histogram buckets and the
/// thresholds CloudWatch counts calls under (`TC(:bound)`), so both estimate the percentiles at
/// the same resolution: linear between two bounds, and at most the last bound (a p99 of "10 s"
/// reads "10 s or more").
pub const CALL_SECONDS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// What a read covers: whole periods, oldest first, the last one holding "now" (still filling).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// Start of the first period (Unix ms, inclusive), a multiple of the period.
    pub from_ms: i64,
    /// End of the last period (Unix ms, exclusive).
    pub to_ms: i64,
    pub period_seconds: u32,
    /// `rateLimited` counts this app's refusals only (the one figure with an app dimension).
    pub app_key: Option<String>,
}

impl Query {
    /// The last `minutes` (at most [`MAX_MINUTES`]) up to `now_ms`, in periods of at least
    /// `resolution` (whole seconds) and at most [`MAX_POINTS`] of them, aligned on multiples of
    /// their length.
    pub fn last(minutes: u32, now_ms: i64, resolution: Duration, app_key: Option<String>) -> Query {
        let resolution = resolution.as_secs().clamp(1, u64::from(u32::MAX / 2)) as u32;
        let window = minutes.clamp(1, MAX_MINUTES) * 60;
        let period = window.div_ceil(MAX_POINTS).div_ceil(resolution) * resolution;
        let period_ms = i64::from(period) * 1000;
        let to_ms = (now_ms.div_euclid(period_ms) + 1) * period_ms;
        let periods = i64::from(window.div_ceil(period));
        Query {
            from_ms: to_ms - periods * period_ms,
            to_ms,
            period_seconds: period,
            app_key,
        }
    }

    pub fn period_ms(&self) -> i64 {
        i64::from(self.period_seconds.max(1)) * 1000
    }

    /// The start of each period, oldest first.
    pub fn period_starts(&self) -> impl Iterator<Item = i64> + use<> {
        let (from, to, step) = (self.from_ms, self.to_ms, self.period_ms());
        (0..)
            .map(move |i| from + i * step)
            .take_while(move |start| *start < to)
    }

    /// The start of the period `t_ms` falls in; `None` outside the window.
    pub fn period_of(&self, t_ms: i64) -> Option<i64> {
        (self.from_ms..self.to_ms)
            .contains(&t_ms)
            .then(|| t_ms - (t_ms - self.from_ms).rem_euclid(self.period_ms()))
    }
}

/// The series a read answers, in the order of the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// Calls answered, every operation.
    Calls,
    /// Calls answered 5xx.
    Errors,
    /// Median call duration over every operation.
    LatencyP50,
    /// 99th percentile of the call duration over every operation.
    LatencyP99,
    /// Calls refused 429 by an app's limit per second (of the query's app when it names one).
    RateLimited,
    /// 99th percentile of the delay from a change's commit to its webhook's first delivery.
    WebhookLagP99,
    /// Webhook delivery attempts that failed with no retry left.
    WebhookFailed,
}

impl Metric {
    pub const ALL: [Metric; 7] = [
        Metric::Calls,
        Metric::Errors,
        Metric::LatencyP50,
        Metric::LatencyP99,
        Metric::RateLimited,
        Metric::WebhookLagP99,
        Metric::WebhookFailed,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Metric::Calls => "calls",
            Metric::Errors => "errors",
            Metric::LatencyP50 => "latencyP50",
            Metric::LatencyP99 => "latencyP99",
            Metric::RateLimited => "rateLimited",
            Metric::WebhookLagP99 => "webhookLagP99",
            Metric::WebhookFailed => "webhookFailed",
        }
    }

    pub fn unit(self) -> Unit {
        match self {
            Metric::LatencyP50 | Metric::LatencyP99 | Metric::WebhookLagP99 => Unit::Seconds,
            Metric::Calls | Metric::Errors | Metric::RateLimited | Metric::WebhookFailed => {
                Unit::Count
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = MetricUnit))]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    Count,
    Seconds,
}

/// One value of a period: `[start of the period (Unix ms), value]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = MetricPoint))]
pub struct Point(pub i64, pub f64);

/// One series of the answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = MetricSeries))]
pub struct Series {
    pub name: &'static str,
    pub unit: Unit,
    /// Oldest first. A count has a point for every period (0 where nothing happened); a
    /// percentile only where there were values to take it of.
    pub points: Vec<Point>,
}

/// What a source read of one metric: a point per period it has a value for.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub metric: Metric,
    pub points: Vec<Point>,
}

/// The counts of one histogram in one period: of the values at or under each bound
/// (cumulative, as Prometheus' `le` buckets and CloudWatch's `TC(:bound)` count them), and of
/// every value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Buckets {
    pub at_or_under: Vec<f64>,
    pub count: f64,
}

impl Buckets {
    /// The `q` quantile (0 < q ≤ 1) of the values counted under `bounds`, interpolated linearly
    /// within its bucket (from 0 in the first); the last bound when it lies above every bound.
    /// `None` without values.
    pub fn quantile(&self, bounds: &[f64], q: f64) -> Option<f64> {
        if !(self.count.is_finite() && self.count > 0.0 && q > 0.0 && q <= 1.0) {
            return None;
        }
        let rank = q * self.count;
        let (mut lower, mut below) = (0.0, 0.0);
        for (i, &bound) in bounds.iter().enumerate() {
            // Counts read in separate requests may disagree a little: keep them monotonic.
            let at_or_under = self
                .at_or_under
                .get(i)
                .copied()
                .filter(|n| n.is_finite())
                .unwrap_or(below)
                .clamp(below, self.count);
            if at_or_under >= rank {
                let share = (rank - below) / (at_or_under - below);
                return Some(lower + (bound - lower) * share);
            }
            (lower, below) = (bound, at_or_under);
        }
        bounds.last().copied()
    }
}

/// The series of the answer from what a source read (`None`: no source, so no points at all,
/// not even zero counts): every [`Metric`] once, in order; points moved onto the query's
/// periods and outside ones dropped; counts of one period added up and 0 where it has none;
/// of two percentiles of one period the higher kept.
pub fn series(query: &Query, readings: Option<Vec<Reading>>) -> Vec<Series> {
    let readings = readings.as_deref();
    Metric::ALL
        .iter()
        .map(|&metric| Series {
            name: metric.name(),
            unit: metric.unit(),
            points: readings.map_or_else(Vec::new, |r| points_of(query, metric, r)),
        })
        .collect()
}

fn points_of(query: &Query, metric: Metric, readings: &[Reading]) -> Vec<Point> {
    let count = metric.unit() == Unit::Count;
    let mut by_period = std::collections::BTreeMap::<i64, f64>::new();
    if count {
        by_period.extend(query.period_starts().map(|start| (start, 0.0)));
    }
    let read = readings
        .iter()
        .filter(|r| r.metric == metric)
        .flat_map(|r| &r.points);
    for &Point(at, value) in read {
        let Some(start) = query.period_of(at).filter(|_| value.is_finite()) else {
            continue;
        };
        let slot = by_period
            .entry(start)
            .or_insert(if count { 0.0 } else { value });
        *slot = if count {
            *slot + value
        } else {
            slot.max(value)
        };
    }
    by_period.into_iter().map(|(t, v)| Point(t, v)).collect()
}

pub type ReadFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<Reading>, ApiError>> + Send + 'a>>;

/// Where the figures are read from. A container holds at most one (`State::metrics_source`):
/// CloudWatch in the function that reads metrics on AWS, the local API's sampled recorder there.
pub trait Source: Send + Sync {
    /// The shortest period it answers at.
    fn resolution(&self) -> Duration;

    /// What it has of each [`Metric`] in `query`'s periods. Missing periods are fine (see
    /// [`series`]); an error is the request's error.
    fn read<'a>(&'a self, query: &'a Query) -> ReadFuture<'a>;
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE_MS: i64 = 60_000;

    #[test]
    fn periods_grow_with_the_window_and_end_with_the_current_one() {
        // 2026-01-01T10:30:20Z.
        let now = 1_767_263_420_000;
        let hour = Query::last(60, now, STANDARD_RESOLUTION, None);
        assert_eq!(hour.period_seconds, 60);
        assert_eq!(
            hour.to_ms,
            now - 20_000 + MINUTE_MS,
            "the end of the current minute"
        );
        assert_eq!(hour.to_ms - hour.from_ms, 60 * MINUTE_MS);
        assert_eq!(hour.period_starts().count(), 60);

        let day = Query::last(1440, now, STANDARD_RESOLUTION, None);
        assert_eq!(day.period_seconds, 1440);
        assert_eq!(day.from_ms % day.period_ms(), 0);
        assert_eq!(day.period_starts().count(), 60);
        assert!(day.from_ms <= now - 1440 * MINUTE_MS + day.period_ms());

        // Five minutes at a 10 s resolution: 30 points of 10 s; at CloudWatch's, 5 of a minute.
        let local = Query::last(5, now, Duration::from_secs(10), None);
        assert_eq!(
            (local.period_seconds, local.period_starts().count()),
            (10, 30)
        );
        let short = Query::last(5, now, STANDARD_RESOLUTION, None);
        assert_eq!(
            (short.period_seconds, short.period_starts().count()),
            (60, 5)
        );
        // 61 minutes do not fit 60 points of a minute: periods of two, whole.
        let odd = Query::last(61, now, STANDARD_RESOLUTION, None);
        assert_eq!(odd.period_seconds, 120);
        assert_eq!(odd.period_starts().count(), 31);
    }

    #[test]
    fn a_time_belongs_to_the_period_it_falls_in() {
        let query = Query::last(5, 10 * MINUTE_MS + 1, STANDARD_RESOLUTION, None);
        assert_eq!(query.from_ms, 6 * MINUTE_MS);
        assert_eq!(query.period_of(6 * MINUTE_MS), Some(6 * MINUTE_MS));
        assert_eq!(query.period_of(7 * MINUTE_MS - 1), Some(6 * MINUTE_MS));
        assert_eq!(query.period_of(6 * MINUTE_MS - 1), None);
        assert_eq!(query.period_of(11 * MINUTE_MS), None);
    }

    #[test]
    fn counts_fill_every_period_and_percentiles_only_where_read() {
        let query = Query::last(5, 10 * MINUTE_MS + 1, STANDARD_RESOLUTION, None);
        let readings = vec![
            Reading {
                metric: Metric::Calls,
                // Out of order, twice in one period, once off the grid, once outside.
                points: vec![
                    Point(9 * MINUTE_MS, 4.0),
                    Point(7 * MINUTE_MS, 1.0),
                    Point(7 * MINUTE_MS + 5_000, 2.0),
                    Point(MINUTE_MS, 100.0),
                ],
            },
            Reading {
                metric: Metric::LatencyP99,
                points: vec![
                    Point(8 * MINUTE_MS, 0.25),
                    Point(8 * MINUTE_MS, 0.5),
                    Point(9 * MINUTE_MS, f64::NAN),
                ],
            },
        ];
        let answer = series(&query, Some(readings));
        let names: Vec<&str> = answer.iter().map(|s| s.name).collect();
        assert_eq!(
            names,
            [
                "calls",
                "errors",
                "latencyP50",
                "latencyP99",
                "rateLimited",
                "webhookLagP99",
                "webhookFailed"
            ]
        );
        let minute = |m: i64| m * MINUTE_MS;
        assert_eq!(
            answer[0].points,
            [
                Point(minute(6), 0.0),
                Point(minute(7), 3.0),
                Point(minute(8), 0.0),
                Point(minute(9), 4.0),
                Point(minute(10), 0.0)
            ]
        );
        assert_eq!(answer[1].points.len(), 5, "errors: zero in every period");
        assert!(answer[1].points.iter().all(|p| p.1 == 0.0));
        assert_eq!(answer[3].points, [Point(minute(8), 0.5)]);
        assert!(answer[2].points.is_empty(), "no values, no median");
        assert_eq!(
            (answer[3].unit, answer[0].unit),
            (Unit::Seconds, Unit::Count)
        );
        // Without a source nothing is claimed, not even zero calls.
        assert!(series(&query, None).iter().all(|s| s.points.is_empty()));
    }

    #[test]
    fn quantiles_interpolate_within_their_bucket() {
        let bounds = [0.01, 0.1, 1.0];
        // 100 values: 50 at most 10 ms, 40 more at most 100 ms, 9 at most 1 s, 1 above.
        let buckets = Buckets {
            at_or_under: vec![50.0, 90.0, 99.0],
            count: 100.0,
        };
        assert_eq!(buckets.quantile(&bounds, 0.5), Some(0.01));
        let p25 = buckets.quantile(&bounds, 0.25).unwrap();
        assert!((p25 - 0.005).abs() < 1e-12, "{p25}");
        let p95 = buckets.quantile(&bounds, 0.95).unwrap();
        assert!((p95 - 0.6).abs() < 1e-12, "{p95}");
        // Above every bound: the last bound is all that can be said.
        assert_eq!(buckets.quantile(&bounds, 1.0), Some(1.0));
        assert_eq!(Buckets::default().quantile(&bounds, 0.5), None);
        // Counts that disagree (read apart) are held monotonic.
        let ragged = Buckets {
            at_or_under: vec![10.0, 8.0, 30.0],
            count: 20.0,
        };
        assert_eq!(ragged.quantile(&bounds, 0.5), Some(0.01));
        // 19.8 of 20: the 100 ms bucket holds none of its own (8 < 10), the last 10 values lie
        // between 100 ms and 1 s.
        let p99 = ragged.quantile(&bounds, 0.99).unwrap();
        assert!((p99 - 0.982).abs() < 1e-9, "{p99}");
    }

    #[test]
    fn the_answer_serializes_as_the_contract_says() {
        let series = Series {
            name: Metric::WebhookLagP99.name(),
            unit: Metric::WebhookLagP99.unit(),
            points: vec![Point(60_000, 1.5)],
        };
        assert_eq!(
            serde_json::to_value(&series).unwrap(),
            serde_json::json!({"name": "webhookLagP99", "unit": "seconds", "points": [[60000, 1.5]]})
        );
    }
}
