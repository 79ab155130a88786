//! What DynamoDB charges for the requests a call sends: an SDK interceptor that asks every
//! request for `ReturnConsumedCapacity: TOTAL` (added to the JSON body before signing) and adds
//! up the read and write capacity units each parsed answer reports (DynamoDB Local reports
//! them too).

use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextMut,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::types::ConsumedCapacity;
use aws_smithy_runtime_api::client::interceptors::context::Output;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_types::body::SdkBody;
use serde_json::Value;

/// Capacity consumed since the last [`CapacityMeter::take`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Consumed {
    pub requests: usize,
    pub read_units: f64,
    pub write_units: f64,
}

#[derive(Debug, Default, Clone)]
pub struct CapacityMeter(Arc<Mutex<Consumed>>);

impl CapacityMeter {
    pub fn take(&self) -> Consumed {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// Read and write units of one answer's `ConsumedCapacity` entries (one, or one per table and
/// index for batches and transactions). An entry without the split counts as reads for the read
/// operations and as writes for the others.
pub fn units(operation: &str, entries: &[ConsumedCapacity]) -> (f64, f64) {
    let reading = matches!(operation, "GetItem" | "BatchGetItem" | "Query" | "Scan");
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
fn consumed(output: &Output) -> Vec<ConsumedCapacity> {
    use aws_sdk_dynamodb::operation::{
        batch_get_item::BatchGetItemOutput, batch_write_item::BatchWriteItemOutput,
        delete_item::DeleteItemOutput, get_item::GetItemOutput, put_item::PutItemOutput,
        query::QueryOutput, scan::ScanOutput, transact_write_items::TransactWriteItemsOutput,
        update_item::UpdateItemOutput,
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
        TransactWriteItemsOutput
    );
    Vec::new()
}

fn operation(cfg: &ConfigBag) -> String {
    cfg.load::<Metadata>()
        .map(|m| m.name().to_owned())
        .unwrap_or_default()
}

impl Intercept for CapacityMeter {
    fn name(&self) -> &'static str {
        "CapacityMeter"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let request = context.request_mut();
        let Some(mut body) = request
            .body()
            .bytes()
            .and_then(|b| serde_json::from_slice::<Value>(b).ok())
        else {
            return Ok(());
        };
        let Some(object) = body.as_object_mut() else {
            return Ok(());
        };
        object.insert("ReturnConsumedCapacity".into(), "TOTAL".into());
        let bytes = serde_json::to_vec(&body)?;
        request
            .headers_mut()
            .insert("content-length", bytes.len().to_string());
        *request.body_mut() = SdkBody::from(bytes);
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        // A failed request consumed what DynamoDB says nowhere: it counts as a request only.
        let entries = context.output_or_error().map(consumed).unwrap_or_default();
        let (reads, writes) = units(&operation(cfg), &entries);
        let mut consumed = self.0.lock().unwrap_or_else(|p| p.into_inner());
        consumed.requests += 1;
        consumed.read_units += reads;
        consumed.write_units += writes;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
