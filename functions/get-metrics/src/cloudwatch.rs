//! The metrics source on AWS: CloudWatch `GetMetricData` over the stack's namespace
//! (`METRICS_NAMESPACE`, `ChatUsers/<stack>`), where the functions' EMF lines become metrics
//! with their labels as dimensions (`shared::metrics`): `calls` {operation, status, code},
//! `call_duration_seconds` {operation}, `rate_limited` {operation, app}, `webhook_attempts`
//! {outcome}, `webhook_delivery_latency_seconds` {}.
//!
//! - Counts: `SUM(SEARCH(...))`: the search finds every operation's series (every status and
//!   code, every app), the sum makes one of them.
//! - Latency over every operation: percentiles of different series cannot be added up, so the
//!   calls at or under each bound of [`CALL_SECONDS`] are (`TC(:bound)`, the trimmed count,
//!   summed over the operations), with their total (`SampleCount`); p50 and p99 are estimated
//!   from those counts as the local API estimates them from its buckets.
//! - The webhook lag has no dimension: its p99 is CloudWatch's own, exact.
//!
//! CloudWatch takes at most five SEARCH expressions in a request, so the queries travel in a few
//! requests, sent at once. Only this crate depends on the CloudWatch client.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_cloudwatch::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataError;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{
    Dimension, Metric as CloudWatchMetric, MetricDataQuery, MetricDataResult, MetricStat, ScanBy,
    StatusCode,
};
use shared::ApiError;
use shared::metrics::name;
use shared::metrics::read::{
    Buckets, CALL_SECONDS, Metric, Point, Query, ReadFuture, Reading, STANDARD_RESOLUTION, Source,
};

/// SEARCH expressions CloudWatch takes in one `GetMetricData` request.
const MAX_SEARCHES_PER_REQUEST: usize = 5;
/// Pages of one request read at most: a read is a few thousand data points, one page holds
/// 100,800; more means something is wrong.
const MAX_PAGES: usize = 10;
/// The statuses counted as errors: what the code answers 5xx with and what Lambda's and API
/// Gateway's failures would be (as the dashboard counts them).
const ERROR_STATUSES: [&str; 4] = ["500", "502", "503", "504"];

/// Query ids (CloudWatch's: a lowercase letter, then letters, digits and `_`).
const CALLS: &str = "calls";
const ERRORS: &str = "errors";
const RATE_LIMITED: &str = "rate_limited";
const WEBHOOK_FAILED: &str = "webhook_failed";
const WEBHOOK_LAG_P99: &str = "webhook_lag_p99";
const LATENCY_COUNT: &str = "latency_count";
/// `latency_le_<i>`: the calls at or under `CALL_SECONDS[i]`.
const LATENCY_UNDER: &str = "latency_le_";

/// The source `shared::lambda::run_metrics_reading` installs at cold start.
pub fn source(config: &aws_config::SdkConfig, namespace: &str) -> Arc<dyn Source> {
    Arc::new(CloudWatch {
        client: aws_sdk_cloudwatch::Client::new(config),
        namespace: namespace.to_owned(),
    })
}

pub struct CloudWatch {
    client: aws_sdk_cloudwatch::Client,
    namespace: String,
}

impl Source for CloudWatch {
    fn resolution(&self) -> Duration {
        STANDARD_RESOLUTION
    }

    fn read<'a>(&'a self, query: &'a Query) -> ReadFuture<'a> {
        Box::pin(async move {
            let requests = requests(&self.namespace, query)?;
            let answers = requests
                .into_iter()
                .map(|queries| self.fetch(queries, query));
            let results = futures::future::try_join_all(answers).await?;
            Ok(readings(&results.concat()))
        })
    }
}

impl CloudWatch {
    /// One request's results, every page.
    async fn fetch(
        &self,
        queries: Vec<MetricDataQuery>,
        query: &Query,
    ) -> Result<Vec<MetricDataResult>, ApiError> {
        let mut results = Vec::new();
        let mut next_token = None;
        for _ in 0..MAX_PAGES {
            let answer = self
                .client
                .get_metric_data()
                .set_metric_data_queries(Some(queries.clone()))
                .start_time(DateTime::from_millis(query.from_ms))
                .end_time(DateTime::from_millis(query.to_ms))
                .scan_by(ScanBy::TimestampAscending)
                .set_next_token(next_token)
                .send()
                .await
                .map_err(failed)?;
            for message in answer.messages() {
                tracing::warn!(code = ?message.code(), value = ?message.value(), "GetMetricData");
            }
            for result in answer.metric_data_results() {
                // E.g. a search that found more series than CloudWatch sums: the figure is low.
                for message in result.messages() {
                    let (code, value) = (message.code(), message.value());
                    tracing::warn!(id = ?result.id(), ?code, ?value, "GetMetricData");
                }
                check(result)?;
            }
            results.extend(answer.metric_data_results.unwrap_or_default());
            next_token = answer.next_token.filter(|t| !t.is_empty());
            if next_token.is_none() {
                return Ok(results);
            }
        }
        Err(ApiError::Internal(format!(
            "GetMetricData: more than {MAX_PAGES} pages"
        )))
    }
}

/// A query CloudWatch could not answer fails the read (a partial one is completed by the next
/// page).
fn check(result: &MetricDataResult) -> Result<(), ApiError> {
    match result.status_code() {
        Some(StatusCode::Forbidden | StatusCode::InternalError) => {
            let messages: Vec<String> = (result.messages().iter())
                .map(|m| format!("{:?} {:?}", m.code(), m.value()))
                .collect();
            Err(ApiError::Internal(format!(
                "GetMetricData {}: {:?} {messages:?}",
                result.id().unwrap_or_default(),
                result.status_code()
            )))
        }
        _ => Ok(()),
    }
}

/// CloudWatch's throttling and its own failures are worth a retry (504/1050); the rest as any
/// SDK error (timeouts are busy too).
fn failed<R: std::fmt::Debug>(err: SdkError<GetMetricDataError, R>) -> ApiError {
    let busy = matches!(
        err.code(),
        Some("Throttling" | "ThrottlingException" | "LimitExceeded" | "InternalServiceFault")
    );
    if busy {
        tracing::warn!(error = %aws_sdk_cloudwatch::error::DisplayErrorContext(&err), "cloudwatch busy");
        return ApiError::Busy;
    }
    ApiError::from(err)
}

/// The `GetMetricData` requests of a read (their queries; each request spans the query's
/// window, oldest first).
fn requests(namespace: &str, query: &Query) -> Result<Vec<Vec<MetricDataQuery>>, ApiError> {
    // The namespace and the app key are quoted inside the expressions: neither may hold a
    // quote or a backslash (a namespace of the template's, an app key of letters and digits).
    let quotable = |text: &str| {
        text.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, ' ' | '.' | '-' | '_' | '/' | '#' | ':')
        })
    };
    if namespace.is_empty() || !quotable(namespace) {
        return Err(ApiError::Internal(format!(
            "METRICS_NAMESPACE {namespace:?} cannot be quoted in a SEARCH expression"
        )));
    }
    if let Some(app_key) = &query.app_key {
        shared::apps::validate_app_key(app_key)?;
    }
    let period = i32::try_from(query.period_seconds)
        .map_err(|_| ApiError::Internal("a period beyond i32 seconds".into()))?;
    let sum_of = |id: &str, dimensions: &str, filter: &str, stat: &str| {
        let expression =
            format!("SUM(SEARCH('{{\"{namespace}\",{dimensions}}} {filter}', '{stat}', {period}))");
        MetricDataQuery::builder()
            .id(id)
            .expression(expression)
            .build()
    };
    let calls = format!("MetricName=\"{}\"", name::CALLS);
    let errors = ERROR_STATUSES.map(|status| format!("status=\"{status}\""));
    let refused = match &query.app_key {
        Some(app_key) => format!("MetricName=\"{}\" app=\"{app_key}\"", name::RATE_LIMITED),
        None => format!("MetricName=\"{}\"", name::RATE_LIMITED),
    };
    let durations = format!("MetricName=\"{}\"", name::CALL_DURATION);
    let mut searches = vec![
        sum_of(CALLS, "operation,status,code", &calls, "Sum"),
        sum_of(
            ERRORS,
            "operation,status,code",
            &format!("{calls} ({})", errors.join(" OR ")),
            "Sum",
        ),
        sum_of(RATE_LIMITED, "operation,app", &refused, "Sum"),
        sum_of(LATENCY_COUNT, "operation", &durations, "SampleCount"),
    ];
    searches.extend(CALL_SECONDS.iter().enumerate().map(|(i, bound)| {
        let id = format!("{LATENCY_UNDER}{i}");
        sum_of(&id, "operation", &durations, &format!("TC(:{bound})"))
    }));
    let stat = |id: &str, metric: &str, dimensions: Vec<Dimension>, stat: &str| {
        let metric = CloudWatchMetric::builder()
            .namespace(namespace)
            .metric_name(metric)
            .set_dimensions(Some(dimensions))
            .build();
        let stat = MetricStat::builder()
            .metric(metric)
            .period(period)
            .stat(stat)
            .build();
        MetricDataQuery::builder().id(id).metric_stat(stat).build()
    };
    let failed = Dimension::builder()
        .name("outcome")
        .value(shared::metrics::Attempt::Failed.label())
        .build();
    let mut requests: Vec<Vec<MetricDataQuery>> = searches
        .chunks(MAX_SEARCHES_PER_REQUEST)
        .map(<[MetricDataQuery]>::to_vec)
        .collect();
    // Direct reads are not searches: they ride with the first request.
    if let Some(first) = requests.first_mut() {
        first.push(stat(
            WEBHOOK_FAILED,
            name::WEBHOOK_ATTEMPTS,
            vec![failed],
            "Sum",
        ));
        first.push(stat(
            WEBHOOK_LAG_P99,
            name::WEBHOOK_DELIVERY_LATENCY,
            Vec::new(),
            "p99",
        ));
    }
    Ok(requests)
}

/// The readings of every request's results.
fn readings(results: &[MetricDataResult]) -> Vec<Reading> {
    let mut by_id: HashMap<&str, Vec<Point>> = HashMap::new();
    for result in results {
        let points = (result.timestamps().iter())
            .zip(result.values())
            .filter_map(|(at, value)| Some(Point(at.to_millis().ok()?, *value)));
        by_id
            .entry(result.id().unwrap_or_default())
            .or_default()
            .extend(points);
    }
    let mut take = |id: &str| by_id.remove(id).unwrap_or_default();
    let mut readings: Vec<Reading> = [
        (Metric::Calls, CALLS),
        (Metric::Errors, ERRORS),
        (Metric::RateLimited, RATE_LIMITED),
        (Metric::WebhookFailed, WEBHOOK_FAILED),
        (Metric::WebhookLagP99, WEBHOOK_LAG_P99),
    ]
    .into_iter()
    .map(|(metric, id)| Reading {
        metric,
        points: take(id),
    })
    .collect();

    // The latency histogram of each period, from the counts at or under each bound.
    let mut periods: BTreeMap<i64, Buckets> = BTreeMap::new();
    let empty = || Buckets {
        at_or_under: vec![0.0; CALL_SECONDS.len()],
        count: 0.0,
    };
    for Point(at, count) in take(LATENCY_COUNT) {
        periods.entry(at).or_insert_with(empty).count += count;
    }
    for i in 0..CALL_SECONDS.len() {
        for Point(at, under) in take(&format!("{LATENCY_UNDER}{i}")) {
            periods.entry(at).or_insert_with(empty).at_or_under[i] += under;
        }
    }
    for (metric, q) in [(Metric::LatencyP50, 0.5), (Metric::LatencyP99, 0.99)] {
        let points = (periods.iter())
            .filter_map(|(at, buckets)| Some(Point(*at, buckets.quantile(CALL_SECONDS, q)?)))
            .collect();
        readings.push(Reading { metric, points });
    }
    readings
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMESPACE: &str = "ChatUsers/chat-users-prod";

    fn query(app_key: Option<&str>) -> Query {
        Query::last(
            60,
            1_767_263_420_000,
            STANDARD_RESOLUTION,
            app_key.map(str::to_owned),
        )
    }

    fn expressions(requests: &[Vec<MetricDataQuery>]) -> HashMap<String, String> {
        requests
            .iter()
            .flatten()
            .filter_map(|q| Some((q.id()?.to_owned(), q.expression()?.to_owned())))
            .collect()
    }

    fn requests_for(app_key: Option<&str>) -> Vec<Vec<MetricDataQuery>> {
        requests(NAMESPACE, &query(app_key)).unwrap()
    }

    #[test]
    fn counts_are_sums_of_searches_over_the_stack_namespace() {
        let requests = requests_for(None);
        let found = expressions(&requests);
        assert_eq!(
            found[CALLS],
            r#"SUM(SEARCH('{"ChatUsers/chat-users-prod",operation,status,code} MetricName="calls"', 'Sum', 60))"#
        );
        assert_eq!(
            found[ERRORS],
            r#"SUM(SEARCH('{"ChatUsers/chat-users-prod",operation,status,code} MetricName="calls" (status="500" OR status="502" OR status="503" OR status="504")', 'Sum', 60))"#
        );
        assert_eq!(
            found[RATE_LIMITED],
            r#"SUM(SEARCH('{"ChatUsers/chat-users-prod",operation,app} MetricName="rate_limited"', 'Sum', 60))"#
        );
        // One app's refusals when the query names it.
        let one_app = expressions(&requests_for(Some("k1abc")));
        assert_eq!(
            one_app[RATE_LIMITED],
            r#"SUM(SEARCH('{"ChatUsers/chat-users-prod",operation,app} MetricName="rate_limited" app="k1abc"', 'Sum', 60))"#
        );
    }

    #[test]
    fn latency_is_counted_under_each_bound_and_requests_hold_five_searches_at_most() {
        let requests = requests_for(None);
        let expressions = expressions(&requests);
        assert_eq!(
            expressions[LATENCY_COUNT],
            r#"SUM(SEARCH('{"ChatUsers/chat-users-prod",operation} MetricName="call_duration_seconds"', 'SampleCount', 60))"#
        );
        assert_eq!(
            expressions["latency_le_0"],
            r#"SUM(SEARCH('{"ChatUsers/chat-users-prod",operation} MetricName="call_duration_seconds"', 'TC(:0.001)', 60))"#
        );
        assert!(expressions["latency_le_12"].contains("'TC(:10)'"));
        for request in &requests {
            let searches = request.iter().filter(|q| q.expression().is_some()).count();
            assert!((1..=MAX_SEARCHES_PER_REQUEST).contains(&searches));
        }
        let all: usize = requests.iter().map(Vec::len).sum();
        assert_eq!(all, 4 + CALL_SECONDS.len() + 2, "every query once");
        // The webhook figures are read directly: the failed attempts' sum and the lag's p99.
        let direct: Vec<&MetricStat> = requests
            .iter()
            .flatten()
            .filter_map(MetricDataQuery::metric_stat)
            .collect();
        assert_eq!(direct.len(), 2);
        let failed = direct[0].metric().unwrap();
        assert_eq!(
            (failed.namespace(), failed.metric_name()),
            (Some(NAMESPACE), Some("webhook_attempts"))
        );
        assert_eq!(failed.dimensions()[0].value(), Some("failed"));
        assert_eq!(
            (direct[0].stat(), direct[0].period()),
            (Some("Sum"), Some(60))
        );
        assert_eq!(direct[1].stat(), Some("p99"));
        assert!(direct[1].metric().unwrap().dimensions().is_empty());
    }

    #[test]
    fn the_period_follows_the_window() {
        let day = Query::last(1440, 1_767_263_420_000, STANDARD_RESOLUTION, None);
        let requests = requests(NAMESPACE, &day).unwrap();
        assert!(expressions(&requests)[CALLS].ends_with(", 1440))"));
        let direct = requests[0].iter().find_map(MetricDataQuery::metric_stat);
        assert_eq!(direct.and_then(MetricStat::period), Some(1440));
    }

    #[test]
    fn what_cannot_be_quoted_is_refused() {
        assert!(requests("Chat\"Users", &query(None)).is_err());
        assert!(requests("", &query(None)).is_err());
        assert_eq!(
            requests(NAMESPACE, &query(Some("k1' OR x"))).map_err(|e| e.code()),
            Err(1002)
        );
    }

    fn result(id: &str, points: &[(i64, f64)]) -> MetricDataResult {
        points
            .iter()
            .fold(MetricDataResult::builder().id(id), |b, (at, value)| {
                b.timestamps(DateTime::from_millis(*at)).values(*value)
            })
            .status_code(StatusCode::Complete)
            .build()
    }

    fn points_of(readings: &[Reading], metric: Metric) -> Vec<Point> {
        readings
            .iter()
            .find(|r| r.metric == metric)
            .map(|r| r.points.clone())
            .unwrap_or_default()
    }

    #[test]
    fn results_become_counts_and_percentiles() {
        let minute = 60_000;
        // Period 1: 100 calls, 50 at most 10 ms (bound 3), 99 at most 1 s (bound 9).
        let mut results = vec![
            result(CALLS, &[(0, 100.0), (minute, 3.0)]),
            result(ERRORS, &[(minute, 1.0)]),
            result(RATE_LIMITED, &[]),
            result(WEBHOOK_LAG_P99, &[(0, 2.5)]),
            result(LATENCY_COUNT, &[(0, 100.0)]),
        ];
        for (i, bound) in CALL_SECONDS.iter().enumerate() {
            let under = match *bound {
                b if b < 0.01 => 0.0,
                b if b < 1.0 => 50.0,
                _ => 99.0,
            };
            results.push(result(&format!("{LATENCY_UNDER}{i}"), &[(0, under)]));
        }
        let readings = readings(&results);
        assert_eq!(
            points_of(&readings, Metric::Calls),
            [Point(0, 100.0), Point(minute, 3.0)]
        );
        assert_eq!(points_of(&readings, Metric::Errors), [Point(minute, 1.0)]);
        assert!(points_of(&readings, Metric::RateLimited).is_empty());
        assert_eq!(points_of(&readings, Metric::WebhookLagP99), [Point(0, 2.5)]);
        assert_eq!(points_of(&readings, Metric::LatencyP50), [Point(0, 0.01)]);
        let p99 = points_of(&readings, Metric::LatencyP99);
        assert_eq!(
            p99.len(),
            1,
            "no values in the second minute, no percentile"
        );
        assert!(p99[0].1 > 0.5 && p99[0].1 <= 1.0, "{p99:?}");
    }

    #[test]
    fn a_query_cloudwatch_could_not_answer_fails_the_read() {
        let forbidden = MetricDataResult::builder()
            .id(CALLS)
            .status_code(StatusCode::Forbidden)
            .build();
        assert_eq!(check(&forbidden).map_err(|e| e.code()), Err(1000));
        let partial = MetricDataResult::builder()
            .id(CALLS)
            .status_code(StatusCode::PartialData)
            .build();
        assert!(check(&partial).is_ok());
    }
}
