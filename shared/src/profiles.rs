//! Hosted user profiles: the standard `userProfile` keys and the app's `ext_` keys (`userExtProfile`),
//! merged on write under optimistic concurrency, read in batches, listed by registration time and
//! deleted.
//!
//! **Storage.** One item per user, `SK = PROFILE` in the user's partition, in the sparse `GSI1`
//! list `PROFILES` sorted by `time_sort_key(user.createdAt, userId)`. It holds both parts, a
//! `version` and `registeredAt` (the user's registration time, which places it in the list).
//!
//! **Writes lose nothing.** A set reads the profile and the user, merges, and writes in one
//! `TransactWriteItems`: the profile on the condition that its `version` is still the one read
//! (or that it does not exist yet) and a condition check that the `USER` item is active (and, on
//! creation, registered at the time the sort key was made from). A concurrent writer makes the
//! condition fail and the set starts over from a fresh read, so every key sent is either written
//! or the call fails; no write overwrites another one it did not see.
//!
//! **Pages without reading the pages before.** The list is page-numbered, so page N starts at
//! offset (N-1) x pageSize. A count tree over the registration time finds that offset in four
//! small reads, whatever N is: node items (`profile_counts_pk`, `SK = N#<digits>`) for the
//! prefixes of length 0, 4, 7 and 10 of the 13-digit registration time hold, in attributes
//! `c<next digits>`, how many profiles each child range holds (the last level counts single
//! milliseconds). Creating or deleting a profile updates the four counts in the same transaction
//! as the profile, so they are exact. Descending the tree yields the millisecond the offset falls
//! in and the position inside it; one `GSI1` query from there reads the page.
//!
//! **Walks stay exact while the list changes.** Offsets shift when a profile is added before
//! them, so reading page N+1 after page N could repeat or skip a profile. The server therefore
//! remembers, for 10 minutes, where each page it served ended (`profile_pages_pk`, per order,
//! page size and page number), and page N+1 continues strictly after that sort key: a walk
//! through the pages returns every profile that exists throughout it exactly once, in order,
//! whatever is added or deleted meanwhile. Without such a memory (page 1, a jump, or more than 10
//! minutes later) the page is read at its offset through the tree.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem, Update,
};
use serde::Serialize;
use serde_json::{Map, Number, Value};

use crate::apps::App;
use crate::error::ApiError;
use crate::state::State;
use crate::table;
use crate::users::{self, UserState};
use crate::validate;

/// Pairs a stored `userExtProfile` may hold (after merging).
pub const MAX_EXT_PAIRS: usize = 20;
/// Characters of an ext value.
pub const EXT_VALUE_MAX_CHARS: usize = 256;
/// Users per batch get and per delete.
pub const MAX_USERS: usize = 20;
/// List page size: default and maximum.
pub const DEFAULT_PAGE_SIZE: u32 = 20;
pub const MAX_PAGE_SIZE: u32 = 100;
/// How long the end of a served page is remembered for the next page of the walk.
pub const PAGE_MEMORY_SECONDS: i64 = 600;

/// Write attempts of a set (each a fresh read) before 504/1050.
const SET_ATTEMPTS: u32 = 40;
/// Attempts of a delete's transaction before 504/1050.
const DELETE_ATTEMPTS: u32 = 10;

type Item = HashMap<String, AttributeValue>;

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn internal(err: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(err.to_string())
}

// ---- validation ----------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
enum Kind {
    /// A string of at most this many characters.
    Text(usize),
    /// A string of at most 128 characters that looks like an email address.
    Email,
    /// An integer in this range.
    Int(i64, i64),
}

const EMAIL_MAX_CHARS: usize = 128;

/// The standard `userProfile` keys; any other key is refused.
const STANDARD_KEYS: &[(&str, Kind)] = &[
    ("uniqueId", Kind::Text(32)),
    ("name", Kind::Text(64)),
    ("portraitUri", Kind::Text(1024)),
    ("email", Kind::Email),
    ("birthday", Kind::Text(32)),
    ("gender", Kind::Int(0, 2)),
    ("location", Kind::Text(32)),
    ("role", Kind::Int(0, 100)),
    ("level", Kind::Int(0, 100)),
];

/// The error of a rejected key: the body names it in `profileKey`.
fn rejected(key: &str, error: ApiError) -> ApiError {
    ApiError::ProfileKey {
        key: key.to_owned(),
        error: Box::new(error),
    }
}

/// Whether a sent value removes its key: `null`, or `""` for a string key.
fn removes(kind: Option<Kind>, value: &Value) -> bool {
    match kind {
        Some(Kind::Int(..)) => value.is_null(),
        _ => value.is_null() || value.as_str() == Some(""),
    }
}

/// Something of the form `local@domain.tld`: one `@`, a non-empty local part, a domain of
/// non-empty dot-separated labels (at least two), no whitespace or control characters.
pub fn looks_like_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && domain.split('.').all(|label| !label.is_empty())
        && !value.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn check_standard(field: &str, kind: Kind, value: &Value) -> Result<(), ApiError> {
    match kind {
        Kind::Text(max) => {
            let text = value
                .as_str()
                .ok_or_else(|| ApiError::invalid(field, "must be a string"))?;
            validate::max_chars(field, text, max)
        }
        Kind::Email => {
            let text = value
                .as_str()
                .ok_or_else(|| ApiError::invalid(field, "must be a string"))?;
            validate::max_chars(field, text, EMAIL_MAX_CHARS)?;
            if !looks_like_email(text) {
                return Err(ApiError::invalid(field, "must be an email address"));
            }
            Ok(())
        }
        Kind::Int(min, max) => match value.as_i64() {
            Some(v) if (min..=max).contains(&v) => Ok(()),
            _ if min == 0 && max == 2 => Err(ApiError::invalid(field, "must be 0, 1 or 2")),
            _ => Err(ApiError::invalid(
                field,
                format!("must be an integer from {min} to {max}"),
            )),
        },
    }
}

/// What a set changes: for each part, the keys sent (a removing value removes the key).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changes {
    pub user_profile: Map<String, Value>,
    pub user_ext_profile: Map<String, Value>,
}

impl Changes {
    /// Shape and limits of every key and value, before any lookup. A rejected key is named in
    /// the error's `profileKey`.
    pub fn validate(&self) -> Result<(), ApiError> {
        if self.user_profile.is_empty() && self.user_ext_profile.is_empty() {
            return Err(ApiError::invalid(
                "userProfile",
                "userProfile or userExtProfile must set or remove at least one key",
            ));
        }
        for (key, value) in &self.user_profile {
            let field = format!("userProfile.{key}");
            let Some(&(_, kind)) = STANDARD_KEYS.iter().find(|(k, _)| k == key) else {
                return Err(rejected(
                    key,
                    ApiError::invalid(
                        &field,
                        "is not a userProfile key (uniqueId, name, portraitUri, email, birthday, \
                         gender, location, role, level)",
                    ),
                ));
            };
            if !removes(Some(kind), value) {
                check_standard(&field, kind, value).map_err(|e| rejected(key, e))?;
            }
        }
        let mut kept = 0;
        for (key, value) in &self.user_ext_profile {
            validate::ext_key("userExtProfile", key).map_err(|e| rejected(key, e))?;
            if removes(None, value) {
                continue;
            }
            let field = format!("userExtProfile.{key}");
            let text = value
                .as_str()
                .ok_or_else(|| rejected(key, ApiError::invalid(&field, "must be a string")))?;
            validate::max_chars(&field, text, EXT_VALUE_MAX_CHARS).map_err(|e| rejected(key, e))?;
            kept += 1;
            if kept > MAX_EXT_PAIRS {
                return Err(rejected(key, too_many_pairs()));
            }
        }
        Ok(())
    }

    /// The app's declared ext keys, if it declares any: an undeclared key cannot be set (it can
    /// be removed).
    pub fn check_declared(&self, app: &App) -> Result<(), ApiError> {
        let Some(declared) = app
            .settings
            .declared_ext_profile_keys
            .as_ref()
            .filter(|keys| !keys.is_empty())
        else {
            return Ok(());
        };
        for (key, value) in &self.user_ext_profile {
            if !removes(None, value) && !declared.iter().any(|d| d == key) {
                return Err(rejected(
                    key,
                    ApiError::invalid(
                        "userExtProfile",
                        format!("key {key:?} is not one of the app's declared ext keys"),
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Merges into `profile`: sent keys replace, removing values remove, the rest stays. Fails
    /// (naming the first new key over the limit) when the merged ext part would hold more than
    /// [`MAX_EXT_PAIRS`] pairs.
    fn apply(&self, profile: &mut Profile) -> Result<(), ApiError> {
        for (key, value) in &self.user_profile {
            let kind = STANDARD_KEYS
                .iter()
                .find(|(k, _)| k == key)
                .map(|&(_, k)| k);
            if removes(kind, value) {
                profile.user_profile.remove(key);
            } else {
                profile.user_profile.insert(key.clone(), value.clone());
            }
        }
        // Removals first: the whole request applies at once.
        for (key, value) in &self.user_ext_profile {
            if removes(None, value) {
                profile.user_ext_profile.remove(key);
            }
        }
        for (key, value) in &self.user_ext_profile {
            if removes(None, value) {
                continue;
            }
            let new = profile
                .user_ext_profile
                .insert(key.clone(), value.clone())
                .is_none();
            if new && profile.user_ext_profile.len() > MAX_EXT_PAIRS {
                return Err(rejected(key, too_many_pairs()));
            }
        }
        Ok(())
    }
}

fn too_many_pairs() -> ApiError {
    ApiError::too_long("userExtProfile", format!("{MAX_EXT_PAIRS} pairs"))
}

// ---- items ---------------------------------------------------------------------------------

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
    fn parts(&self) -> [(&'static str, &Map<String, Value>); 2] {
        [
            ("userProfile", &self.user_profile),
            ("userExtProfile", &self.user_ext_profile),
        ]
    }
}

/// A stored profile item.
#[derive(Debug, Clone)]
struct Stored {
    profile: Profile,
    registered_at: i64,
    sort_key: String,
}

fn value_attribute(value: &Value) -> Option<AttributeValue> {
    match value {
        Value::String(text) => Some(s(text.clone())),
        Value::Number(number) => Some(n(number)),
        _ => None,
    }
}

fn attribute_value(attribute: &AttributeValue) -> Option<Value> {
    match attribute {
        AttributeValue::S(text) => Some(Value::String(text.clone())),
        AttributeValue::N(text) => text.parse::<i64>().ok().map(Value::from).or_else(|| {
            text.parse::<f64>()
                .ok()
                .and_then(Number::from_f64)
                .map(Value::Number)
        }),
        _ => None,
    }
}

fn map_attribute(map: &Map<String, Value>) -> AttributeValue {
    AttributeValue::M(
        map.iter()
            .filter_map(|(k, v)| Some((k.clone(), value_attribute(v)?)))
            .collect(),
    )
}

fn attribute_map(attribute: Option<&AttributeValue>) -> Map<String, Value> {
    match attribute {
        Some(AttributeValue::M(map)) => map
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), attribute_value(v)?)))
            .collect(),
        _ => Map::new(),
    }
}

fn number(item: &Item, name: &str) -> Option<i64> {
    item.get(name)?.as_n().ok()?.parse().ok()
}

fn string<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)?.as_s().ok().map(String::as_str)
}

fn stored_from_item(item: &Item) -> Option<Stored> {
    if string(item, table::SK)? != table::SK_PROFILE {
        return None;
    }
    Some(Stored {
        profile: Profile {
            user_id: string(item, "userId")?.to_owned(),
            version: number(item, "version")?,
            user_profile: attribute_map(item.get("userProfile")),
            user_ext_profile: attribute_map(item.get("userExtProfile")),
        },
        registered_at: number(item, "registeredAt")?,
        sort_key: string(item, table::GSI1SK)?.to_owned(),
    })
}

fn profile_key(app_key: &str, user_id: &str) -> Item {
    users::item_key(app_key, user_id, table::SK_PROFILE)
}

// ---- the count tree ------------------------------------------------------------------------

/// Digits of a registration time (ms) in the tree, as in `time_sort_key`.
const TIME_DIGITS: usize = 13;
/// Prefix length of each level's nodes; a node's children extend its prefix to the next length
/// (the last level's children are single milliseconds). Each node has at most 1,000 children.
const TREE: [usize; 4] = [0, 4, 7, 10];

fn time_digits(ms: i64) -> String {
    format!("{:013}", ms.clamp(0, 9_999_999_999_999))
}

fn node_sk(prefix: &str) -> String {
    format!("N#{prefix}")
}

/// The `[prefix, next level)` digit slices of each level for a registration time.
fn tree_path(registered_at: i64) -> Vec<(String, String)> {
    let digits = time_digits(registered_at);
    TREE.iter()
        .enumerate()
        .map(|(level, &len)| {
            let end = TREE.get(level + 1).copied().unwrap_or(TIME_DIGITS);
            (digits[..len].to_owned(), digits[len..end].to_owned())
        })
        .collect()
}

/// The count updates (one per level) that add `delta` profiles at `registered_at`.
fn count_updates(
    state: &State,
    app_key: &str,
    registered_at: i64,
    delta: i64,
) -> Result<Vec<TransactWriteItem>, ApiError> {
    tree_path(registered_at)
        .into_iter()
        .map(|(prefix, child)| {
            let update = Update::builder()
                .table_name(&state.table)
                .key(table::PK, s(table::profile_counts_pk(app_key)))
                .key(table::SK, s(node_sk(&prefix)))
                .update_expression("ADD #child :delta")
                .expression_attribute_names("#child", format!("c{child}"))
                .expression_attribute_values(":delta", n(delta))
                .build()
                .map_err(internal)?;
            Ok(TransactWriteItem::builder().update(update).build())
        })
        .collect()
}

/// A node's children with a positive count, ascending: `(digits, count)`.
async fn read_node(
    state: &State,
    app_key: &str,
    prefix: &str,
    stats: &mut Stats,
) -> Result<Vec<(String, u64)>, ApiError> {
    let child_len = TREE
        .iter()
        .position(|&len| len == prefix.len())
        .map(|level| TREE.get(level + 1).copied().unwrap_or(TIME_DIGITS) - prefix.len())
        .ok_or_else(|| internal(format!("no tree level has prefixes of {}", prefix.len())))?;
    let out = state
        .db
        .get_item()
        .table_name(&state.table)
        .key(table::PK, s(table::profile_counts_pk(app_key)))
        .key(table::SK, s(node_sk(prefix)))
        .consistent_read(true)
        .send()
        .await?;
    stats.requests += 1;
    let Some(item) = out.item else {
        return Ok(Vec::new());
    };
    stats.items_read += 1;
    Ok(children(&item, child_len))
}

fn children(item: &Item, child_len: usize) -> Vec<(String, u64)> {
    let mut children: Vec<(String, u64)> = item
        .iter()
        .filter_map(|(name, value)| {
            let digits = name.strip_prefix('c')?;
            if digits.len() != child_len || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let count: i64 = value.as_n().ok()?.parse().ok()?;
            (count > 0).then(|| (digits.to_owned(), count as u64))
        })
        .collect();
    children.sort();
    children
}

/// Registration-time bounds (ms) of a digit prefix: `[lower, upper)`.
fn prefix_range(prefix: &str) -> (u64, u64) {
    let scale = 10u64.pow((TIME_DIGITS - prefix.len().min(TIME_DIGITS)) as u32);
    let value: u64 = if prefix.is_empty() {
        0
    } else {
        prefix.parse().unwrap_or(0)
    };
    (value * scale, (value + 1) * scale)
}

/// The sort key at which registration time `ms` begins.
fn time_start(ms: u64) -> String {
    format!("{ms:013}#")
}

/// Where a page's query starts.
#[derive(Debug, Clone, PartialEq)]
enum Start {
    /// The head of the list in its order.
    Head,
    /// `GSI1SK <op> key`.
    Bound(&'static str, String),
}

/// Finds where offset `offset` of the list in the given order lies: the start of the millisecond
/// it falls in and how many profiles of that millisecond come before it. `None`: past the end.
/// Counts read at slightly different instants may disagree when profiles are written meanwhile;
/// then the page starts at the next range boundary.
async fn locate(
    state: &State,
    app_key: &str,
    root: Vec<(String, u64)>,
    mut offset: u64,
    descending: bool,
    stats: &mut Stats,
) -> Result<Option<(Start, u64)>, ApiError> {
    let mut prefix = String::new();
    let mut children = root;
    for level in 0..TREE.len() {
        if level > 0 {
            children = read_node(state, app_key, &prefix, stats).await?;
        }
        if descending {
            children.reverse();
        }
        let mut chosen = None;
        for (digits, count) in children.drain(..) {
            if offset < count {
                chosen = Some(digits);
                break;
            }
            offset -= count;
        }
        let Some(digits) = chosen else {
            if level == 0 {
                return Ok(None);
            }
            // The parent counted more than its children hold now: continue after this range.
            let (lower, upper) = prefix_range(&prefix);
            let start = if descending {
                Start::Bound("<", time_start(lower))
            } else {
                Start::Bound(">=", time_start(upper))
            };
            return Ok(Some((start, 0)));
        };
        prefix.push_str(&digits);
    }
    let (lower, upper) = prefix_range(&prefix);
    let start = if descending {
        Start::Bound("<", time_start(upper))
    } else {
        Start::Bound(">=", time_start(lower))
    };
    Ok(Some((start, offset)))
}

// ---- reads and writes ----------------------------------------------------------------------

/// Requests sent and items read by one list call (for budgets and benchmarks).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub requests: usize,
    pub items_read: usize,
}

/// The reason codes of a cancelled transaction, one per item (a conflict reported for the whole
/// request reads as `["TransactionConflict"]`), or the error when it is anything else.
fn cancellation_codes<R: std::fmt::Debug>(
    err: SdkError<TransactWriteItemsError, R>,
) -> Result<Vec<String>, ApiError> {
    match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(e)) => Ok(e
            .cancellation_reasons()
            .iter()
            .map(|r| r.code().unwrap_or("None").to_owned())
            .collect()),
        Some(e)
            if aws_sdk_dynamodb::error::ProvideErrorMetadata::code(e)
                == Some("TransactionConflictException") =>
        {
            Ok(vec!["TransactionConflict".to_owned()])
        }
        _ => Err(err.into()),
    }
}

enum Written {
    Done,
    /// Someone else wrote the profile (or held an item) meanwhile: read again.
    Retry,
    /// The user is no longer active (or was registered again).
    UserGone,
}

fn written(result: Result<(), Vec<String>>) -> Result<Written, ApiError> {
    let Err(codes) = result else {
        return Ok(Written::Done);
    };
    // Layout: [profile write, user check, counts...].
    let code = |i: usize| codes.get(i).map(String::as_str);
    if code(1) == Some("ConditionalCheckFailed") {
        Ok(Written::UserGone)
    } else if code(0) == Some("ConditionalCheckFailed")
        || codes.iter().any(|c| c == "TransactionConflict")
    {
        Ok(Written::Retry)
    } else {
        Err(internal(format!(
            "profile write cancelled: {}",
            codes.join(",")
        )))
    }
}

async fn transact(
    state: &State,
    items: Vec<TransactWriteItem>,
) -> Result<Result<(), Vec<String>>, ApiError> {
    match state
        .db
        .transact_write_items()
        .set_transact_items(Some(items))
        .send()
        .await
    {
        Ok(_) => Ok(Ok(())),
        Err(err) => cancellation_codes(err).map(Err),
    }
}

fn user_check(
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
        .condition_check(check.build().map_err(internal)?)
        .build())
}

/// Creates the profile, counted in the tree, if the user is still active and registered at
/// `registered_at`.
async fn create(
    state: &State,
    app_key: &str,
    profile: &Profile,
    registered_at: i64,
    now_ms: i64,
) -> Result<Written, ApiError> {
    let user_id = profile.user_id.as_str();
    let mut item = HashMap::from([
        (table::PK.to_owned(), s(table::user_pk(app_key, user_id))),
        (table::SK.to_owned(), s(table::SK_PROFILE)),
        ("userId".to_owned(), s(user_id)),
        ("version".to_owned(), n(profile.version)),
        ("registeredAt".to_owned(), n(registered_at)),
        ("updatedAt".to_owned(), n(now_ms)),
        (
            table::GSI1PK.to_owned(),
            s(table::list_pk(app_key, table::LIST_PROFILES)),
        ),
        (
            table::GSI1SK.to_owned(),
            s(table::time_sort_key(registered_at, user_id)),
        ),
    ]);
    // An empty part is not stored (an empty map is noise in every stream record and read).
    for (name, part) in profile.parts() {
        if !part.is_empty() {
            item.insert(name.to_owned(), map_attribute(part));
        }
    }
    let put = Put::builder()
        .table_name(&state.table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(PK)")
        .build()
        .map_err(internal)?;
    let mut items = vec![
        TransactWriteItem::builder().put(put).build(),
        user_check(state, app_key, user_id, Some(registered_at))?,
    ];
    items.extend(count_updates(state, app_key, registered_at, 1)?);
    written(transact(state, items).await?)
}

/// Replaces both parts if the profile is still at `read_version` and the user still active.
async fn update(
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
            update = update.expression_attribute_values(placeholder, map_attribute(part));
            sets.push(set);
        }
    }
    let update = update
        .table_name(&state.table)
        .set_key(Some(profile_key(app_key, user_id)))
        .update_expression(crate::users::update_expression(&sets, &removes))
        .condition_expression("version = :read")
        .expression_attribute_values(":version", n(profile.version))
        .expression_attribute_values(":now", n(now_ms))
        .expression_attribute_values(":read", n(read_version))
        .build()
        .map_err(internal)?;
    let items = vec![
        TransactWriteItem::builder().update(update).build(),
        user_check(state, app_key, user_id, None)?,
    ];
    written(transact(state, items).await?)
}

/// Sets keys of an active user's hosted profile (creating it if needed): sent keys replace,
/// `null` (or `""` for a string key) removes, the rest stays; `version` grows with every write.
/// Unknown or soft-deleted users: 404/400, nothing written.
pub async fn set(
    state: &State,
    app: &App,
    user_id: &str,
    changes: &Changes,
) -> Result<(), ApiError> {
    changes.check_declared(app)?;
    let app_key = app.app_key.as_str();
    for attempt in 0..SET_ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(users::backoff(attempt)).await;
        }
        let items = users::get_items(
            state,
            vec![profile_key(app_key, user_id), users::key(app_key, user_id)],
        )
        .await?;
        let mut user = None;
        let mut stored = None;
        for item in &items {
            match string(item, table::SK) {
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
        let now_ms = state.clock.now_ms();
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
    let items = users::get_items(state, keys).await?;
    let mut profiles: HashMap<String, Profile> = HashMap::new();
    let mut active = std::collections::HashSet::new();
    for item in &items {
        match string(item, table::SK) {
            Some(table::SK_USER) => {
                if string(item, "state") == Some("active")
                    && let Some(id) = string(item, "userId")
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
async fn remove_stored(
    state: &State,
    app_key: &str,
    user_id: &str,
    mut registered_at: i64,
) -> Result<(), ApiError> {
    for attempt in 0..DELETE_ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(users::backoff(attempt)).await;
        }
        let delete = Delete::builder()
            .table_name(&state.table)
            .set_key(Some(profile_key(app_key, user_id)))
            .condition_expression("attribute_exists(PK) AND registeredAt = :registered")
            .expression_attribute_values(":registered", n(registered_at))
            .build()
            .map_err(internal)?;
        let mut items = vec![TransactWriteItem::builder().delete(delete).build()];
        items.extend(count_updates(state, app_key, registered_at, -1)?);
        let Err(codes) = transact(state, items).await? else {
            return Ok(());
        };
        if codes.first().map(String::as_str) == Some("ConditionalCheckFailed") {
            match read(state, app_key, user_id).await? {
                None => return Ok(()),
                Some(stored) => registered_at = stored.registered_at,
            }
        } else if !codes.iter().any(|c| c == "TransactionConflict") {
            return Err(internal(format!(
                "profile delete cancelled: {}",
                codes.join(",")
            )));
        }
    }
    Err(ApiError::Busy)
}

async fn read(state: &State, app_key: &str, user_id: &str) -> Result<Option<Stored>, ApiError> {
    let out = state
        .db
        .get_item()
        .table_name(&state.table)
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
    let stored: Vec<Stored> = users::get_items(state, keys)
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

// ---- the list ------------------------------------------------------------------------------

/// List order by registration time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Ascending,
    Descending,
}

impl Order {
    fn name(self) -> &'static str {
        match self {
            Self::Ascending => "asc",
            Self::Descending => "desc",
        }
    }
}

fn memory_key(app_key: &str, order: Order, page_size: u32, page: u64) -> Item {
    HashMap::from([
        (table::PK.to_owned(), s(table::profile_pages_pk(app_key))),
        (
            table::SK.to_owned(),
            s(format!("{}#{page_size}#{page}", order.name())),
        ),
    ])
}

/// The sort key the previous page of a walk ended at, if remembered and not expired.
async fn remembered(
    state: &State,
    app_key: &str,
    order: Order,
    page_size: u32,
    page: u64,
    now_ms: i64,
    stats: &mut Stats,
) -> Result<Option<String>, ApiError> {
    let out = state
        .db
        .get_item()
        .table_name(&state.table)
        .set_key(Some(memory_key(app_key, order, page_size, page)))
        .consistent_read(true)
        .send()
        .await?;
    stats.requests += 1;
    let Some(item) = out.item else {
        return Ok(None);
    };
    stats.items_read += 1;
    let fresh = number(&item, table::TTL).is_some_and(|ttl| ttl > now_ms / 1000);
    Ok(fresh
        .then(|| string(&item, "after").map(str::to_owned))
        .flatten())
}

async fn remember(
    state: &State,
    app_key: &str,
    order: Order,
    page_size: u32,
    page: u64,
    after: &str,
    now_ms: i64,
) -> Result<(), ApiError> {
    let mut item = memory_key(app_key, order, page_size, page);
    item.insert("after".to_owned(), s(after));
    item.insert(
        table::TTL.to_owned(),
        n(now_ms / 1000 + PAGE_MEMORY_SECONDS),
    );
    state
        .db
        .put_item()
        .table_name(&state.table)
        .set_item(Some(item))
        .send()
        .await?;
    Ok(())
}

/// Reads `take` profiles of the list after skipping `skip`, from `start` in `order`.
async fn query_page(
    state: &State,
    app_key: &str,
    start: Start,
    order: Order,
    skip: u64,
    take: usize,
    stats: &mut Stats,
) -> Result<Vec<Stored>, ApiError> {
    let wanted = skip.saturating_add(take as u64);
    let mut found: Vec<Item> = Vec::new();
    let mut exclusive_start = None;
    loop {
        let missing = wanted.saturating_sub(found.len() as u64);
        let mut query = state
            .db
            .query()
            .table_name(&state.table)
            .index_name(table::GSI1)
            .scan_index_forward(order == Order::Ascending)
            .limit(i32::try_from(missing).unwrap_or(i32::MAX))
            .expression_attribute_values(":list", s(table::list_pk(app_key, table::LIST_PROFILES)))
            .set_exclusive_start_key(exclusive_start);
        query = match &start {
            Start::Head => query.key_condition_expression("GSI1PK = :list"),
            Start::Bound(op, key) => query
                .key_condition_expression(format!("GSI1PK = :list AND GSI1SK {op} :key"))
                .expression_attribute_values(":key", s(key.clone())),
        };
        let out = query.send().await?;
        stats.requests += 1;
        let items = out.items.unwrap_or_default();
        stats.items_read += items.len();
        found.extend(items);
        exclusive_start = out.last_evaluated_key;
        if found.len() as u64 >= wanted || exclusive_start.is_none() {
            break;
        }
    }
    Ok(found
        .iter()
        .skip(usize::try_from(skip).unwrap_or(usize::MAX))
        .take(take)
        .filter_map(stored_from_item)
        .collect())
}

/// Page `page` (from 1) of the users with a hosted profile, by registration time. The number
/// of items read does not depend on `page`: at most 4 count-tree nodes, one remembered page
/// boundary, the profiles of the millisecond the page starts in that come before it, and the
/// page itself.
pub async fn list(
    state: &State,
    app_key: &str,
    page: u32,
    page_size: u32,
    order: Order,
) -> Result<(Vec<Profile>, Stats), ApiError> {
    let now_ms = state.clock.now_ms();
    let mut stats = Stats::default();
    let page = u64::from(page.max(1));
    let page_size = page_size.clamp(1, MAX_PAGE_SIZE);
    let take = page_size as usize;
    let descending = order == Order::Descending;
    let items = if page == 1 {
        query_page(state, app_key, Start::Head, order, 0, take, &mut stats).await?
    } else {
        let mut memory_stats = Stats::default();
        let mut root_stats = Stats::default();
        let (after, root) = tokio::join!(
            remembered(
                state,
                app_key,
                order,
                page_size,
                page,
                now_ms,
                &mut memory_stats
            ),
            read_node(state, app_key, "", &mut root_stats),
        );
        stats.requests += memory_stats.requests + root_stats.requests;
        stats.items_read += memory_stats.items_read + root_stats.items_read;
        match after? {
            Some(after) => {
                let op = if descending { "<" } else { ">" };
                let start = Start::Bound(op, after);
                query_page(state, app_key, start, order, 0, take, &mut stats).await?
            }
            None => {
                let offset = (page - 1) * u64::from(page_size);
                match locate(state, app_key, root?, offset, descending, &mut stats).await? {
                    None => Vec::new(),
                    Some((start, skip)) => {
                        query_page(state, app_key, start, order, skip, take, &mut stats).await?
                    }
                }
            }
        }
    };
    if let Some(last) = items.last() {
        remember(
            state,
            app_key,
            order,
            page_size,
            page + 1,
            &last.sort_key,
            now_ms,
        )
        .await?;
        stats.requests += 1;
    }
    Ok((items.into_iter().map(|s| s.profile).collect(), stats))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn changes(profile: Value, ext: Value) -> Changes {
        Changes {
            user_profile: profile.as_object().cloned().unwrap_or_default(),
            user_ext_profile: ext.as_object().cloned().unwrap_or_default(),
        }
    }

    /// `(status, code, profileKey)` of a refused change set.
    fn refusal(c: &Changes) -> (u16, i64, String) {
        let err = c.validate().unwrap_err();
        let key = err.body()["profileKey"].as_str().unwrap_or("").to_owned();
        (err.status(), err.code(), key)
    }

    #[test]
    fn every_standard_key_has_its_rule() {
        let ok = changes(
            json!({"uniqueId": "u".repeat(32), "name": "名".repeat(64), "portraitUri": "p".repeat(1024),
                   "email": "a.b@example.co.uk", "birthday": "b".repeat(32), "gender": 2,
                   "location": "l".repeat(32), "role": 100, "level": 0}),
            json!({}),
        );
        assert!(ok.validate().is_ok());
        let cases = [
            (json!({"uniqueId": "u".repeat(33)}), 1005, "uniqueId"),
            (json!({"uniqueId": 5}), 1002, "uniqueId"),
            (json!({"name": "n".repeat(65)}), 1005, "name"),
            (
                json!({"portraitUri": "p".repeat(1025)}),
                1005,
                "portraitUri",
            ),
            (
                json!({"email": format!("{}@example.com", "a".repeat(117))}),
                1005,
                "email",
            ),
            (json!({"email": "not-an-email"}), 1002, "email"),
            (json!({"email": "a@b"}), 1002, "email"),
            (json!({"email": "a b@example.com"}), 1002, "email"),
            (json!({"email": "a@@example.com"}), 1002, "email"),
            (json!({"birthday": "b".repeat(33)}), 1005, "birthday"),
            (json!({"gender": 3}), 1002, "gender"),
            (json!({"gender": "1"}), 1002, "gender"),
            (json!({"gender": 1.5}), 1002, "gender"),
            (json!({"location": "l".repeat(33)}), 1005, "location"),
            (json!({"role": 101}), 1002, "role"),
            (json!({"role": -1}), 1002, "role"),
            (json!({"level": 101}), 1002, "level"),
            (json!({"level": ""}), 1002, "level"),
            (json!({"nickname": "x"}), 1002, "nickname"),
        ];
        for (profile, code, key) in cases {
            let c = changes(profile.clone(), json!({}));
            assert_eq!(refusal(&c), (400, code, key.to_owned()), "{profile}");
        }
        assert_eq!(
            changes(
                json!({"email": format!("{}@example.com", "a".repeat(116))}),
                json!({})
            )
            .validate()
            .map_err(|e| e.to_string()),
            Ok(())
        );
    }

    #[test]
    fn ext_keys_values_and_pair_limit() {
        let cases = [
            (json!({"color": "x"}), 1002, "color"),
            (json!({"ext_": "x"}), 1002, "ext_"),
            (json!({"ext_a-b": "x"}), 1002, "ext_a-b"),
            (
                json!({format!("ext_{}", "a".repeat(29)): "x"}),
                1005,
                "ext_aaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            ),
            (json!({"ext_a": 5}), 1002, "ext_a"),
            (json!({"ext_a": "v".repeat(257)}), 1005, "ext_a"),
        ];
        for (ext, code, key) in cases {
            let c = changes(json!({}), ext.clone());
            assert_eq!(refusal(&c), (400, code, key.to_owned()), "{ext}");
        }
        let pairs = |n: usize| {
            let map: Map<String, Value> = (0..n)
                .map(|i| (format!("ext_k{i:02}"), json!("v")))
                .collect();
            changes(json!({}), Value::Object(map))
        };
        assert!(pairs(20).validate().is_ok());
        assert_eq!(refusal(&pairs(21)), (400, 1005, "ext_k20".into()));
        assert!(
            changes(
                json!({}),
                json!({"ext_a": "v".repeat(256), "ext_b": null, "ext_c": ""})
            )
            .validate()
            .is_ok()
        );
        assert_eq!(
            changes(json!({}), json!({})).validate().unwrap_err().code(),
            1002
        );
    }

    #[test]
    fn merge_replaces_removes_and_keeps() {
        let mut profile = Profile {
            user_id: "a".into(),
            version: 3,
            user_profile: json!({"name": "A", "level": 2})
                .as_object()
                .cloned()
                .unwrap(),
            user_ext_profile: json!({"ext_a": "1", "ext_b": "2"})
                .as_object()
                .cloned()
                .unwrap(),
        };
        changes(
            json!({"name": "", "gender": 1, "level": null}),
            json!({"ext_a": null, "ext_c": "3"}),
        )
        .apply(&mut profile)
        .unwrap();
        assert_eq!(
            Value::Object(profile.user_profile.clone()),
            json!({"gender": 1})
        );
        assert_eq!(
            Value::Object(profile.user_ext_profile.clone()),
            json!({"ext_b": "2", "ext_c": "3"})
        );
        // 19 stored + 2 new = 21: refused naming the first new key over the limit; a removal in
        // the same request makes room.
        let stored: Map<String, Value> = (0..19)
            .map(|i| (format!("ext_s{i:02}"), json!("v")))
            .collect();
        let mut full = Profile {
            user_ext_profile: stored,
            ..profile.clone()
        };
        let err = changes(json!({}), json!({"ext_n1": "x", "ext_n2": "y"}))
            .apply(&mut full.clone())
            .unwrap_err();
        assert_eq!(
            (err.code(), err.body()["profileKey"].clone()),
            (1005, json!("ext_n2"))
        );
        changes(
            json!({}),
            json!({"ext_n1": "x", "ext_n2": "y", "ext_s00": null}),
        )
        .apply(&mut full)
        .unwrap();
        assert_eq!(full.user_ext_profile.len(), 20);
    }

    #[test]
    fn declared_keys_restrict_what_can_be_set() {
        let mut app = App {
            app_key: "k".into(),
            app_secret: "s".into(),
            environment: crate::apps::Environment::Development,
            plan: crate::apps::Plan::Free,
            status: crate::apps::AppStatus::Enabled,
            user_count: 0,
            created_at: 0,
            settings: Default::default(),
        };
        let c = changes(json!({}), json!({"ext_color": "red", "ext_old": null}));
        assert!(c.check_declared(&app).is_ok());
        app.settings.declared_ext_profile_keys = Some(vec![]);
        assert!(c.check_declared(&app).is_ok());
        app.settings.declared_ext_profile_keys = Some(vec!["ext_color".into()]);
        assert!(
            c.check_declared(&app).is_ok(),
            "removing an undeclared key is allowed"
        );
        app.settings.declared_ext_profile_keys = Some(vec!["ext_size".into()]);
        let err = c.check_declared(&app).unwrap_err();
        assert_eq!(
            (err.code(), err.body()["profileKey"].clone()),
            (1002, json!("ext_color"))
        );
    }

    #[test]
    fn tree_paths_and_ranges() {
        let path = tree_path(1_764_100_123_456);
        assert_eq!(
            path,
            vec![
                ("".into(), "1764".into()),
                ("1764".into(), "100".into()),
                ("1764100".into(), "123".into()),
                ("1764100123".into(), "456".into()),
            ]
        );
        assert_eq!(prefix_range(""), (0, 10_000_000_000_000));
        assert_eq!(prefix_range("1764"), (1_764_000_000_000, 1_765_000_000_000));
        assert_eq!(
            prefix_range("1764100123456"),
            (1_764_100_123_456, 1_764_100_123_457)
        );
        assert_eq!(time_start(42), "0000000000042#");
        // A profile registered at `ms` sorts inside [time_start(ms), time_start(ms + 1)).
        let key = table::time_sort_key(1_764_100_123_456, "zzz");
        assert!(time_start(1_764_100_123_456) <= key && key < time_start(1_764_100_123_457));
        let item = HashMap::from([
            ("PK".to_owned(), s("x")),
            ("c100".to_owned(), n(2)),
            ("c099".to_owned(), n(1)),
            ("c101".to_owned(), n(0)),
            ("c12".to_owned(), n(5)),
        ]);
        assert_eq!(
            children(&item, 3),
            vec![("099".into(), 1), ("100".into(), 2)]
        );
    }

    #[test]
    fn stored_items_round_trip() {
        let map = json!({"name": "A", "gender": 1})
            .as_object()
            .cloned()
            .unwrap();
        let item = HashMap::from([
            (table::SK.to_owned(), s(table::SK_PROFILE)),
            ("userId".to_owned(), s("a")),
            ("version".to_owned(), n(7)),
            ("userProfile".to_owned(), map_attribute(&map)),
            ("registeredAt".to_owned(), n(5)),
            (table::GSI1SK.to_owned(), s(table::time_sort_key(5, "a"))),
        ]);
        let stored = stored_from_item(&item).unwrap();
        assert_eq!(stored.profile.user_profile, map);
        assert!(stored.profile.user_ext_profile.is_empty());
        assert_eq!(
            serde_json::to_value(&stored.profile).unwrap(),
            json!({"userId": "a", "version": 7, "userProfile": {"name": "A", "gender": 1}})
        );
    }
}
