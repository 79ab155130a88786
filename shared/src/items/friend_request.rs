//! Pending friend requests, their mirror in the requester's partition, and friend permissions.

use serde::{Deserialize, Serialize};

use super::Kind;
use crate::table;

/// A pending friend request in the target's partition (`SK = FRIEND_REQUEST#<requester>`),
/// `edgeTo` the requester's partition; mirrored by `REQUEST_SENT#<target>` in the requester's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FriendRequest {
    #[serde(skip)]
    pub app_key: String,
    #[serde(skip)]
    pub target_id: String,
    #[serde(rename = "LSI1SK")]
    pub lsi1_sk: String,
    pub edge_to: String,
    pub requester_id: String,
    /// Left out when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub extra: String,
    pub created_at: i64,
    /// The request id of the call that wrote it (as [`OperationRecord::request_id`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl FriendRequest {
    pub fn new(
        app_key: &str,
        requester_id: &str,
        target_id: &str,
        extra: &str,
        now_ms: i64,
    ) -> Self {
        Self {
            app_key: app_key.to_owned(),
            target_id: target_id.to_owned(),
            lsi1_sk: table::lsi1_sort_key(table::SK_FRIEND_REQUEST_PREFIX, now_ms, requester_id),
            edge_to: table::user_pk(app_key, requester_id),
            requester_id: requester_id.to_owned(),
            extra: extra.to_owned(),
            created_at: now_ms,
            request_id: None,
        }
    }
}

impl Kind for FriendRequest {
    fn key(&self) -> (String, String) {
        (
            table::user_pk(&self.app_key, &self.target_id),
            table::friend_request_sk(&self.requester_id),
        )
    }
}

/// A user's friend permission (`SK = FRIEND_PERMISSION`); absent: the app's default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FriendPermission {
    #[serde(skip)]
    pub app_key: String,
    #[serde(skip)]
    pub user_id: String,
    pub permission_type: u8,
}

impl Kind for FriendPermission {
    fn key(&self) -> (String, String) {
        (
            table::user_pk(&self.app_key, &self.user_id),
            table::SK_FRIEND_PERMISSION.to_owned(),
        )
    }
}

/// The pending request's mirror in the requester's partition (`SK = REQUEST_SENT#<target>`), so
/// the requester's purge finds it with a strongly consistent read of its own partition. Written
/// and deleted in the same transaction as the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestSent {
    #[serde(skip)]
    pub app_key: String,
    #[serde(skip)]
    pub requester_id: String,
    #[serde(skip)]
    pub target_id: String,
}

impl Kind for RequestSent {
    fn key(&self) -> (String, String) {
        (
            table::user_pk(&self.app_key, &self.requester_id),
            table::request_sent_sk(&self.target_id),
        )
    }
}
