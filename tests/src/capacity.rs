//! What DynamoDB charges for the requests a test sends, across calls: an SDK interceptor that
//! adds up the read and write capacity units each parsed answer reports (DynamoDB Local reports
//! them too). The product's own meter (`shared::metrics::dynamodb`) asks every request for them
//! and counts per call; this one reads them the same way, with its functions.

use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::AfterDeserializationInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use shared::metrics::dynamodb::answer_units;

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

impl Intercept for CapacityMeter {
    fn name(&self) -> &'static str {
        "CapacityMeter"
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let (reads, writes) = answer_units(context, cfg);
        let mut consumed = self.0.lock().unwrap_or_else(|p| p.into_inner());
        consumed.requests += 1;
        consumed.read_units += reads;
        consumed.write_units += writes;
        Ok(())
    }
}
