//! Users: registration under the app's cap, reads, updates and token expiry.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
};
use serde::{Deserialize, Serialize};

use crate::apps::{App, FREE_USER_CAP};
use crate::batch;
use crate::db::{n, s};
use crate::error::ApiError;
use crate::state::State;
use crate::table;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum UserState {
    Active,
    SoftDeleted,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub user_id: String,
    /// Empty once a soft-deleted user's data is purged.
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub avatar_url: String,
    pub created_at: i64,
    /// Tokens issued before this instant (ms) are refused.
    #[serde(default)]
    pub tokens_valid_after: i64,
    /// When the user was last soft-deleted: tokens issued before stay dead after a restore.
    #[serde(default)]
    pub last_deleted_at: i64,
    pub state: UserState,
}

impl User {
    /// Tokens issued before this instant (ms) are refused.
    pub fn tokens_valid_from(&self) -> i64 {
        self.tokens_valid_after.max(self.last_deleted_at)
    }
}

#[derive(Serialize)]
struct UserItem<'a> {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: &'static str,
    /// The console's list of every user (`table::GSI2`).
    #[serde(rename = "GSI2PK")]
    listed_in: String,
    #[serde(rename = "GSI2SK")]
    listed_at: String,
    #[serde(flatten)]
    user: &'a User,
}

impl<'a> UserItem<'a> {
    fn of(app_key: &str, user: &'a User) -> Self {
        Self {
            pk: table::user_pk(app_key, &user.user_id),
            sk: table::SK_USER,
            listed_in: table::list_pk(app_key, table::LIST_USERS),
            listed_at: table::time_sort_key(user.created_at, &user.user_id),
            user,
        }
    }
}

/// Sets the avatar URL, or removes it for `""` (an empty string is not stored).
fn set_avatar(
    request: aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder,
    avatar: &str,
    sets: &mut Vec<&'static str>,
    removes: &mut Vec<&'static str>,
) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
    if avatar.is_empty() {
        removes.push("avatarUrl");
        request
    } else {
        sets.push("avatarUrl = :avatar");
        request.expression_attribute_values(":avatar", s(avatar))
    }
}

/// `SET a, b REMOVE c, d` (the `REMOVE` clause only when there is something to remove).
pub fn update_expression(sets: &[&str], removes: &[&str]) -> String {
    let mut expression = format!("SET {}", sets.join(", "));
    if !removes.is_empty() {
        expression.push_str(&format!(" REMOVE {}", removes.join(", ")));
    }
    expression
}

pub fn key(app_key: &str, user_id: &str) -> HashMap<String, AttributeValue> {
    item_key(app_key, user_id, table::SK_USER)
}

fn is_condition_failure<E: aws_sdk_dynamodb::error::ProvideErrorMetadata>(err: &E) -> bool {
    err.code() == Some("ConditionalCheckFailedException")
}

/// The state of the item a failed condition saw (`None`: no item).
pub(crate) fn old_state(item: Option<&HashMap<String, AttributeValue>>) -> Option<UserState> {
    let state = item?.get("state")?.as_s().ok()?;
    serde_json::from_value(serde_json::Value::String(state.clone())).ok()
}

enum Existing {
    Updated,
    Missing,
    SoftDeleted,
}

/// Overwrites name (and avatar, when given) of an active user in one conditional `UpdateItem`.
async fn update_existing(
    state: &State,
    app: &App,
    user_id: &str,
    name: &str,
    avatar_url: Option<&str>,
) -> Result<Existing, ApiError> {
    let mut sets = vec!["#name = :name"];
    let mut removes = vec![];
    let mut request = crate::db::update_item(state)
        .set_key(Some(key(&app.app_key, user_id)))
        .condition_expression("attribute_exists(PK) AND #state = :active")
        .expression_attribute_names("#name", "name")
        .expression_attribute_names("#state", "state")
        .expression_attribute_values(":name", s(name))
        .expression_attribute_values(":active", s("active"))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
    if let Some(avatar) = avatar_url {
        request = set_avatar(request, avatar, &mut sets, &mut removes);
    }
    match request
        .update_expression(update_expression(&sets, &removes))
        .send()
        .await
    {
        Ok(_) => Ok(Existing::Updated),
        Err(err) => match err.as_service_error() {
            Some(aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(e)) => {
                match old_state(e.item()) {
                    None => Ok(Existing::Missing),
                    Some(_) => Ok(Existing::SoftDeleted),
                }
            }
            _ => Err(err.into()),
        },
    }
}

enum Registration {
    Registered,
    AlreadyExists,
    CapReached,
}

/// Creates the user and counts it (under the app's cap, if it has one) in one transaction.
async fn register(
    state: &State,
    app: &App,
    user_id: &str,
    name: &str,
    avatar_url: Option<&str>,
    now_ms: i64,
) -> Result<Registration, ApiError> {
    let user = User {
        user_id: user_id.to_owned(),
        name: name.to_owned(),
        avatar_url: avatar_url.unwrap_or_default().to_owned(),
        created_at: now_ms,
        tokens_valid_after: 0,
        last_deleted_at: 0,
        state: UserState::Active,
    };
    let item = serde_dynamo::to_item(UserItem::of(&app.app_key, &user))?;
    let put_user = Put::builder()
        .table_name(&state.table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(PK)")
        .build()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let items = vec![
        TransactWriteItem::builder().put(put_user).build(),
        crate::user_count::count_registration(state, app)?,
    ];
    // Conflicts on a counter and throttling are retried inside (504/1050 after that).
    match crate::db::transact(state, items).await? {
        None => Ok(Registration::Registered),
        Some(cancelled) if cancelled.failed(0) => Ok(Registration::AlreadyExists),
        Some(cancelled) if cancelled.failed(1) => Ok(Registration::CapReached),
        Some(cancelled) => Err(cancelled.unexpected("registration")),
    }
}

/// Registers the user if new (taking a slot under the cap), else overwrites name and avatar.
/// An existing user costs one `UpdateItem`; a new one a failed `UpdateItem` and a transaction.
pub async fn upsert_for_token(
    state: &State,
    app: &App,
    user_id: &str,
    name: &str,
    avatar_url: Option<&str>,
    now_ms: i64,
) -> Result<(), ApiError> {
    // Each round: update the user if it exists, else register it. A registration that finds the
    // user registered meanwhile (a concurrent request) goes round again, to update it.
    for _ in 0..crate::db::ATTEMPTS {
        match update_existing(state, app, user_id, name, avatar_url).await? {
            Existing::Updated => return Ok(()),
            Existing::SoftDeleted => return Err(ApiError::UserSoftDeleted(user_id.to_owned())),
            Existing::Missing => {}
        }
        match register(state, app, user_id, name, avatar_url, now_ms).await? {
            Registration::Registered => return Ok(()),
            Registration::CapReached => return Err(ApiError::UserCapReached(FREE_USER_CAP)),
            Registration::AlreadyExists => {}
        }
    }
    Err(ApiError::Busy)
}

/// A user record, strongly consistent (read-after-write for the app's backend).
pub async fn get(state: &State, app_key: &str, user_id: &str) -> Result<Option<User>, ApiError> {
    let out = crate::db::get_item(state)
        .set_key(Some(key(app_key, user_id)))
        .consistent_read(true)
        .send()
        .await?;
    Ok(match out.item {
        Some(item) => Some(serde_dynamo::from_item(item)?),
        None => None,
    })
}

/// An active user, or 404/400 (a soft-deleted user no longer exists for the API).
pub async fn get_active(state: &State, app_key: &str, user_id: &str) -> Result<User, ApiError> {
    match get(state, app_key, user_id).await? {
        Some(user) if user.state == UserState::Active => Ok(user),
        _ => Err(ApiError::UserNotFound(user_id.to_owned())),
    }
}

/// Changes name and/or avatar of an active user in one conditional `UpdateItem`.
pub async fn update(
    state: &State,
    app_key: &str,
    user_id: &str,
    name: Option<&str>,
    avatar_url: Option<&str>,
    now_ms: i64,
) -> Result<(), ApiError> {
    let mut sets = vec!["updatedAt = :now"];
    let mut removes = vec![];
    let mut request = crate::db::update_item(state)
        .set_key(Some(key(app_key, user_id)))
        .condition_expression("attribute_exists(PK) AND #state = :active")
        .expression_attribute_names("#state", "state")
        .expression_attribute_values(":active", s("active"))
        .expression_attribute_values(":now", n(now_ms))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
    if let Some(name) = name {
        sets.push("#name = :name");
        request = request
            .expression_attribute_names("#name", "name")
            .expression_attribute_values(":name", s(name));
    }
    if let Some(avatar) = avatar_url {
        request = set_avatar(request, avatar, &mut sets, &mut removes);
    }
    match request
        .update_expression(update_expression(&sets, &removes))
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(err) => match err.as_service_error() {
            Some(aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(e)) => {
                match old_state(e.item()) {
                    Some(UserState::SoftDeleted) => Err(ApiError::UserSoftDeleted(user_id.to_owned())),
                    _ => Err(ApiError::UserNotFound(user_id.to_owned())),
                }
            }
            _ => Err(err.into()),
        },
    }
}

/// Makes every token of these users issued before `expires_at_ms` invalid. `tokensValidAfter`
/// only moves forward; unknown users are skipped (nothing is created for them). One
/// `UpdateItem` per user, sent concurrently.
pub async fn expire_tokens(
    state: &State,
    app_key: &str,
    user_ids: &[String],
    expires_at_ms: i64,
) -> Result<(), ApiError> {
    let updates = user_ids.iter().map(|user_id| async move {
        let result = crate::db::update_item(state)
            .set_key(Some(key(app_key, user_id)))
            .update_expression("SET tokensValidAfter = :t")
            .condition_expression(
                "attribute_exists(PK) AND (attribute_not_exists(tokensValidAfter) OR tokensValidAfter < :t)",
            )
            .expression_attribute_values(":t", n(expires_at_ms))
            .send()
            .await;
        match result {
            Err(err) if !err.as_service_error().is_some_and(is_condition_failure) => Err(ApiError::from(err)),
            _ => Ok(()),
        }
    });
    futures::future::try_join_all(updates).await.map(|_| ())
}

/// The key of any item in a user's partition (`sk`: `table::SK_BAN`, `"FRIEND#bob"`, ...).
pub fn item_key(app_key: &str, user_id: &str, sk: &str) -> HashMap<String, AttributeValue> {
    crate::db::key(table::user_pk(app_key, user_id), sk)
}

/// What [`write_for_active`] does with a user who is unknown or soft-deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inactive {
    /// Leave the user out and write the others (big batches: tags, mutes).
    Skip,
    /// Write nothing at all and answer 404/400 (unknown) or 403/20101 (soft-deleted) naming the
    /// first such user in request order. Only for batches of one transaction
    /// ([`USERS_PER_TRANSACTION`] users at most).
    Refuse,
}

/// Users per `TransactWriteItems`: each takes two of its 100 items (the check and the write).
pub const USERS_PER_TRANSACTION: usize = 50;

/// Writes one item per user, each paired in the same `TransactWriteItems` with a condition check
/// that the user's `USER` item exists and is active: nothing is ever written for an unknown user,
/// nor left behind for a soft-deleted one whose data is being purged (the soft delete changes the
/// `USER` item, which cancels a transaction in flight). Duplicates are removed; chunks of
/// [`USERS_PER_TRANSACTION`] users are sent concurrently. With [`Inactive::Skip`] a chunk
/// cancelled by failed checks is sent again without those users; the skipped users are returned
/// (request order). `write` builds the user's write (a `Put`, `Update` or `Delete` of another item
/// of the user's partition) and must carry no condition of its own. Transaction conflicts are
/// retried with backoff (504/1050 after 10 attempts). If one chunk fails, chunks already written
/// stay written (each write is idempotent, so the caller may simply retry).
pub async fn write_for_active<F>(
    state: &State,
    app_key: &str,
    user_ids: &[String],
    inactive: Inactive,
    write: F,
) -> Result<Vec<String>, ApiError>
where
    F: Fn(&str) -> Result<TransactWriteItem, ApiError>,
{
    let user_ids = crate::validate::dedup(user_ids);
    if inactive == Inactive::Refuse && user_ids.len() > USERS_PER_TRANSACTION {
        return Err(ApiError::Internal(format!(
            "Inactive::Refuse takes at most {USERS_PER_TRANSACTION} users"
        )));
    }
    let entries = user_ids
        .iter()
        .map(|user_id| {
            Ok(batch::Entry {
                actions: vec![
                    active_check(state, app_key, user_id, inactive)?,
                    write(user_id)?,
                ],
                counts: Vec::new(),
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let refused = batch::write(state, None, entries, inactive.mode()).await?;
    inactive_users(&user_ids, &refused, inactive)
}

impl Inactive {
    pub fn mode(self) -> batch::Mode {
        match self {
            Self::Skip => batch::Mode::EachEntry,
            Self::Refuse => batch::Mode::AllOrNothing,
        }
    }
}

/// The users of entries refused by their active check (action 0 of each entry): skipped, in
/// request order, or with [`Inactive::Refuse`] the error naming the first. A refused write (any
/// other action) is an error: the caller's writes carry no condition of their own.
pub(crate) fn inactive_users(
    user_ids: &[String],
    refused: &[batch::Refused],
    inactive: Inactive,
) -> Result<Vec<String>, ApiError> {
    if let Some(write) = refused.iter().find(|r| r.action != 0) {
        return Err(ApiError::Internal(format!(
            "the write for {} failed a condition",
            user_ids.get(write.entry).map_or("?", String::as_str)
        )));
    }
    let skipped: Vec<String> = refused
        .iter()
        .filter_map(|r| user_ids.get(r.entry).cloned())
        .collect();
    if inactive == Inactive::Refuse
        && let (Some(first), Some(user_id)) = (refused.first(), skipped.first())
    {
        return Err(match old_state(first.old.as_ref()) {
            Some(UserState::SoftDeleted) => ApiError::UserSoftDeleted(user_id.clone()),
            _ => ApiError::UserNotFound(user_id.clone()),
        });
    }
    Ok(skipped)
}

pub(crate) fn active_check(
    state: &State,
    app_key: &str,
    user_id: &str,
    inactive: Inactive,
) -> Result<TransactWriteItem, ApiError> {
    let mut check = aws_sdk_dynamodb::types::ConditionCheck::builder()
        .table_name(&state.table)
        .set_key(Some(key(app_key, user_id)))
        .condition_expression("#state = :active")
        .expression_attribute_names("#state", "state")
        .expression_attribute_values(":active", s("active"));
    if inactive == Inactive::Refuse {
        check = check
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
    }
    let check = check
        .build()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(TransactWriteItem::builder().condition_check(check).build())
}

/// One user as the console's list shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ListedUser {
    pub user_id: String,
    #[serde(default)]
    pub name: String,
    pub created_at: i64,
    pub state: UserState,
}

/// One page of an app's registered users, newest first, from `GSI2` (O(page) at any size; an
/// index, so a user registered a moment ago may appear a second later).
pub async fn page(
    state: &State,
    app_key: &str,
    page_size: usize,
    start: Option<crate::db::Item>,
) -> Result<(Vec<ListedUser>, Option<crate::db::Item>), ApiError> {
    let out = crate::db::query(state)
        .index_name(table::GSI2)
        .key_condition_expression("GSI2PK = :list")
        .expression_attribute_values(":list", s(table::list_pk(app_key, table::LIST_USERS)))
        .scan_index_forward(false)
        .limit(i32::try_from(page_size).unwrap_or(i32::MAX))
        .set_exclusive_start_key(start)
        .send()
        .await?;
    let users = out
        .items()
        .iter()
        .map(|item| serde_dynamo::from_item(item.clone()))
        .collect::<Result<Vec<ListedUser>, _>>()?;
    Ok((users, out.last_evaluated_key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_item_has_keys_and_camel_case_fields() {
        let user = User {
            user_id: "alice".into(),
            name: "Alice".into(),
            avatar_url: String::new(),
            created_at: 7,
            tokens_valid_after: 0,
            last_deleted_at: 0,
            state: UserState::SoftDeleted,
        };
        let item: HashMap<String, AttributeValue> =
            serde_dynamo::to_item(UserItem::of("app", &user)).unwrap();
        assert_eq!(item["SK"], s("USER"));
        assert_eq!(item["PK"], s("APP#app#U#alice"));
        assert_eq!(item["GSI2PK"], s("APP#app#USERS"));
        assert_eq!(item["GSI2SK"], s("0000000000007#alice"));
        assert_eq!(item["state"], s("soft-deleted"));
        assert_eq!(item["createdAt"], n(7));
        assert_eq!(old_state(Some(&item)), Some(UserState::SoftDeleted));
        assert_eq!(old_state(None), None);
    }

    #[test]
    fn refused_checks_name_the_inactive_users() {
        let ids: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let soft_deleted = HashMap::from([("state".to_owned(), s("soft-deleted"))]);
        let refused =
            |entry: usize, action: usize, old: Option<&HashMap<String, AttributeValue>>| {
                batch::Refused {
                    entry,
                    action,
                    old: old.cloned(),
                }
            };
        let both = [refused(1, 0, None), refused(2, 0, Some(&soft_deleted))];
        assert_eq!(
            inactive_users(&ids, &both, Inactive::Skip).unwrap(),
            vec!["b".to_owned(), "c".to_owned()]
        );
        // Refuse names the first in request order: unknown (404) or soft-deleted (20101).
        let err = inactive_users(&ids, &both, Inactive::Refuse).unwrap_err();
        assert!(
            matches!(err, ApiError::UserNotFound(ref id) if id == "b"),
            "{err:?}"
        );
        let err = inactive_users(&ids, &both[1..], Inactive::Refuse).unwrap_err();
        assert!(
            matches!(err, ApiError::UserSoftDeleted(ref id) if id == "c"),
            "{err:?}"
        );
        assert!(
            inactive_users(&ids, &[], Inactive::Refuse)
                .unwrap()
                .is_empty()
        );
        // A failed condition on a write is not an inactive user: writes carry none.
        assert!(matches!(
            inactive_users(&ids, &[refused(0, 1, None)], Inactive::Skip),
            Err(ApiError::Internal(_))
        ));
        assert_eq!(
            item_key("k", "bob", table::SK_BAN)["PK"],
            s(table::user_pk("k", "bob"))
        );
    }
}
