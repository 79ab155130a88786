//! Faults AWS may show that DynamoDB Local never does, switched on by tests. For now: index lag
//! (a global secondary index is eventually consistent; at worst the newest entries, here all of
//! them, are missing from a query).

use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;

#[derive(Debug, Default)]
pub struct Faults {
    index_lag: AtomicBool,
}

impl Faults {
    /// While on, every `Query`/`Scan` of an index answers as if the index had not caught up
    /// with any write yet: no items.
    pub fn set_index_lag(&self, on: bool) {
        self.index_lag.store(on, Ordering::Relaxed);
    }

    /// The answer to send instead of DynamoDB's, if a fault applies to this request.
    pub fn answer(&self, target: &str, body: &[u8]) -> Option<String> {
        if !self.index_lag.load(Ordering::Relaxed) {
            return None;
        }
        let operation = target.rsplit('.').next().unwrap_or_default();
        if !matches!(operation, "Query" | "Scan") {
            return None;
        }
        let request: Value = serde_json::from_slice(body).ok()?;
        request["IndexName"]
            .is_string()
            .then(|| r#"{"Count":0,"Items":[],"ScannedCount":0}"#.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_lag_hides_index_reads_only() {
        let faults = Faults::default();
        let index = br#"{"TableName":"t","IndexName":"EDGES"}"#;
        assert_eq!(faults.answer("DynamoDB_20120810.Query", index), None);
        faults.set_index_lag(true);
        assert!(faults.answer("DynamoDB_20120810.Query", index).is_some());
        assert_eq!(
            faults.answer("DynamoDB_20120810.Query", br#"{"TableName":"t"}"#),
            None
        );
        assert_eq!(faults.answer("DynamoDB_20120810.GetItem", index), None);
    }
}
