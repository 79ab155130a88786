//! The profile item: its attributes and their JSON values.

use super::*;
pub(super) use crate::items::Kind as _;
use crate::items::ProfileItem;

/// A hosted profile as the API answers it; an empty part is left out.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub user_id: String,
    pub version: i64,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub user_profile: Map<String, Value>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub user_ext_profile: Map<String, Value>,
}

impl Profile {
    /// The two parts with their attribute names.
    pub(super) fn parts(&self) -> [(&'static str, &Map<String, Value>); 2] {
        [
            ("userProfile", &self.user_profile),
            ("userExtProfile", &self.user_ext_profile),
        ]
    }
}

/// A stored profile item.
#[derive(Debug, Clone)]
pub(super) struct Stored {
    pub(super) profile: Profile,
    pub(super) registered_at: i64,
    pub(super) sort_key: String,
}

impl Stored {
    /// The item of a new profile, listed by the user's registration time.
    pub(super) fn new_item(
        app_key: &str,
        profile: &Profile,
        registered_at: i64,
        now_ms: i64,
    ) -> ProfileItem {
        ProfileItem {
            app_key: app_key.to_owned(),
            user_id: profile.user_id.clone(),
            version: profile.version,
            registered_at,
            updated_at: now_ms,
            user_profile: profile.user_profile.clone(),
            user_ext_profile: profile.user_ext_profile.clone(),
            request_id: crate::metrics::request_id(),
            gsi1_pk: table::list_pk(app_key, table::LIST_PROFILES),
            gsi1_sk: table::time_sort_key(registered_at, &profile.user_id),
        }
    }
}

/// The stored profile in a profile item; `None` for any other item.
pub(super) fn stored_from_item(item: &Item) -> Option<Stored> {
    if db::text(item, table::SK)? != table::SK_PROFILE {
        return None;
    }
    let item = ProfileItem::from_item(item.clone()).ok()?;
    Some(Stored {
        profile: Profile {
            user_id: item.user_id,
            version: item.version,
            user_profile: item.user_profile,
            user_ext_profile: item.user_ext_profile,
        },
        registered_at: item.registered_at,
        sort_key: item.gsi1_sk,
    })
}

pub(super) fn profile_key(app_key: &str, user_id: &str) -> Item {
    users::item_key(app_key, user_id, table::SK_PROFILE)
}
