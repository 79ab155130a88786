//! Reads and writes of profiles under optimistic concurrency, with the user check and the counts.

use super::*;

pub(super) enum Written {
    Done,
    /// Someone else wrote the profile (or held an item) meanwhile: read again.
    Retry,
    /// The user is no longer active (or was registered again).
    UserGone,
}

/// What a profile write's transaction (`[profile write, user check, counts...]`) came to.
pub(super) fn written(cancelled: Option<db::Cancelled>) -> Result<Written, ApiError> {
    match cancelled {
        None => Ok(Written::Done),
        Some(c) if c.failed(1) => Ok(Written::UserGone),
        Some(c) if c.failed(0) => Ok(Written::Retry),
        Some(c) => Err(c.unexpected("profile write")),
    }
}

pub(super) fn user_check(
    state: &State,
    app_key: &str,
    user_id: &str,
    registered_at: Option<i64>,
) -> Result<TransactWriteItem, ApiError> {
    let mut check = ConditionCheck::builder()
        .table_name(&state.table)
        .set_key(Some(users::key(app_key, user_id)))
        .expression_attribute_names("#state", "state")
        .expression_attribute_values(":active", s("active"));
    check = match registered_at {
        Some(at) => check
            .condition_expression("#state = :active AND createdAt = :created")
            .expression_attribute_values(":created", n(at)),
        None => check.condition_expression("#state = :active"),
    };
    Ok(TransactWriteItem::builder()
        .condition_check(check.build()?)
        .build())
}

/// Creates the profile, counted in the tree, if the user is still active and registered at
/// `registered_at`.
pub(super) async fn create(
    state: &State,
    app_key: &str,
    profile: &Profile,
    registered_at: i64,
    now_ms: i64,
) -> Result<Written, ApiError> {
    let user_id = profile.user_id.as_str();
    // An empty part is not stored (`ProfileItem` leaves it out).
    let item = Stored::new_item(app_key, profile, registered_at, now_ms).item()?;
    let put = Put::builder()
        .table_name(&state.table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(PK)")
        .build()?;
    let mut items = vec![
        TransactWriteItem::builder().put(put).build(),
        user_check(state, app_key, user_id, Some(registered_at))?,
    ];
    items.extend(tree(app_key).updates(state, &[(registered_at, 1)])?);
    written(db::transact(state, items).await?)
}

/// Replaces both parts if the profile is still at `read_version` and the user still active.
pub(super) async fn update(
    state: &State,
    app_key: &str,
    profile: &Profile,
    read_version: i64,
    now_ms: i64,
) -> Result<Written, ApiError> {
    let user_id = profile.user_id.as_str();
    // An emptied part is removed, not stored as an empty map.
    let mut sets = vec!["version = :version", "updatedAt = :now"];
    let mut removes = vec![];
    let mut update = Update::builder();
    for ((name, part), (placeholder, set)) in profile.parts().into_iter().zip([
        (":profile", "userProfile = :profile"),
        (":ext", "userExtProfile = :ext"),
    ]) {
        if part.is_empty() {
            removes.push(name);
        } else {
            update = update
                .expression_attribute_values(placeholder, serde_dynamo::to_attribute_value(part)?);
            sets.push(set);
        }
    }
    let update = crate::items::stamp_request_id(update, &mut sets, &mut removes);
    let update = update
        .table_name(&state.table)
        .set_key(Some(profile_key(app_key, user_id)))
        .update_expression(crate::users::update_expression(&sets, &removes))
        .condition_expression("version = :read")
        .expression_attribute_values(":version", n(profile.version))
        .expression_attribute_values(":now", n(now_ms))
        .expression_attribute_values(":read", n(read_version))
        .build()?;
    let items = vec![
        TransactWriteItem::builder().update(update).build(),
        user_check(state, app_key, user_id, None)?,
    ];
    written(db::transact(state, items).await?)
}

/// Sets keys of an active user's hosted profile (creating it if needed): sent keys replace,
/// `null` (or `""` for a string key) removes, the rest stays; `version` grows with every write.
/// Unknown or soft-deleted users: 404/400, nothing written.
pub async fn set(
    state: &State,
    app: &App,
    user_id: &str,
    changes: &Changes,
    now_ms: i64,
) -> Result<(), ApiError> {
    changes.check_declared(app)?;
    let app_key = app.app_key.as_str();
    for attempt in 0..SET_ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(db::backoff(attempt)).await;
        }
        let items = db::get_all(
            state,
            vec![profile_key(app_key, user_id), users::key(app_key, user_id)],
        )
        .await?;
        let mut user = None;
        let mut stored = None;
        for item in &items {
            match db::text(item, table::SK) {
                Some(table::SK_USER) => {
                    let parsed: users::User = serde_dynamo::from_item(item.clone())?;
                    user = Some(parsed);
                }
                Some(table::SK_PROFILE) => stored = stored_from_item(item),
                _ => {}
            }
        }
        let user = match user {
            Some(user) if user.state == UserState::Active => user,
            _ => return Err(ApiError::UserNotFound(user_id.to_owned())),
        };
        let read_version = stored.as_ref().map(|s| s.profile.version);
        let mut profile = stored.map(|s| s.profile).unwrap_or_else(|| Profile {
            user_id: user_id.to_owned(),
            version: 0,
            user_profile: Map::new(),
            user_ext_profile: Map::new(),
        });
        changes.apply(&mut profile)?;
        profile.version = (profile.version + 1).max(now_ms);
        let outcome = match read_version {
            None => create(state, app_key, &profile, user.created_at, now_ms).await?,
            Some(read) => update(state, app_key, &profile, read, now_ms).await?,
        };
        match outcome {
            Written::Done => return Ok(()),
            Written::Retry => continue,
            Written::UserGone => return Err(ApiError::UserNotFound(user_id.to_owned())),
        }
    }
    Err(ApiError::Busy)
}

/// The hosted profiles of these users, in request order: users without one, unknown users and
/// soft-deleted users are left out. One `BatchGetItem` (profiles and users).
pub async fn batch_get(
    state: &State,
    app_key: &str,
    user_ids: &[String],
) -> Result<Vec<Profile>, ApiError> {
    let user_ids = validate::dedup(user_ids);
    let keys = user_ids
        .iter()
        .flat_map(|id| [profile_key(app_key, id), users::key(app_key, id)])
        .collect();
    let items = db::get_all(state, keys).await?;
    let mut profiles: HashMap<String, Profile> = HashMap::new();
    let mut active = std::collections::HashSet::new();
    for item in &items {
        match db::text(item, table::SK) {
            Some(table::SK_USER) => {
                if db::text(item, "state") == Some("active")
                    && let Some(id) = db::text(item, "userId")
                {
                    active.insert(id.to_owned());
                }
            }
            Some(table::SK_PROFILE) => {
                if let Some(stored) = stored_from_item(item) {
                    profiles.insert(stored.profile.user_id.clone(), stored.profile);
                }
            }
            _ => {}
        }
    }
    Ok(user_ids
        .iter()
        .filter(|id| active.contains(id.as_str()))
        .filter_map(|id| profiles.remove(id))
        .collect())
}

/// Deletes a stored profile and uncounts it, in one transaction. A profile already gone is
/// fine; one changed meanwhile is read again.
pub(super) async fn remove_stored(
    state: &State,
    app_key: &str,
    user_id: &str,
    mut registered_at: i64,
) -> Result<(), ApiError> {
    for attempt in 0..DELETE_ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(db::backoff(attempt)).await;
        }
        let delete = Delete::builder()
            .table_name(&state.table)
            .set_key(Some(profile_key(app_key, user_id)))
            .condition_expression("attribute_exists(PK) AND registeredAt = :registered")
            .expression_attribute_values(":registered", n(registered_at))
            .build()?;
        let mut items = vec![TransactWriteItem::builder().delete(delete).build()];
        items.extend(tree(app_key).updates(state, &[(registered_at, -1)])?);
        match db::transact(state, items).await? {
            None => return Ok(()),
            // Deleted meanwhile, or set again with another registration time: read again.
            Some(c) if c.failed(0) => match read(state, app_key, user_id).await? {
                None => return Ok(()),
                Some(stored) => registered_at = stored.registered_at,
            },
            Some(c) => return Err(c.unexpected("profile delete")),
        }
    }
    Err(ApiError::Busy)
}

pub(super) async fn read(
    state: &State,
    app_key: &str,
    user_id: &str,
) -> Result<Option<Stored>, ApiError> {
    let out = crate::db::get_item(state)
        .set_key(Some(profile_key(app_key, user_id)))
        .consistent_read(true)
        .send()
        .await?;
    Ok(out.item.as_ref().and_then(stored_from_item))
}

/// Clears these users' hosted profiles (both parts); users without one are skipped. One
/// `BatchGetItem`, then one transaction per profile, concurrently.
pub async fn delete(state: &State, app_key: &str, user_ids: &[String]) -> Result<(), ApiError> {
    let keys = validate::dedup(user_ids)
        .iter()
        .map(|id| profile_key(app_key, id))
        .collect();
    let stored: Vec<Stored> = db::get_all(state, keys)
        .await?
        .iter()
        .filter_map(stored_from_item)
        .collect();
    let removals = stored
        .iter()
        .map(|p| remove_stored(state, app_key, &p.profile.user_id, p.registered_at));
    futures::future::try_join_all(removals).await?;
    Ok(())
}

/// Removes one user's hosted profile and its place in the list; `false` if there was none.
/// Anything that deletes a `PROFILE` item (the purge of a soft-deleted user, the console's
/// removal of a test user) must call this instead of deleting the item itself, or the list's
/// count tree keeps counting it (pages read at an offset would then start one profile early).
pub async fn remove(state: &State, app_key: &str, user_id: &str) -> Result<bool, ApiError> {
    match read(state, app_key, user_id).await? {
        None => Ok(false),
        Some(stored) => {
            remove_stored(state, app_key, user_id, stored.registered_at).await?;
            Ok(true)
        }
    }
}
