//! The table's stream, delivered the way Lambda's event source mappings deliver it, to the very
//! handlers the deployed stream functions run (`purge-soft-deleted-users`,
//! `produce-webhook-events`), each in its function's container and with its role (a mapping
//! reads the stream with its function's permissions), each mapping reading every shard on its
//! own.
//!
//! From the function's `DynamoDB` event in `template.yaml`: `FilterCriteria` (records that match
//! no filter are dropped), `BatchSize`, `MaximumRetryAttempts`, `BisectBatchOnFunctionError`,
//! `ReportBatchItemFailures` (a batch is retried from its first failed record),
//! `MaximumRecordAgeInSeconds` and the on-failure destination (here [`Follower::failed`]). A
//! shard waits while its batch is retried, as on Lambda. Records are read with DynamoDB Streams'
//! own JSON, which is Lambda's record format, so no attribute is lost in a conversion and no
//! record the SDK cannot parse can stall a shard. Tests can have every batch delivered twice
//! and late ([`Delivery`]), as Lambda may.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use http_body_util::Full;
use hyper::body::Bytes;
use serde_json::{Value, json};
use shared::State;
use shared::lambda_http::http::Request;
use shared::purge::{Deadline, PURGE_RESERVE};

use crate::functions::Functions;
use crate::iam::Policy;
use crate::table::BoxError;

/// The functions the table's stream drives, each through its own mapping.
pub const PURGE_FUNCTION: &str = "purge-soft-deleted-users";
pub const PRODUCER_FUNCTION: &str = "produce-webhook-events";
pub const CONSUMERS: [&str; 2] = [PURGE_FUNCTION, PRODUCER_FUNCTION];
/// Records read per `GetRecords` (DynamoDB Streams allows up to 1,000).
const READ_LIMIT: usize = 1000;

/// The event source mapping's settings, as the template gives them.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    pub batch_size: usize,
    /// `-1`: retry until the record expires.
    pub maximum_retry_attempts: i64,
    pub bisect_on_error: bool,
    pub report_batch_item_failures: bool,
    pub maximum_record_age_seconds: Option<i64>,
    pub filters: Vec<Value>,
    pub on_failure_destination: bool,
}

impl Mapping {
    /// The mapping of `function`'s (only) stream event.
    pub fn of(functions: &Functions, function: &str) -> Result<Mapping, BoxError> {
        let definition = functions
            .template()
            .function(function)
            .ok_or_else(|| format!("template.yaml has no function {function}"))?;
        let [event] = definition.stream_events.as_slice() else {
            return Err(format!("{function}: expected exactly one DynamoDB event").into());
        };
        let number = |name: &str| event.get(name).and_then(serde_yaml::Value::as_i64);
        let mut filters = Vec::new();
        for filter in event
            .get("FilterCriteria")
            .and_then(|c| c.get("Filters"))
            .and_then(serde_yaml::Value::as_sequence)
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let pattern = filter
                .get("Pattern")
                .and_then(serde_yaml::Value::as_str)
                .ok_or("a filter without a Pattern string")?;
            filters.push(serde_json::from_str(pattern)?);
        }
        let response_types = event
            .get("FunctionResponseTypes")
            .and_then(serde_yaml::Value::as_sequence)
            .map(Vec::as_slice)
            .unwrap_or_default();
        Ok(Mapping {
            batch_size: number("BatchSize").unwrap_or(100).max(1) as usize,
            maximum_retry_attempts: number("MaximumRetryAttempts").unwrap_or(-1),
            bisect_on_error: event
                .get("BisectBatchOnFunctionError")
                .and_then(serde_yaml::Value::as_bool)
                .unwrap_or(false),
            report_batch_item_failures: response_types
                .iter()
                .any(|t| t.as_str() == Some("ReportBatchItemFailures")),
            maximum_record_age_seconds: number("MaximumRecordAgeInSeconds").filter(|a| *a > 0),
            filters,
            on_failure_destination: event
                .get("DestinationConfig")
                .and_then(|d| d.get("OnFailure"))
                .is_some(),
        })
    }

    /// Whether a record passes the filters (none: every record does).
    pub fn admits(&self, record: &Value) -> bool {
        self.filters.is_empty() || self.filters.iter().any(|f| matches_pattern(f, record))
    }
}

/// EventBridge-style matching, the subset Lambda filters use here: an object matches field by
/// field; an array lists the accepted values (or `{"exists": bool}`, `{"prefix": "..."}`).
pub fn matches_pattern(pattern: &Value, value: &Value) -> bool {
    match pattern {
        Value::Object(fields) => fields.iter().all(|(key, sub)| match value.get(key) {
            Some(inner) => matches_pattern(sub, inner),
            None => sub
                .as_array()
                .is_some_and(|a| a.iter().any(|c| c == &json!({"exists": false}))),
        }),
        Value::Array(accepted) => accepted.iter().any(|candidate| match candidate {
            Value::Object(rule) if rule.contains_key("exists") => {
                rule["exists"] == json!(!value.is_null())
            }
            Value::Object(rule) if rule.contains_key("prefix") => {
                match (rule["prefix"].as_str(), value.as_str()) {
                    (Some(prefix), Some(text)) => text.starts_with(prefix),
                    _ => false,
                }
            }
            other => other == value,
        }),
        other => other == value,
    }
}

/// How batches reach the function: Lambda delivers at least once, sometimes late.
#[derive(Debug, Clone, Copy, Default)]
pub struct Delivery {
    /// Every batch is delivered twice.
    pub duplicate: bool,
    /// Every batch waits this long before it is delivered.
    pub delay: Duration,
    /// The invocation's time instead of the function's `Timeout` (a purge keeps
    /// [`PURGE_RESERVE`] of it: below that, every invocation purges one page and checkpoints).
    pub timeout: Option<Duration>,
}

/// A running follower; its tasks stop when this is dropped.
pub struct Follower {
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// What the mapping sent to its on-failure destination (Lambda sends the batch's shard and
    /// sequence range, not the records).
    pub failed: Arc<Mutex<Vec<Value>>>,
}

impl Follower {
    /// Waits until the follower stops (only on a fatal error; normally it runs until dropped).
    pub async fn stopped(&mut self) {
        if let Some(task) = self.tasks.first_mut() {
            let _ = task.await;
        }
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// The function a batch is handed to: `{"Records": [...]}` in, `{"batchItemFailures": [...]}`
/// out, within the invocation's deadline.
type Handler = Arc<
    dyn Fn(Arc<State>, Value, Deadline) -> futures::future::BoxFuture<'static, Value> + Send + Sync,
>;

fn handler_of(function: &str) -> Handler {
    match function {
        PRODUCER_FUNCTION => Arc::new(|state, event, _deadline| {
            Box::pin(async move { produce_webhook_events::handle(&state, &event).await })
        }),
        _ => Arc::new(|state, event, deadline| {
            Box::pin(
                async move { purge_soft_deleted_users::handle(&state, &event, deadline).await },
            )
        }),
    }
}

/// What the shard readers of one mapping share.
struct Reader {
    function: &'static str,
    handler: Handler,
    endpoint: String,
    stream_arn: String,
    state: Arc<State>,
    policy: Arc<Policy>,
    mapping: Mapping,
    delivery: Delivery,
    /// Each invocation's time: the function's `Timeout`.
    timeout: Duration,
    failed: Arc<Mutex<Vec<Value>>>,
}

/// Starts following every shard of the table's stream and returns once the shards that exist
/// now are being read (so a change made after this returns is seen). `from` is where those
/// shards are read from (LATEST for the local API, so an old run's records on disk are not
/// replayed); shards opened later are read from their start.
pub async fn follow(
    functions: Arc<Functions>,
    endpoint: String,
    from: ShardIteratorType,
    delivery: Delivery,
) -> Result<Follower, BoxError> {
    let config = shared::state::sdk_config(Some(&endpoint)).await;
    let base = functions.base();
    let described = base
        .db
        .describe_table()
        .table_name(&base.table)
        .send()
        .await?;
    let stream_arn = described
        .table
        .and_then(|t| t.latest_stream_arn)
        .ok_or("the table has no stream (template.yaml StreamSpecification)")?;
    let failed = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for function in CONSUMERS {
        let streams = functions.streams_client(function, &config)?;
        let reader = Arc::new(Reader {
            function,
            handler: handler_of(function),
            endpoint: endpoint.clone(),
            stream_arn: stream_arn.clone(),
            state: functions.state(function)?,
            policy: functions.policy(function)?,
            mapping: Mapping::of(&functions, function)?,
            delivery,
            timeout: delivery
                .timeout
                .unwrap_or_else(|| functions.template().timeout(function)),
            failed: failed.clone(),
        });
        let mut known: HashSet<String> = HashSet::new();
        discover(&reader, &streams, &mut known, from.clone()).await?;
        tasks.push(tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let found = discover(
                    &reader,
                    &streams,
                    &mut known,
                    ShardIteratorType::TrimHorizon,
                )
                .await;
                if let Err(err) = found {
                    tracing::warn!(error = %err, "listing the stream's shards failed");
                }
            }
        }));
    }
    Ok(Follower { tasks, failed })
}

/// Starts a reader for every shard not read yet.
async fn discover(
    reader: &Arc<Reader>,
    streams: &aws_sdk_dynamodbstreams::Client,
    known: &mut HashSet<String>,
    from: ShardIteratorType,
) -> Result<(), BoxError> {
    let description = streams
        .describe_stream()
        .stream_arn(&reader.stream_arn)
        .send()
        .await?;
    let shards = description
        .stream_description
        .map(|d| d.shards.unwrap_or_default())
        .unwrap_or_default();
    for shard in shards {
        let Some(shard_id) = shard.shard_id else {
            continue;
        };
        if !known.insert(shard_id.clone()) {
            continue;
        }
        let iterator = streams
            .get_shard_iterator()
            .stream_arn(&reader.stream_arn)
            .shard_id(&shard_id)
            .shard_iterator_type(from.clone())
            .send()
            .await?
            .shard_iterator;
        tokio::spawn(read_shard(reader.clone(), shard_id, iterator));
    }
    Ok(())
}

/// `GetRecords` in DynamoDB Streams' own JSON (checked against the function's policy first).
async fn get_records(reader: &Reader, iterator: &str) -> Result<Value, BoxError> {
    const TARGET: &str = "DynamoDBStreams_20120810.GetRecords";
    let body = json!({ "ShardIterator": iterator, "Limit": READ_LIMIT }).to_string();
    if let Err(denied) = reader.policy.check_request(TARGET, body.as_bytes()) {
        return Err(denied.to_string().into());
    }
    let request = Request::builder()
        .method("POST")
        .uri("/")
        .header("x-amz-target", TARGET)
        .header("content-type", "application/x-amz-json-1.0")
        // DynamoDB Local wants a SigV4-shaped header; it does not check the signature.
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, \
             SignedHeaders=host, Signature=0",
        )
        .body(Full::new(Bytes::from(body)))?;
    let response = crate::proxy::post(&reader.endpoint, request).await?;
    let status = response.status();
    let body: Value = serde_json::from_slice(
        &http_body_util::BodyExt::collect(response.into_body())
            .await?
            .to_bytes(),
    )?;
    if !status.is_success() {
        return Err(format!("GetRecords answered {status}: {body}").into());
    }
    Ok(body)
}

async fn read_shard(reader: Arc<Reader>, shard_id: String, mut iterator: Option<String>) {
    let mut failures_in_a_row = 0u32;
    while let Some(current) = iterator.take() {
        match get_records(&reader, &current).await {
            Ok(out) => {
                failures_in_a_row = 0;
                let records: Vec<Value> = out["Records"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|mut record| {
                        record["eventSourceARN"] = json!(reader.stream_arn);
                        record
                    })
                    .collect();
                if records.is_empty() {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                let admitted: Vec<Value> = records
                    .into_iter()
                    .filter(|r| reader.mapping.admits(r))
                    .collect();
                for batch in admitted.chunks(reader.mapping.batch_size) {
                    deliver(&reader, &shard_id, batch.to_vec()).await;
                }
                iterator = out["NextShardIterator"].as_str().map(str::to_owned);
            }
            Err(err) => {
                // A read that fails is retried (the shard waits), with backoff.
                failures_in_a_row += 1;
                tracing::warn!(error = %err, shard = %shard_id, "stream read failed");
                tokio::time::sleep(backoff(failures_in_a_row)).await;
                iterator = Some(current);
            }
        }
    }
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis((50u64 << attempt.min(5)).min(1_000))
}

fn sequence(record: &Value) -> &str {
    record["dynamodb"]["SequenceNumber"]
        .as_str()
        .unwrap_or_default()
}

/// What one invocation answered about its batch.
enum Outcome {
    Success,
    /// Retry from this index of the batch on (its first failed record).
    FailedFrom(usize),
}

async fn invoke(reader: &Reader, batch: &[Value]) -> Outcome {
    if !reader.delivery.delay.is_zero() {
        tokio::time::sleep(reader.delivery.delay).await;
    }
    let event = json!({ "Records": batch });
    let times = if reader.delivery.duplicate { 2 } else { 1 };
    let mut outcome = Outcome::Success;
    for _ in 0..times {
        let deadline = Deadline::within(reader.timeout, PURGE_RESERVE);
        let answer = (reader.handler)(reader.state.clone(), event.clone(), deadline).await;
        let failed: Vec<&str> = answer["batchItemFailures"]
            .as_array()
            .map(|f| {
                f.iter()
                    .filter_map(|f| f["itemIdentifier"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        if failed.is_empty() {
            continue;
        }
        let first = match reader.mapping.report_batch_item_failures {
            // Lambda resumes from the lowest failed sequence number; an identifier that names
            // no record of the batch fails the whole batch.
            true => batch
                .iter()
                .position(|r| failed.contains(&sequence(r)))
                .unwrap_or(0),
            false => 0,
        };
        outcome = Outcome::FailedFrom(first);
    }
    outcome
}

/// Delivers one batch until it succeeds or its retries are spent (then the on-failure
/// destination gets it), bisecting a failed batch when the mapping says so.
async fn deliver(reader: &Reader, shard_id: &str, batch: Vec<Value>) {
    let now_s = reader.state.clock.now_ms() / 1000;
    let (fresh, expired): (Vec<Value>, Vec<Value>) = batch.into_iter().partition(|r| {
        match (
            reader.mapping.maximum_record_age_seconds,
            r["dynamodb"]["ApproximateCreationDateTime"].as_f64(),
        ) {
            (Some(max_age), Some(created)) => now_s - (created as i64) <= max_age,
            _ => true,
        }
    });
    if !expired.is_empty() {
        give_up(reader, shard_id, &expired, "RecordAgeExceeded");
    }
    let mut pending: VecDeque<(Vec<Value>, i64)> = VecDeque::from([(fresh, 0)]);
    while let Some((batch, retries)) = pending.pop_front() {
        if batch.is_empty() {
            continue;
        }
        let Outcome::FailedFrom(first) = invoke(reader, &batch).await else {
            continue;
        };
        let rest = batch[first..].to_vec();
        let limit = reader.mapping.maximum_retry_attempts;
        if limit >= 0 && retries >= limit {
            give_up(reader, shard_id, &rest, "RetryAttemptsExhausted");
            continue;
        }
        tokio::time::sleep(backoff(retries as u32 + 1)).await;
        if reader.mapping.bisect_on_error && rest.len() > 1 {
            let (left, right) = rest.split_at(rest.len() / 2);
            // The halves keep the shard's order: the left one first.
            pending.push_front((right.to_vec(), retries + 1));
            pending.push_front((left.to_vec(), retries + 1));
        } else {
            pending.push_front((rest, retries + 1));
        }
    }
}

/// The on-failure destination's message for records given up on (what Lambda sends to SQS).
fn give_up(reader: &Reader, shard_id: &str, records: &[Value], condition: &str) {
    let (Some(first), Some(last)) = (records.first(), records.last()) else {
        return;
    };
    let message = json!({
        "requestContext": {
            "condition": condition,
            "functionArn": format!("arn:aws:lambda:{}:{}:function:{}", crate::iam::REGION, crate::iam::ACCOUNT, reader.function),
        },
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": sequence(first),
            "endSequenceNumber": sequence(last),
            "batchSize": records.len(),
            "streamArn": reader.stream_arn,
        }
    });
    tracing::error!(%message, destination = reader.mapping.on_failure_destination, "stream batch given up");
    if let Ok(mut failed) = reader.failed.lock() {
        failed.push(message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_templates_filter_admits_pending_purges_only() {
        let pattern: Value = serde_json::from_str(
            r#"{"eventName":["MODIFY"],"dynamodb":{"NewImage":{"SK":{"S":["USER"]},"purgeState":{"S":["pending"]}}}}"#,
        )
        .unwrap();
        let record = |event: &str, purge: &str| {
            json!({"eventName": event, "dynamodb": {"NewImage": {
                "SK": {"S": "USER"}, "purgeState": {"S": purge}, "userExtProfile": {"M": {}}
            }}})
        };
        assert!(matches_pattern(&pattern, &record("MODIFY", "pending")));
        assert!(!matches_pattern(&pattern, &record("MODIFY", "done")));
        assert!(!matches_pattern(&pattern, &record("INSERT", "pending")));
        assert!(!matches_pattern(&pattern, &json!({"eventName": "MODIFY"})));
        let rules: Value = json!({"a": [{"prefix": "AP"}], "b": [{"exists": false}]});
        assert!(matches_pattern(&rules, &json!({"a": "APP#1"})));
        assert!(!matches_pattern(&rules, &json!({"a": "APP#1", "b": 1})));
    }

    /// A reader whose function fails the records named in `failing` (by sequence number) and
    /// logs every batch it gets.
    fn reader(mapping: Mapping, failing: &[&str], log: Arc<Mutex<Vec<Vec<String>>>>) -> Reader {
        let failing: Vec<String> = failing.iter().map(|s| s.to_string()).collect();
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .build();
        let state = State::new(
            aws_sdk_dynamodb::Client::from_conf(config),
            "t".into(),
            vec![0; 32],
            Duration::from_secs(1),
        )
        .unwrap();
        Reader {
            function: PURGE_FUNCTION,
            handler: Arc::new(move |_, event, _| {
                let batch: Vec<String> = event["Records"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| sequence(r).to_owned())
                    .collect();
                let failures: Vec<Value> = batch
                    .iter()
                    .filter(|s| failing.contains(s))
                    .map(|s| json!({"itemIdentifier": s}))
                    .collect();
                log.lock().unwrap().push(batch);
                Box::pin(async move { json!({ "batchItemFailures": failures }) })
            }),
            endpoint: String::new(),
            stream_arn: "arn:s".into(),
            state,
            policy: Arc::new(Policy::of(
                crate::template::Template::shipped()
                    .unwrap()
                    .function(PURGE_FUNCTION)
                    .unwrap(),
                "t",
            )),
            mapping,
            delivery: Delivery::default(),
            timeout: Duration::from_secs(300),
            failed: Arc::default(),
        }
    }

    fn records(n: usize) -> Vec<Value> {
        (1..=n)
            .map(|i| json!({"dynamodb": {"SequenceNumber": i.to_string()}}))
            .collect()
    }

    fn mapping(retries: i64, bisect: bool) -> Mapping {
        Mapping {
            batch_size: 10,
            maximum_retry_attempts: retries,
            bisect_on_error: bisect,
            report_batch_item_failures: true,
            maximum_record_age_seconds: None,
            filters: vec![],
            on_failure_destination: true,
        }
    }

    #[tokio::test]
    async fn a_partial_failure_is_retried_from_its_first_failed_record() {
        let log = Arc::default();
        let reader = reader(mapping(2, false), &["3"], Arc::clone(&log));
        deliver(&reader, "shard", records(4)).await;
        let batches = log.lock().unwrap().clone();
        // 1 and 2 are done; 3 and 4 are retried twice, then given up on.
        assert_eq!(
            batches,
            [vec!["1", "2", "3", "4"], vec!["3", "4"], vec!["3", "4"]]
        );
        let failed = reader.failed.lock().unwrap().clone();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0]["DDBStreamBatchInfo"]["startSequenceNumber"], "3");
        assert_eq!(
            failed[0]["requestContext"]["condition"],
            "RetryAttemptsExhausted"
        );
    }

    #[tokio::test]
    async fn bisecting_isolates_the_failing_record() {
        let log = Arc::default();
        let reader = reader(mapping(3, true), &["2"], Arc::clone(&log));
        deliver(&reader, "shard", records(4)).await;
        let batches = log.lock().unwrap().clone();
        assert_eq!(batches[0], ["1", "2", "3", "4"]);
        assert_eq!(batches[1], ["2"], "the failed part, halved");
        let failed = reader.failed.lock().unwrap().clone();
        assert_eq!(failed.len(), 1, "{failed:?}");
        assert_eq!(failed[0]["DDBStreamBatchInfo"]["batchSize"], 1);
        assert!(
            batches.iter().any(|b| b == &["3", "4"]),
            "the records after it are delivered: {batches:?}"
        );
    }

    #[test]
    fn the_shipped_mapping_is_read_from_the_template() {
        let template = crate::template::Template::shipped().unwrap();
        let event = &template.function(PURGE_FUNCTION).unwrap().stream_events[0];
        assert_eq!(event["BatchSize"].as_i64(), Some(10));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(backoff(1) < backoff(2));
        assert_eq!(backoff(30), Duration::from_millis(1_000));
    }
}
