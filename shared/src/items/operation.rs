//! A soft delete's or restore's operation record, and the request id stamped on items whose changes make webhook events.

use serde::{Deserialize, Serialize};

use super::Kind;
use crate::db::Item;
use crate::table;

/// A soft-delete or restore operation (`PK = <operation pk>`, `SK = OP`): each user's result,
/// and the users in request order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationRecord {
    #[serde(skip)]
    pub app_key: String,
    #[serde(skip)]
    pub operation_id: String,
    /// `soft-delete` or `restore`.
    #[serde(rename = "type")]
    pub kind: String,
    pub created_at: i64,
    pub order: Vec<String>,
    pub users: std::collections::BTreeMap<String, StoredResult>,
    /// The request id of the API call that wrote it ([`crate::metrics::request_id`]), which its
    /// webhook events carry to the receiver (`X-Request-ID`); absent when written outside a call.
    /// The same field on every item kind that makes webhook events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// Stamps an update of an item that makes webhook events with the request id of the call in
/// scope (`requestId`, [`OperationRecord::request_id`]): adds its `SET` to `sets`, or, outside a
/// call, its `REMOVE` to `removes`, so the item never keeps an earlier call's id.
pub fn stamp_request_id(
    update: aws_sdk_dynamodb::types::builders::UpdateBuilder,
    sets: &mut Vec<&str>,
    removes: &mut Vec<&str>,
) -> aws_sdk_dynamodb::types::builders::UpdateBuilder {
    match crate::metrics::request_id() {
        Some(id) => {
            sets.push("requestId = :requestId");
            update.expression_attribute_values(":requestId", crate::db::s(id))
        }
        None => {
            removes.push("requestId");
            update
        }
    }
}

/// One user's result as an operation record stores it (under `users.<userId>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredResult {
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
}

/// The operation record's sort key.
pub const SK_OPERATION: &str = "OP";

impl OperationRecord {
    pub fn key_of(app_key: &str, operation_id: &str) -> Item {
        crate::db::key(table::operation_pk(app_key, operation_id), SK_OPERATION)
    }
}

impl Kind for OperationRecord {
    fn key(&self) -> (String, String) {
        (
            table::operation_pk(&self.app_key, &self.operation_id),
            SK_OPERATION.to_owned(),
        )
    }
}
