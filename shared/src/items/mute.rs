//! A user muted in direct channels, and the app's list of them.

use serde::{Deserialize, Serialize};

use super::Kind;
use crate::table;

/// A user muted in direct channels (`SK = MUTE#PERSON`): listed in the app's `GSI1`
/// `MUTED#PERSON` list by the time it was first muted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Mute {
    #[serde(skip)]
    pub app_key: String,
    pub user_id: String,
    pub muted_at: i64,
    #[serde(rename = "GSI1PK")]
    pub gsi1_pk: String,
    #[serde(rename = "GSI1SK")]
    pub gsi1_sk: String,
}

/// The `GSI1` list of the users muted in direct channels, by the time muted.
pub const MUTED_PERSON: &str = "MUTED#PERSON";

impl Mute {
    pub fn new(app_key: &str, user_id: &str, muted_at: i64) -> Self {
        Self {
            app_key: app_key.to_owned(),
            user_id: user_id.to_owned(),
            muted_at,
            gsi1_pk: table::list_pk(app_key, MUTED_PERSON),
            gsi1_sk: table::time_sort_key(muted_at, user_id),
        }
    }
}

impl Kind for Mute {
    fn key(&self) -> (String, String) {
        (
            table::user_pk(&self.app_key, &self.user_id),
            table::SK_MUTE_PERSON.to_owned(),
        )
    }
}
