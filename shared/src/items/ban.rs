//! A user's ban and the app's list of bans by expiry.

use serde::{Deserialize, Serialize};

use super::{Kind, ttl_seconds};
use crate::table;

/// A user's ban (`SK = BAN`): listed in the app's `GSI1` `BANS` list by expiry, deleted by the
/// table's TTL after it ends (and ignored at read time once ended).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ban {
    #[serde(skip)]
    pub app_key: String,
    pub user_id: String,
    /// When the ban ends (ms): `table::BAN_EXPIRES_AT`.
    pub ban_expires_at: i64,
    pub banned_at: i64,
    /// Epoch seconds, rounded up so DynamoDB never deletes a ban before it ends.
    pub ttl: i64,
    #[serde(rename = "GSI1PK")]
    pub gsi1_pk: String,
    #[serde(rename = "GSI1SK")]
    pub gsi1_sk: String,
}

/// The `GSI1` list of an app's bans, by expiry.
pub const BANS: &str = "BANS";

impl Ban {
    pub fn new(app_key: &str, user_id: &str, expires_at: i64, now_ms: i64) -> Self {
        Self {
            app_key: app_key.to_owned(),
            user_id: user_id.to_owned(),
            ban_expires_at: expires_at,
            banned_at: now_ms,
            ttl: ttl_seconds(expires_at),
            gsi1_pk: table::list_pk(app_key, BANS),
            gsi1_sk: table::time_sort_key(expires_at, user_id),
        }
    }
}

impl Kind for Ban {
    fn key(&self) -> (String, String) {
        (
            table::user_pk(&self.app_key, &self.user_id),
            table::SK_BAN.to_owned(),
        )
    }
}
