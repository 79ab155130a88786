//! Reading friendships: the list by time added, relationships, pending requests.

use super::*;

/// One friend as listed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Friend {
    pub user_id: String,
    pub name: String,
    pub alias: String,
    pub friend_ext_profile: Map<String, Value>,
    pub added_at: i64,
}

/// A page of `user_id`'s friends by time added, its total number and where the next page starts.
pub struct FriendPage {
    pub friends: Vec<Friend>,
    pub total: i64,
    pub next: Option<Item>,
}

/// One page of friends (`newest_first` or oldest first), with each friend's name: the hosted
/// profile's `name` if set, else the user's name.
pub async fn list(
    state: &State,
    app: &App,
    user_id: &str,
    newest_first: bool,
    page_size: usize,
    start: Option<Item>,
) -> Result<FriendPage, ApiError> {
    let key = &app.app_key;
    let own = Fetched::read(
        state,
        vec![
            edges::key(key, user_id, table::SK_USER),
            edges::key(key, user_id, table::SK_FRIEND_COUNT),
        ],
    );
    let page = edges::page(
        state,
        key,
        user_id,
        table::SK_FRIEND_PREFIX,
        !newest_first,
        page_size,
        start,
    );
    let (own, (edges_page, next)) = tokio::try_join!(own, page)?;
    own.require_readable(key, user_id)?;
    let total = edges::count_of(&own, key, Kind::Friend, user_id);
    let ids: Vec<String> = edges_page
        .iter()
        .filter_map(|edge| db::text(edge, edges::TARGET_ID).map(str::to_owned))
        .collect();
    let name_keys = ids
        .iter()
        .flat_map(|id| {
            [
                edges::key(key, id, table::SK_USER),
                edges::key(key, id, table::SK_PROFILE),
            ]
        })
        .collect();
    let names = if ids.is_empty() {
        Fetched::empty()
    } else {
        Fetched::read(state, name_keys).await?
    };
    let friends = edges_page
        .iter()
        .filter_map(|edge| {
            let id = db::text(edge, edges::TARGET_ID)?;
            Some(Friend {
                user_id: id.to_owned(),
                name: display_name(&names, key, id),
                alias: db::text(edge, ALIAS).unwrap_or_default().to_owned(),
                friend_ext_profile: ext_profile(edge),
                added_at: db::number(edge, edges::ADDED_AT).unwrap_or(0),
            })
        })
        .collect();
    Ok(FriendPage {
        friends,
        total,
        next,
    })
}

/// The hosted profile's `userProfile.name` when set and not empty, else the user's name.
pub(super) fn display_name(names: &Fetched, key: &str, user_id: &str) -> String {
    let hosted = names
        .get(key, user_id, table::SK_PROFILE)
        .and_then(|profile| profile.get("userProfile"))
        .and_then(|p| p.as_m().ok())
        .and_then(|p| p.get("name"))
        .and_then(|name| name.as_s().ok())
        .filter(|name| !name.is_empty());
    match hosted {
        Some(name) => name.clone(),
        None => names
            .get(key, user_id, table::SK_USER)
            .and_then(|user| db::text(user, "name"))
            .unwrap_or_default()
            .to_owned(),
    }
}

pub(super) fn ext_profile(edge: &Item) -> Map<String, Value> {
    edge.get(EXT_PROFILE)
        .and_then(|v| v.as_m().ok())
        .map(|map| {
            map.iter()
                .filter_map(|(k, v)| Some((k.clone(), Value::String(v.as_s().ok()?.clone()))))
                .collect()
        })
        .unwrap_or_default()
}

/// For each target, whether `user_id` and it are friends (4) or not (1), in the order asked.
pub async fn relationships(
    state: &State,
    app: &App,
    user_id: &str,
    target_ids: &[String],
) -> Result<Vec<(String, i64)>, ApiError> {
    let key = &app.app_key;
    let mut keys = vec![edges::key(key, user_id, table::SK_USER)];
    keys.extend(
        target_ids
            .iter()
            .map(|t| edges::key(key, user_id, &table::friend_sk(t))),
    );
    let fetched = Fetched::read(state, keys).await?;
    fetched.require_readable(key, user_id)?;
    Ok(target_ids
        .iter()
        .map(|t| {
            let friends = fetched.get(key, user_id, &table::friend_sk(t)).is_some();
            let result = if friends {
                RELATION_FRIENDS
            } else {
                RELATION_NONE
            };
            (t.clone(), result)
        })
        .collect())
}

/// A pending request as listed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = FriendRequest))]
#[serde(rename_all = "camelCase")]
pub struct Request {
    pub requester_id: String,
    pub extra: String,
    pub created_at: i64,
}

/// A page of the requests `user_id` received, newest first.
pub async fn requests(
    state: &State,
    app: &App,
    user_id: &str,
    page_size: usize,
    start: Option<Item>,
) -> Result<(Vec<Request>, Option<Item>), ApiError> {
    let (items, next) = edges::page_of_active_user(
        state,
        &app.app_key,
        user_id,
        table::SK_FRIEND_REQUEST_PREFIX,
        page_size,
        start,
    )
    .await?;
    let requests = items
        .iter()
        .filter_map(|item| {
            Some(Request {
                requester_id: db::text(item, REQUESTER_ID)?.to_owned(),
                extra: db::text(item, EXTRA).unwrap_or_default().to_owned(),
                created_at: db::number(item, CREATED_AT).unwrap_or(0),
            })
        })
        .collect();
    Ok((requests, next))
}
