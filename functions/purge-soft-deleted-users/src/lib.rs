//! The purge of soft-deleted users, driven by the table's DynamoDB Stream (filtered in
//! `template.yaml` to USER items whose purge is pending). A record that fails is reported as a
//! batch item failure, so Lambda retries it without replaying the whole batch. A purge that runs
//! short of time checkpoints and goes on from the record its checkpoint writes.

use serde_json::{Value, json};
use shared::State;
use shared::purge::{self, Deadline, UserImage};

/// The new image of a stream record in Lambda's JSON form (`{"PK":{"S":"..."}}`, numbers as
/// `{"N":"..."}`).
pub fn user_image(record: &Value) -> UserImage {
    let image = &record["dynamodb"]["NewImage"];
    UserImage::from_strings(|name| {
        let value = &image[name];
        value["S"]
            .as_str()
            .or(value["N"].as_str())
            .map(str::to_owned)
    })
}

/// Handles a batch of stream records; answers the failed ones' sequence numbers. The records
/// share `deadline` (the invocation's, less a reserve): one that finds it passed starts no page
/// and only checkpoints, so it goes on in the next invocation.
pub async fn handle(state: &State, event: &Value, deadline: Deadline) -> Value {
    shared::metrics::invoked(&state.cold_start, "purge-soft-deleted-users");
    let mut failures = Vec::new();
    for record in event["Records"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let image = user_image(record);
        if let Err(err) = purge::on_user_change(state, &image, deadline.clone()).await {
            tracing::error!(pk = %image.pk, error = ?err, "purge failed");
            if let Some(sequence) = record["dynamodb"]["SequenceNumber"].as_str() {
                failures.push(json!({ "itemIdentifier": sequence }));
            }
        }
    }
    json!({ "batchItemFailures": failures })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_new_image_of_a_lambda_stream_record() {
        let record = json!({
            "eventName": "MODIFY",
            "dynamodb": {
                "SequenceNumber": "111",
                "NewImage": {
                    "PK": {"S": "APP#k#U#alice"}, "SK": {"S": "USER"}, "state": {"S": "soft-deleted"},
                    "purgeState": {"S": "pending"}, "purgeOperation": {"S": "op1"}, "createdAt": {"N": "5"},
                    "purgeRounds": {"N": "2"}
                }
            }
        });
        let image = user_image(&record);
        assert!(image.needs_purge());
        assert_eq!(
            (
                image.pk.as_str(),
                image.purge_operation.as_str(),
                image.purge_rounds
            ),
            ("APP#k#U#alice", "op1", 2)
        );
        assert!(!user_image(&json!({})).needs_purge());
    }
}
