//! A user's tags.

use serde::{Deserialize, Serialize};

use super::Kind;
use crate::table;

/// A user's tags (`SK = TAGS`); no item when the user has none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tags {
    #[serde(skip)]
    pub app_key: String,
    pub user_id: String,
    pub tags: Vec<String>,
    pub updated_at: i64,
}

impl Kind for Tags {
    fn key(&self) -> (String, String) {
        (
            table::user_pk(&self.app_key, &self.user_id),
            table::SK_TAGS.to_owned(),
        )
    }
}
