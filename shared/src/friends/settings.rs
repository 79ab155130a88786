//! Friend permissions and one-sided friend profiles (alias, ext profile).

use super::*;

/// Sets the friend permission of each user (all must be active; 404/400 or 403/20101 for the
/// first that is not, and then nothing is written).
pub async fn set_permissions(
    state: &State,
    app: &App,
    user_ids: &[String],
    permission: u8,
) -> Result<(), ApiError> {
    let key = &app.app_key;
    let user_ids = crate::validate::dedup(user_ids);
    let inactive = if user_ids.len() <= users::USERS_PER_TRANSACTION {
        // One transaction: all written or none.
        users::Inactive::Refuse
    } else {
        // Several transactions: check everybody first, so a bad ID writes nothing; a user
        // soft-deleted in between is skipped (its data is being purged anyway).
        let fetched = Fetched::read(
            state,
            user_ids
                .iter()
                .map(|id| edges::key(key, id, table::SK_USER))
                .collect(),
        )
        .await?;
        for id in &user_ids {
            fetched.require_active(key, id)?;
        }
        users::Inactive::Skip
    };
    let write = |user_id: &str| {
        let item = crate::items::FriendPermission {
            app_key: key.to_owned(),
            user_id: user_id.to_owned(),
            permission_type: permission,
        }
        .item()?;
        edges::put(state, item)
    };
    users::write_for_active(state, key, &user_ids, inactive, write)
        .await
        .map(|_| ())
}

/// Each user's friend permission (the app's default when never set), in the order asked.
pub async fn permissions(
    state: &State,
    app: &App,
    user_ids: &[String],
) -> Result<Vec<(String, u8)>, ApiError> {
    let key = &app.app_key;
    let user_ids = crate::validate::dedup(user_ids);
    let keys = user_ids
        .iter()
        .flat_map(|id| {
            [
                edges::key(key, id, table::SK_USER),
                edges::key(key, id, table::SK_FRIEND_PERMISSION),
            ]
        })
        .collect();
    let fetched = Fetched::read(state, keys).await?;
    user_ids
        .iter()
        .map(|id| {
            fetched.require_readable(key, id)?;
            Ok((id.clone(), permission_of(&fetched, app, id)))
        })
        .collect()
}

/// Sets `user_id`'s one-sided profile of friend `target_id`: the alias (`None` removes it) and,
/// when given, the ext profile (replaced whole; empty removes it). Not friends: 404/20105.
pub async fn set_profile(
    state: &State,
    app: &App,
    user_id: &str,
    target_id: &str,
    alias: Option<&str>,
    ext_profile: Option<&HashMap<String, String>>,
) -> Result<(), ApiError> {
    let key = &app.app_key;
    let mut sets = Vec::new();
    let mut removes = Vec::new();
    let mut update = Update::builder()
        .table_name(&state.table)
        .set_key(Some(edges::key(key, user_id, &table::friend_sk(target_id))))
        .condition_expression("attribute_exists(PK)")
        .expression_attribute_names("#alias", ALIAS);
    match alias {
        Some(alias) if !alias.is_empty() => {
            sets.push("#alias = :alias");
            update = update.expression_attribute_values(":alias", s(alias));
        }
        _ => removes.push("#alias"),
    }
    if let Some(ext) = ext_profile {
        update = update.expression_attribute_names("#ext", EXT_PROFILE);
        if ext.is_empty() {
            removes.push("#ext");
        } else {
            sets.push("#ext = :ext");
            update = update.expression_attribute_values(":ext", crate::db::value(ext)?);
        }
    }
    let mut expression = Vec::new();
    if !sets.is_empty() {
        expression.push(format!("SET {}", sets.join(", ")));
    }
    if !removes.is_empty() {
        expression.push(format!("REMOVE {}", removes.join(", ")));
    }
    let update = update
        .update_expression(expression.join(" "))
        .build()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let items = vec![
        edges::user_check(state, key, user_id)?,
        edges::user_check(state, key, target_id)?,
        TransactWriteItem::builder().update(update).build(),
    ];
    match db::transact(state, items).await? {
        None => Ok(()),
        Some(c) if c.failed(0) => Err(c.inactive_user(0, user_id)),
        Some(c) if c.failed(1) => Err(c.inactive_user(1, target_id)),
        Some(_) => Err(ApiError::NotFriends(format!(
            "{target_id} is not a friend of {user_id}"
        ))),
    }
}
