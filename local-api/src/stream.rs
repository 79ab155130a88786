//! Reads DynamoDB Local's stream of the table and hands each batch of records, in the JSON form
//! Lambda delivers, to the very handler the deployed `purge-soft-deleted-users` function runs,
//! in that function's container and with its role (the event source mapping reads the stream
//! with the function's permissions).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodbstreams::types::{AttributeValue, Record, ShardIteratorType};
use serde_json::{Map, Value, json};
use shared::State;

use crate::functions::Functions;
use crate::table::BoxError;

/// The function the table's stream drives.
pub const PURGE_FUNCTION: &str = "purge-soft-deleted-users";

fn attribute_json(value: &AttributeValue) -> Value {
    match value {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::Bool(b) => json!({ "BOOL": b }),
        _ => json!({ "NULL": true }),
    }
}

/// A stream record as Lambda's DynamoDB event shows it (the attributes the purge reads).
fn lambda_record(record: &Record) -> Value {
    let change = record.dynamodb();
    let image: Map<String, Value> = change
        .and_then(|c| c.new_image())
        .map(|image| {
            image
                .iter()
                .map(|(k, v)| (k.clone(), attribute_json(v)))
                .collect()
        })
        .unwrap_or_default();
    json!({
        "eventName": record.event_name().map(|e| e.as_str()).unwrap_or_default(),
        "eventSource": "aws:dynamodb",
        "dynamodb": {
            "SequenceNumber": change.and_then(|c| c.sequence_number()).unwrap_or_default(),
            "NewImage": image,
        }
    })
}

/// Starts following every shard of the table's stream and returns once the shards that exist
/// now are being read (so a change made after this returns is seen). `from` is where those
/// shards are read from (LATEST for the local API, so an old run's records on disk are not
/// replayed); shards opened later are read from their start. The task runs until dropped.
pub async fn follow(
    functions: Arc<Functions>,
    endpoint: String,
    from: ShardIteratorType,
) -> Result<tokio::task::JoinHandle<Result<(), BoxError>>, BoxError> {
    let config = shared::state::sdk_config(Some(&endpoint)).await;
    let streams = functions.streams_client(PURGE_FUNCTION, &config)?;
    let state = functions.state(PURGE_FUNCTION)?;
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
    let mut known: HashSet<String> = HashSet::new();
    discover(&state, &streams, &stream_arn, &mut known, from).await?;
    Ok(tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            discover(
                &state,
                &streams,
                &stream_arn,
                &mut known,
                ShardIteratorType::TrimHorizon,
            )
            .await?;
        }
    }))
}

/// Starts a reader for every shard not read yet.
async fn discover(
    state: &Arc<State>,
    streams: &aws_sdk_dynamodbstreams::Client,
    stream_arn: &str,
    known: &mut HashSet<String>,
    from: ShardIteratorType,
) -> Result<(), BoxError> {
    let description = streams
        .describe_stream()
        .stream_arn(stream_arn)
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
            .stream_arn(stream_arn)
            .shard_id(&shard_id)
            .shard_iterator_type(from.clone())
            .send()
            .await?
            .shard_iterator;
        tokio::spawn(read_shard(state.clone(), streams.clone(), iterator));
    }
    Ok(())
}

async fn read_shard(
    state: Arc<State>,
    streams: aws_sdk_dynamodbstreams::Client,
    mut iterator: Option<String>,
) {
    while let Some(current) = iterator.take() {
        match streams
            .get_records()
            .shard_iterator(&current)
            .limit(100)
            .send()
            .await
        {
            Ok(out) => {
                let records = out.records.unwrap_or_default();
                if !records.is_empty() {
                    let event =
                        json!({ "Records": records.iter().map(lambda_record).collect::<Vec<_>>() });
                    let answer = purge_soft_deleted_users::handle(&state, &event).await;
                    if answer["batchItemFailures"]
                        .as_array()
                        .is_some_and(|f| !f.is_empty())
                    {
                        tracing::warn!(%answer, "purge failed for some records; they are not retried locally");
                    }
                } else {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                iterator = out.next_shard_iterator;
            }
            Err(err) => {
                tracing::warn!(error = %aws_sdk_dynamodbstreams::error::DisplayErrorContext(&err), "stream read failed");
                tokio::time::sleep(Duration::from_millis(500)).await;
                iterator = Some(current);
            }
        }
    }
}
