//! What each call costs in DynamoDB: an SDK interceptor in every container's client that asks each
//! data-plane request for `ReturnConsumedCapacity: TOTAL` and adds up, for the call it serves
//! (`super::Usage`), the requests sent and the read and write units each answer reports. Nothing
//! is sent that would not be sent anyway: the field rides on the request, the units on its answer.

use aws_sdk_dynamodb::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextMut,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::types::ConsumedCapacity;
use aws_smithy_runtime_api::client::interceptors::context::Output;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_types::body::SdkBody;

/// The operations that take `ReturnConsumedCapacity` (the others, `DescribeTable` and the like,
/// are sent unchanged).
const METERED: &[&str] = &[
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "Scan",
    "BatchGetItem",
    "BatchWriteItem",
    "TransactGetItems",
    "TransactWriteItems",
];

/// The product's DynamoDB interceptor (see the module's documentation). Stateless: what it
/// counts goes to the call in scope, if any.
#[derive(Debug, Default, Clone, Copy)]
pub struct Meter;

/// The DynamoDB operation of a request or an answer (`GetItem`), from the SDK's metadata.
pub fn operation(cfg: &ConfigBag) -> &str {
    cfg.load::<Metadata>().map(Metadata::name).unwrap_or("")
}

/// Read and write units of one answer's `ConsumedCapacity` entries (one, or one per table and
/// index for batches and transactions). An entry without the split counts as reads for the read
/// operations and as writes for the others.
pub fn units(operation: &str, entries: &[ConsumedCapacity]) -> (f64, f64) {
    let reading = matches!(
        operation,
        "GetItem" | "BatchGetItem" | "Query" | "Scan" | "TransactGetItems"
    );
    let (mut reads, mut writes) = (0.0, 0.0);
    for entry in entries {
        match (entry.read_capacity_units(), entry.write_capacity_units()) {
            (None, None) => {
                let total = entry.capacity_units().unwrap_or(0.0);
                if reading {
                    reads += total;
                } else {
                    writes += total;
                }
            }
            (r, w) => {
                reads += r.unwrap_or(0.0);
                writes += w.unwrap_or(0.0);
            }
        }
    }
    (reads, writes)
}

/// The `ConsumedCapacity` entries of a DynamoDB answer, whatever the operation.
pub fn consumed(output: &Output) -> Vec<ConsumedCapacity> {
    use aws_sdk_dynamodb::operation::{
        batch_get_item::BatchGetItemOutput, batch_write_item::BatchWriteItemOutput,
        delete_item::DeleteItemOutput, get_item::GetItemOutput, put_item::PutItemOutput,
        query::QueryOutput, scan::ScanOutput, transact_get_items::TransactGetItemsOutput,
        transact_write_items::TransactWriteItemsOutput, update_item::UpdateItemOutput,
    };
    macro_rules! one {
        ($($kind:ty),*) => {
            $(if let Some(out) = output.downcast_ref::<$kind>() {
                return out.consumed_capacity().cloned().into_iter().collect();
            })*
        };
    }
    macro_rules! many {
        ($($kind:ty),*) => {
            $(if let Some(out) = output.downcast_ref::<$kind>() {
                return out.consumed_capacity().to_vec();
            })*
        };
    }
    one!(
        GetItemOutput,
        PutItemOutput,
        UpdateItemOutput,
        DeleteItemOutput,
        QueryOutput,
        ScanOutput
    );
    many!(
        BatchGetItemOutput,
        BatchWriteItemOutput,
        TransactGetItemsOutput,
        TransactWriteItemsOutput
    );
    Vec::new()
}

/// The read and write units an answer reports (none for a failed request: DynamoDB says
/// nowhere what it consumed).
pub fn answer_units(
    context: &AfterDeserializationInterceptorContextRef<'_>,
    cfg: &ConfigBag,
) -> (f64, f64) {
    let entries = context.output_or_error().map(consumed).unwrap_or_default();
    units(operation(cfg), &entries)
}

/// `body` (a JSON object, as the SDK serialises every DynamoDB input) with
/// `"ReturnConsumedCapacity":"TOTAL"` as its first member; `None` when it is not an object or
/// already names the field. Spliced, not parsed: the request's bytes are otherwise untouched.
pub fn with_total_capacity(body: &[u8]) -> Option<Vec<u8>> {
    const FIELD: &[u8] = b"\"ReturnConsumedCapacity\"";
    let rest = body.strip_prefix(b"{")?;
    if body.windows(FIELD.len()).any(|window| window == FIELD) {
        return None;
    }
    let mut spliced = Vec::with_capacity(body.len() + 36);
    spliced.extend_from_slice(b"{\"ReturnConsumedCapacity\":\"TOTAL\"");
    if rest.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'}') {
        spliced.push(b',');
    }
    spliced.extend_from_slice(rest);
    Some(spliced)
}

impl Intercept for Meter {
    fn name(&self) -> &'static str {
        "metrics::dynamodb::Meter"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        if !super::asks_capacity() || !METERED.contains(&operation(cfg)) {
            return Ok(());
        }
        let request = context.request_mut();
        let Some(spliced) = request.body().bytes().and_then(with_total_capacity) else {
            return Ok(());
        };
        request
            .headers_mut()
            .insert("content-length", spliced.len().to_string());
        *request.body_mut() = SdkBody::from(spliced);
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let (reads, writes) = answer_units(context, cfg);
        super::add_dynamodb_request(reads, writes);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_field_goes_first_and_the_rest_is_untouched() {
        let body = br#"{"TableName":"t","Key":{"PK":{"S":"a"}}}"#;
        let spliced = with_total_capacity(body).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&spliced).unwrap();
        assert_eq!(value["ReturnConsumedCapacity"], "TOTAL");
        assert_eq!(value["Key"]["PK"]["S"], "a");
        assert!(spliced.ends_with(&body[1..]));
        let empty = with_total_capacity(b"{ }").unwrap();
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&empty).unwrap(),
            serde_json::json!({"ReturnConsumedCapacity": "TOTAL"})
        );
    }

    #[test]
    fn a_body_that_names_the_field_or_is_no_object_is_left_alone() {
        assert_eq!(
            with_total_capacity(br#"{"ReturnConsumedCapacity":"NONE","TableName":"t"}"#),
            None
        );
        assert_eq!(with_total_capacity(b""), None);
        assert_eq!(with_total_capacity(b"[1]"), None);
    }

    #[test]
    fn units_add_up_entries_and_unsplit_totals() {
        let total = |units: f64| ConsumedCapacity::builder().capacity_units(units).build();
        assert_eq!(units("GetItem", &[total(1.0)]), (1.0, 0.0));
        assert_eq!(units("PutItem", &[total(1.0)]), (0.0, 1.0));
        let split = ConsumedCapacity::builder()
            .capacity_units(6.0)
            .read_capacity_units(2.0)
            .write_capacity_units(4.0)
            .build();
        let writes = ConsumedCapacity::builder()
            .capacity_units(2.0)
            .write_capacity_units(2.0)
            .build();
        assert_eq!(units("TransactWriteItems", &[split, writes]), (2.0, 6.0));
        assert_eq!(units("Query", &[]), (0.0, 0.0));
    }
}
