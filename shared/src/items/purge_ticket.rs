//! The sweeper's ticket of a soft delete.

use serde::{Deserialize, Serialize};

use super::Kind;

/// The sweeper's ticket of a soft delete (`PK = PURGES#<first hex digit of the operation ID>`,
/// `SK = <13-digit ms>#<app>#<operation>`): spread over 16 partitions so no partition takes every
/// soft delete's write, sorted by time so the sweeper reads only tickets older than its cut-off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PurgeTicket {
    pub app_key: String,
    pub operation_id: String,
    #[serde(skip)]
    pub created_at: i64,
}

/// The partitions of the sweeper's tickets: `PURGES#` and one of these digits.
pub const TICKET_SHARDS: &str = "0123456789abcdef";

impl PurgeTicket {
    /// The partition of one shard (a digit of [`TICKET_SHARDS`]).
    pub fn shard_pk(shard: char) -> String {
        format!("PURGES#{shard}")
    }

    /// The sort key below which every ticket is older than `cutoff_ms`.
    pub fn older_than(cutoff_ms: i64) -> String {
        format!("{:013}", cutoff_ms.max(0))
    }
}

impl Kind for PurgeTicket {
    fn key(&self) -> (String, String) {
        let shard = self.operation_id.chars().next().unwrap_or('0');
        (
            Self::shard_pk(shard),
            format!(
                "{}#{}#{}",
                Self::older_than(self.created_at),
                self.app_key,
                self.operation_id
            ),
        )
    }
}
