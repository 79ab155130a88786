//! Everything the console shows about one user, read in two requests side by side: one
//! `BatchGetItem` of the user's fixed items (record, tags, ban, friend and blocklist counters)
//! and the connection check of presence.

use serde::Serialize;

use crate::db::{self, Item};
use crate::error::ApiError;
use crate::items::Kind as _;
use crate::state::State;
use crate::table;
use crate::users::{self, UserState};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UserDetails {
    pub user_id: String,
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub avatar_url: String,
    /// Unix ms.
    pub created_at: i64,
    pub state: UserState,
    /// When the user was soft-deleted (Unix ms), while soft-deleted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub soft_deleted_at: Option<i64>,
    /// The purge of a soft-deleted user: `pending` or `done`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purge: Option<String>,
    pub tags: Vec<String>,
    /// At least one live connection.
    pub online: bool,
    /// The ban in force (Unix ms), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ban_expires_at: Option<i64>,
    pub friend_count: i64,
    pub blocked_count: i64,
}

/// The user's details, `None` for a user the app never registered (or a deleted test user).
pub async fn read(
    state: &State,
    app_key: &str,
    user_id: &str,
    now_ms: i64,
) -> Result<Option<UserDetails>, ApiError> {
    let keys = [
        table::SK_USER,
        table::SK_TAGS,
        table::SK_BAN,
        table::SK_FRIEND_COUNT,
        table::SK_BLOCK_COUNT,
    ]
    .map(|sk| users::item_key(app_key, user_id, sk))
    .to_vec();
    let (items, online) = tokio::join!(
        db::get_all(state, keys),
        crate::connections::is_online(state, app_key, user_id)
    );
    let items = items?;
    let of = |sk: &str| {
        items
            .iter()
            .find(|item| db::text(item, table::SK) == Some(sk))
    };
    let Some(record) = of(table::SK_USER) else {
        return Ok(None);
    };
    let user: users::User = serde_dynamo::from_item(record.clone())?;
    let tags = match of(table::SK_TAGS) {
        Some(item) => crate::items::Tags::from_item(item.clone())?.tags,
        None => Vec::new(),
    };
    let count = |sk: &str| {
        of(sk)
            .and_then(|item| db::number(item, "count"))
            .unwrap_or(0)
    };
    Ok(Some(UserDetails {
        soft_deleted_at: soft_deleted_at(record, user.state),
        purge: (user.state == UserState::SoftDeleted)
            .then(|| db::text(record, "purgeState").map(str::to_owned))
            .flatten(),
        ban_expires_at: of(table::SK_BAN)
            .and_then(|ban| db::number(ban, table::BAN_EXPIRES_AT))
            .filter(|expires| *expires > now_ms),
        friend_count: count(table::SK_FRIEND_COUNT),
        blocked_count: count(table::SK_BLOCK_COUNT),
        online: online?,
        tags,
        user_id: user.user_id,
        name: user.name,
        avatar_url: user.avatar_url,
        created_at: user.created_at,
        state: user.state,
    }))
}

fn soft_deleted_at(record: &Item, state: UserState) -> Option<i64> {
    match state {
        UserState::SoftDeleted => db::number(record, "deletedAt"),
        UserState::Active => None,
    }
}
