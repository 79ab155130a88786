//! Friend and blocklist edges.

use serde::{Deserialize, Serialize};

use super::Kind;

/// `addedHow` of a friend edge: a request accepted, or friends without one.
pub const ADDED_ACCEPTED: &str = "accepted";
pub const ADDED_DIRECT: &str = "direct";

/// An edge `owner → target` in the owner's partition (`SK = FRIEND#<target>` or
/// `BLOCK#<target>`): `edgeTo` names the target's partition, `countedIn` the owner's counter item
/// it is counted in, `LSI1SK` orders the owner's edges of its kind by time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Edge {
    #[serde(skip)]
    pub owner_pk: String,
    #[serde(skip)]
    pub sk: String,
    #[serde(rename = "LSI1SK")]
    pub lsi1_sk: String,
    pub edge_to: String,
    pub counted_in: String,
    pub target_id: String,
    pub added_at: i64,
    /// On a friend edge, in the partition of the user whose call made them friends only: that
    /// user, and how (`accepted` a request, or `direct`). One per pair: the webhook's actor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added_how: Option<String>,
    /// On the edge carrying `addedBy`: the request id of the call that made them friends (as
    /// [`OperationRecord::request_id`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl Kind for Edge {
    fn key(&self) -> (String, String) {
        (self.owner_pk.clone(), self.sk.clone())
    }
}
