//! A live client connection and the lookup from its id to its user.

use serde::{Deserialize, Serialize};

use super::{Kind, ttl_seconds};
use crate::table;

/// A live client connection (`SK = CONN#<connectionId>` in the user's partition), in the app's
/// `GSI1` `CONNECTIONS` list; offline once `expiresAtMs` passes (heartbeats move it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connection {
    #[serde(skip)]
    pub app_key: String,
    pub connection_id: String,
    pub user_id: String,
    /// The access token's issue time.
    pub iat_ms: i64,
    pub connected_at_ms: i64,
    pub expires_at_ms: i64,
    pub ttl: i64,
    /// The client's address as API Gateway saw it (`ip:port`, port 0 when unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<String>,
    /// Set (with `closedAtMs`) when a soft delete closed the connection: the item then stays,
    /// offline and out of the `CONNECTIONS` list, until its TTL or the purge removes it, so
    /// its stream record tells why it closed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at_ms: Option<i64>,
    /// The request id of the call that opened it, then of the soft delete that closed it (as
    /// [`OperationRecord::request_id`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Absent once closed by a soft delete.
    #[serde(rename = "GSI1PK", default)]
    pub gsi1_pk: String,
    #[serde(rename = "GSI1SK", default)]
    pub gsi1_sk: String,
}

/// `closedBy` of a connection a soft delete closed.
pub const CLOSED_BY_SOFT_DELETE: &str = "soft-delete";

/// The `GSI1` list of an app's connections (app-wide kicks on secret rotation).
pub const LIST_CONNECTIONS: &str = "CONNECTIONS";
/// The sort key of a connection's lookup item.
pub const SK_LOOKUP: &str = "CONN";

impl Connection {
    pub fn new(
        app_key: &str,
        user_id: &str,
        connection_id: &str,
        iat_ms: i64,
        now: i64,
        expires: i64,
    ) -> Self {
        Self {
            app_key: app_key.to_owned(),
            connection_id: connection_id.to_owned(),
            user_id: user_id.to_owned(),
            iat_ms,
            connected_at_ms: now,
            expires_at_ms: expires,
            ttl: ttl_seconds(expires),
            client_ip: None,
            closed_by: None,
            closed_at_ms: None,
            request_id: None,
            gsi1_pk: table::list_pk(app_key, LIST_CONNECTIONS),
            gsi1_sk: table::time_sort_key(now, user_id),
        }
    }

    /// Its lookup item, for `$disconnect` and heartbeats that know only the connection ID.
    pub fn lookup(&self) -> ConnectionLookup {
        ConnectionLookup {
            connection_id: self.connection_id.clone(),
            edge_to: table::user_pk(&self.app_key, &self.user_id),
            expires_at_ms: self.expires_at_ms,
            ttl: self.ttl,
        }
    }
}

impl Kind for Connection {
    fn key(&self) -> (String, String) {
        (
            table::user_pk(&self.app_key, &self.user_id),
            format!("{}{}", table::SK_CONN_PREFIX, self.connection_id),
        )
    }
}

/// `PK = CONN#<connectionId>`, `SK = CONN`: the user a connection belongs to (`edgeTo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionLookup {
    #[serde(skip)]
    pub connection_id: String,
    /// The user's partition key (`table::EDGE_TO`).
    pub edge_to: String,
    pub expires_at_ms: i64,
    pub ttl: i64,
}

impl Kind for ConnectionLookup {
    fn key(&self) -> (String, String) {
        (
            format!("{}{}", table::SK_CONN_PREFIX, self.connection_id),
            SK_LOOKUP.to_owned(),
        )
    }
}
