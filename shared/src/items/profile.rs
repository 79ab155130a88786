//! A hosted profile, and the remembered boundaries of the profile list's pages.

use serde::{Deserialize, Serialize};

use super::Kind;
use crate::db::Item;
use crate::table;

/// A hosted profile (`SK = PROFILE`), in the app's `GSI1` `PROFILES` list by the user's
/// registration time; an empty part is not stored (it would be noise in every read and stream
/// record). Values are strings and numbers only (the contract's limits).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileItem {
    #[serde(skip)]
    pub app_key: String,
    pub user_id: String,
    pub version: i64,
    pub registered_at: i64,
    pub updated_at: i64,
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub user_profile: serde_json::Map<String, serde_json::Value>,
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub user_ext_profile: serde_json::Map<String, serde_json::Value>,
    /// The request id of the call that wrote it (as [`OperationRecord::request_id`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(rename = "GSI1PK")]
    pub gsi1_pk: String,
    #[serde(rename = "GSI1SK")]
    pub gsi1_sk: String,
}

impl Kind for ProfileItem {
    fn key(&self) -> (String, String) {
        (
            table::user_pk(&self.app_key, &self.user_id),
            table::SK_PROFILE.to_owned(),
        )
    }
}

/// One remembered boundary of the profile list's page walk (`PK = APP#<app>#PROFILE_PAGES`,
/// `SK = <order>#<pageSize>#<page>`): the sort key the page before ended at, kept briefly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageMemory {
    #[serde(skip)]
    pub app_key: String,
    /// `<order>#<pageSize>#<page>`.
    #[serde(skip)]
    pub walk: String,
    pub after: String,
    /// Epoch seconds (`table::TTL`).
    pub ttl: i64,
}

impl PageMemory {
    pub fn key_of(app_key: &str, walk: &str) -> Item {
        crate::db::key(table::profile_pages_pk(app_key), walk)
    }
}

impl Kind for PageMemory {
    fn key(&self) -> (String, String) {
        (table::profile_pages_pk(&self.app_key), self.walk.clone())
    }
}
