//! Moderation: bans, user tags, direct-channel mutes, and the direct-message permission check.
//!
//! Every item lives in the user's partition (so the purge of a soft-deleted user removes it):
//! `BAN` (`banExpiresAt` ms + `ttl`, listed in `GSI1` `BANS` by expiry), `TAGS`, and
//! `MUTE#PERSON` (listed in `GSI1` `MUTED#PERSON` by the time muted). Writes of tags go through
//! [`users::write_for_active`], which pairs each with a check that the user is active. Bans and
//! mutes are counted lists (`count_tree`): each is written on the condition that it is as read,
//! with its count updates and (when added) the user's active check, in one transaction, so a page
//! at any offset costs the same few reads.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem};
use serde_json::Value;

use crate::apps::App;
use crate::batch;
use crate::count_tree::{Order, Stats, Tree};
use crate::db::{self, n, number, text};
use crate::error::ApiError;
use crate::items::{self, Kind as _};
use crate::state::State;
use crate::table;
use crate::users::{self, Inactive, UserState};

use crate::db::Item;

/// `GSI1` list of an app's bans, by expiry.
pub use crate::items::BANS;
/// `GSI1` list of the users muted in direct channels, by the time muted.
pub use crate::items::MUTED_PERSON;
/// When a mute was first muted (ms): its time in the mute list.
const MUTED_AT: &str = "mutedAt";
pub const MAX_BAN_MINUTES: u32 = 43_200;

fn sort_key(item: &Item) -> Option<&str> {
    text(item, table::SK)
}

// --- bans -----------------------------------------------------------------------------------

/// A per-user item listed in a counted list (a ban, a mute): its sort key, the attribute holding
/// the time it is listed at, and the list's count tree.
struct Counted {
    app_key: String,
    sk: &'static str,
    time: &'static str,
    tree: Tree,
}

impl Counted {
    /// Bans by expiry. A ban is counted while it has not expired; changes to an expired ban
    /// leave its count (below the present, where no page is read) as it was, which keeps a
    /// transaction's count updates within the future 30 days.
    fn bans(app_key: &str) -> Self {
        Self {
            app_key: app_key.to_owned(),
            sk: table::SK_BAN,
            time: table::BAN_EXPIRES_AT,
            tree: Tree::of(app_key, BANS),
        }
    }

    /// Mutes by the time first muted.
    fn mutes(app_key: &str) -> Self {
        Self {
            app_key: app_key.to_owned(),
            sk: table::SK_MUTE_PERSON,
            time: MUTED_AT,
            tree: Tree::of(app_key, MUTED_PERSON),
        }
    }

    fn key(&self, user_id: &str) -> Item {
        users::item_key(&self.app_key, user_id, self.sk)
    }

    /// The users' items in the table (expired bans included), by user: their time (ms).
    async fn stored(
        &self,
        state: &State,
        user_ids: &[String],
    ) -> Result<HashMap<String, i64>, ApiError> {
        let keys = user_ids.iter().map(|user_id| self.key(user_id)).collect();
        Ok(db::get_all(state, keys)
            .await?
            .iter()
            .filter_map(|item| Some((text(item, "userId")?.to_owned(), number(item, self.time)?)))
            .collect())
    }

    /// Deletes the users' items, each on the condition that it is still at the time read, with
    /// the count change `uncount` gives for that time; reads again those changed meanwhile.
    /// Users without an item are no-ops.
    async fn remove(
        &self,
        state: &State,
        user_ids: &[String],
        uncount: impl Fn(i64) -> Option<(i64, i64)>,
    ) -> Result<(), ApiError> {
        let user_ids = crate::validate::dedup(user_ids);
        db::retry(|| async {
            let entries = self
                .stored(state, &user_ids)
                .await?
                .into_iter()
                .map(|(user_id, time)| {
                    let delete = Delete::builder()
                        .table_name(&state.table)
                        .set_key(Some(self.key(&user_id)))
                        .condition_expression("#time = :was")
                        .expression_attribute_names("#time", self.time)
                        .expression_attribute_values(":was", n(time))
                        .build()?;
                    Ok(batch::Entry {
                        actions: vec![TransactWriteItem::builder().delete(delete).build()],
                        counts: uncount(time).into_iter().collect(),
                    })
                })
                .collect::<Result<Vec<_>, ApiError>>()?;
            let refused =
                batch::write(state, Some(&self.tree), entries, batch::Mode::EachEntry).await?;
            Ok(refused.is_empty().then_some(()))
        })
        .await
    }
}

/// The count change that removes a ban expiring at `expires_at` (none once it has expired).
fn uncount_ban(expires_at: i64, now_ms: i64) -> Option<(i64, i64)> {
    (expires_at > now_ms).then_some((expires_at, -1))
}

/// Bans active users until `now_ms + duration`, replacing any earlier expiry, in one transaction:
/// every user must exist and be active, else nothing is written (404/400 or 403/20101 naming the
/// first such user). At most [`users::USERS_PER_TRANSACTION`] users. Each ban is written on the
/// condition that it is still as read (absent or at the expiry read), with its move in the
/// count tree; a ban changed meanwhile makes the whole ban read and write again.
pub async fn ban(
    state: &State,
    app_key: &str,
    user_ids: &[String],
    duration_minutes: u32,
    now_ms: i64,
) -> Result<(), ApiError> {
    let expires_at = now_ms + i64::from(duration_minutes) * 60_000;
    let user_ids = crate::validate::dedup(user_ids);
    let bans = Counted::bans(app_key);
    db::retry(|| async {
        let stored = bans.stored(state, &user_ids).await?;
        let entries = user_ids
            .iter()
            .map(|user_id| {
                let previous = stored.get(user_id).copied();
                let put = Put::builder()
                    .table_name(&state.table)
                    .set_item(Some(ban_item(app_key, user_id, expires_at, now_ms)?));
                // Still as read: absent, or at the expiry read.
                let put = match previous {
                    None => put.condition_expression("attribute_not_exists(PK)"),
                    Some(was) => put
                        .condition_expression("#time = :was")
                        .expression_attribute_names("#time", bans.time)
                        .expression_attribute_values(":was", n(was)),
                }
                .build()?;
                let mut counts = vec![(expires_at, 1)];
                counts.extend(previous.and_then(|t| uncount_ban(t, now_ms)));
                Ok(batch::Entry {
                    actions: vec![
                        users::active_check(state, app_key, user_id, Inactive::Refuse)?,
                        TransactWriteItem::builder().put(put).build(),
                    ],
                    counts,
                })
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        let refused =
            batch::write(state, Some(&bans.tree), entries, batch::Mode::AllOrNothing).await?;
        if refused.iter().any(|r| r.action == 0) {
            let checks: Vec<_> = refused.into_iter().filter(|r| r.action == 0).collect();
            users::inactive_users(&user_ids, &checks, Inactive::Refuse)?;
            return Err(ApiError::Internal("a refused check named no user".into()));
        }
        // A ban changed since it was read: read again.
        Ok(refused.is_empty().then_some(()))
    })
    .await
}

fn ban_item(app_key: &str, user_id: &str, expires_at: i64, now_ms: i64) -> Result<Item, ApiError> {
    items::Ban::new(app_key, user_id, expires_at, now_ms).item()
}

/// Lifts the bans of these users (whatever their state: the purge of a soft-deleted user lifts
/// its ban too). Users who are not banned, or unknown, are no-ops. Each ban is deleted on the
/// condition that it is still as read, with its count; one changed meanwhile is read again.
pub async fn unban(
    state: &State,
    app_key: &str,
    user_ids: &[String],
    now_ms: i64,
) -> Result<(), ApiError> {
    Counted::bans(app_key)
        .remove(state, user_ids, |expires_at| {
            uncount_ban(expires_at, now_ms)
        })
        .await
}

/// A ban in force: the user and when it ends (ms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ban {
    pub user_id: String,
    pub expires_at: i64,
}

/// The bans in force at `now_ms`, latest expiry first: `take` of them after skipping `skip`,
/// found through the count tree (the same reads whatever `skip` is). Expired bans are never read
/// (the key condition stops at `now_ms`), whether or not the TTL has deleted them yet. `GSI1`
/// reads are eventually consistent.
pub async fn list_bans(
    state: &State,
    app_key: &str,
    now_ms: i64,
    skip: u64,
    take: usize,
) -> Result<(Vec<Ban>, Stats), ApiError> {
    // The first sort key of an expiry after now: a prefix sorts before its extensions.
    let floor = table::time_sort_key(now_ms.saturating_add(1), "");
    let (_, items, stats) = Counted::bans(app_key)
        .tree
        .page(
            state,
            skip,
            take,
            Order {
                descending: true,
                floor: Some(&floor),
            },
        )
        .await?;
    let bans = items
        .into_iter()
        .filter_map(|item| items::Ban::from_item(item).ok())
        // The key condition already excluded expired bans; this only guards odd items.
        .filter(|ban| ban.ban_expires_at > now_ms)
        .map(|ban| Ban {
            user_id: ban.user_id,
            expires_at: ban.ban_expires_at,
        })
        .collect();
    Ok((bans, stats))
}

// --- tags -----------------------------------------------------------------------------------

pub const MAX_TAGS: usize = 20;
pub const MAX_TAG_BYTES: usize = 40;

/// Replaces the tag set of each active user (`[]` deletes it). Unknown and soft-deleted users
/// are skipped and returned.
pub async fn set_tags(
    state: &State,
    app_key: &str,
    user_ids: &[String],
    tags: &[String],
    now_ms: i64,
) -> Result<Vec<String>, ApiError> {
    let tags = crate::validate::dedup(tags);
    users::write_for_active(state, app_key, user_ids, Inactive::Skip, |user_id| {
        let key = users::item_key(app_key, user_id, table::SK_TAGS);
        if tags.is_empty() {
            let delete = Delete::builder()
                .table_name(&state.table)
                .set_key(Some(key))
                .build();
            return Ok(TransactWriteItem::builder().delete(delete?).build());
        }
        let item = items::Tags {
            app_key: app_key.to_owned(),
            user_id: user_id.to_owned(),
            tags: tags.clone(),
            updated_at: now_ms,
        }
        .item()?;
        let put = Put::builder()
            .table_name(&state.table)
            .set_item(Some(item))
            .build();
        Ok(TransactWriteItem::builder().put(put?).build())
    })
    .await
}

/// The tags of each user, in request order (duplicates removed); `[]` for a user without tags,
/// and for an unknown or soft-deleted one. One `BatchGetItem` of the users' `USER` and `TAGS`
/// items (at most 50 users).
pub async fn get_tags(
    state: &State,
    app_key: &str,
    user_ids: &[String],
) -> Result<Vec<(String, Vec<String>)>, ApiError> {
    let user_ids = crate::validate::dedup(user_ids);
    let keys = user_ids
        .iter()
        .flat_map(|id| {
            [
                users::key(app_key, id),
                users::item_key(app_key, id, table::SK_TAGS),
            ]
        })
        .collect();
    let items = db::get_all(state, keys).await?;
    let mut active = std::collections::HashSet::new();
    let mut tags: HashMap<String, Vec<String>> = HashMap::new();
    for item in &items {
        let Some((_, user_id)) = text(item, table::PK).and_then(table::parse_user_pk) else {
            continue;
        };
        match sort_key(item) {
            Some(table::SK_USER) if text(item, "state") == Some("active") => {
                active.insert(user_id.to_owned());
            }
            Some(table::SK_TAGS) => {
                let stored = items::Tags::from_item(item.clone())?;
                tags.insert(user_id.to_owned(), stored.tags);
            }
            _ => {}
        }
    }
    Ok(user_ids
        .into_iter()
        .map(|id| {
            let user_tags = match active.contains(&id) {
                true => tags.remove(&id).unwrap_or_default(),
                false => Vec::new(),
            };
            (id, user_tags)
        })
        .collect())
}

// --- direct-channel mutes -------------------------------------------------------------------

/// Whether `value` names direct channels: `"PERSON"` or `1`, or (with `list`) a non-empty list
/// of those. Any other channel type is refused (400/1002 naming `field`).
pub fn check_person_channel_type(field: &str, value: &Value, list: bool) -> Result<(), ApiError> {
    let is_person = |v: &Value| v.as_str() == Some("PERSON") || v.as_i64() == Some(1);
    let refuse = || ApiError::invalid(field, "only direct channels are supported: \"PERSON\" or 1");
    match value {
        Value::Array(items) if list => {
            if items.is_empty() {
                return Err(ApiError::invalid(field, "must not be empty"));
            }
            items.iter().all(is_person).then_some(()).ok_or_else(refuse)
        }
        v if is_person(v) => Ok(()),
        _ => Err(refuse()),
    }
}

/// Mutes active users in direct channels; muting a muted user keeps the time it was first muted
/// (its place in the list). Each new mute is written with a check that its user is active, on
/// the condition that it does not exist yet (one written meanwhile is as good), and counted.
/// Unknown and soft-deleted users are skipped and returned.
pub async fn mute(
    state: &State,
    app_key: &str,
    user_ids: &[String],
    now_ms: i64,
) -> Result<Vec<String>, ApiError> {
    let user_ids = crate::validate::dedup(user_ids);
    let mutes = Counted::mutes(app_key);
    let muted = mutes.stored(state, &user_ids).await?;
    let new: Vec<String> = user_ids
        .into_iter()
        .filter(|user_id| !muted.contains_key(user_id))
        .collect();
    let entries = new
        .iter()
        .map(|user_id| {
            let put = Put::builder()
                .table_name(&state.table)
                .set_item(Some(items::Mute::new(app_key, user_id, now_ms).item()?))
                .condition_expression("attribute_not_exists(PK)")
                .build()?;
            Ok(batch::Entry {
                actions: vec![
                    users::active_check(state, app_key, user_id, Inactive::Skip)?,
                    TransactWriteItem::builder().put(put).build(),
                ],
                counts: vec![(now_ms, 1)],
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let refused = batch::write(state, Some(&mutes.tree), entries, batch::Mode::EachEntry).await?;
    let inactive: Vec<_> = refused.into_iter().filter(|r| r.action == 0).collect();
    users::inactive_users(&new, &inactive, Inactive::Skip)
}

/// Unmutes users in direct channels, whatever their state (the purge of a soft-deleted user
/// unmutes it too); users not muted are no-ops. Each mute is deleted on the condition that it is
/// still the one read, with its count; one changed meanwhile is read again.
pub async fn unmute(state: &State, app_key: &str, user_ids: &[String]) -> Result<(), ApiError> {
    Counted::mutes(app_key)
        .remove(state, user_ids, |muted_at| Some((muted_at, -1)))
        .await
}

/// The users muted in direct channels, first muted first: how many in all (the count tree's
/// root), and `page_size` of them from `offset`, found through the count tree: the same reads
/// whatever `offset` is.
pub async fn list_mutes(
    state: &State,
    app_key: &str,
    offset: u64,
    page_size: usize,
) -> Result<(u64, Vec<String>, Stats), ApiError> {
    let (total, items, stats) = Counted::mutes(app_key)
        .tree
        .page(state, offset, page_size, Order::ASCENDING)
        .await?;
    let page = items
        .into_iter()
        .filter_map(|item| items::Mute::from_item(item).ok())
        .map(|mute| mute.user_id)
        .collect();
    Ok((total, page, stats))
}

/// Lifts a user's ban and mute with their counts (the purge of a soft-deleted user).
pub async fn forget(state: &State, app_key: &str, user_id: &str) -> Result<(), ApiError> {
    let user = [user_id.to_owned()];
    let now_ms = state.clock.now_ms();
    tokio::try_join!(
        unban(state, app_key, &user, now_ms),
        unmute(state, app_key, &user)
    )?;
    Ok(())
}

// --- direct-message permission ---------------------------------------------------------------

/// The answer of the direct-message permission check, in order of precedence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DmVerdict {
    Ok,
    SenderBanned,
    SenderSoftDeleted,
    RecipientSoftDeleted,
    BlockedByRecipient,
    SenderMuted,
    NotFriends,
}

impl DmVerdict {
    pub fn allowed(self) -> bool {
        self == Self::Ok
    }

    pub fn reason(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::SenderBanned => "sender-banned",
            Self::SenderSoftDeleted => "sender-soft-deleted",
            Self::RecipientSoftDeleted => "recipient-soft-deleted",
            Self::BlockedByRecipient => "blocked-by-recipient",
            Self::SenderMuted => "sender-muted",
            Self::NotFriends => "not-friends",
        }
    }
}

/// What the check reads about the two users.
#[derive(Debug, Default, Clone)]
pub struct DmFacts {
    /// `None`: no such user.
    pub sender: Option<UserState>,
    pub recipient: Option<UserState>,
    /// The sender's ban expiry (ms), if a ban item exists.
    pub sender_ban_until: Option<i64>,
    pub sender_muted: bool,
    /// The recipient has the sender on its blocklist.
    pub blocked: bool,
    /// The sender has the recipient as a friend.
    pub friends: bool,
}

/// Applies the rules in order of precedence. Unknown users are 404/400 (the sender first).
pub fn decide(
    facts: &DmFacts,
    from: &str,
    to: &str,
    restrict_to_friends: bool,
    now_ms: i64,
) -> Result<DmVerdict, ApiError> {
    let sender = facts
        .sender
        .ok_or_else(|| ApiError::UserNotFound(from.to_owned()))?;
    let recipient = facts
        .recipient
        .ok_or_else(|| ApiError::UserNotFound(to.to_owned()))?;
    Ok(
        if facts.sender_ban_until.is_some_and(|until| until > now_ms) {
            DmVerdict::SenderBanned
        } else if sender == UserState::SoftDeleted {
            DmVerdict::SenderSoftDeleted
        } else if recipient == UserState::SoftDeleted {
            DmVerdict::RecipientSoftDeleted
        } else if facts.blocked {
            DmVerdict::BlockedByRecipient
        } else if facts.sender_muted {
            DmVerdict::SenderMuted
        } else if restrict_to_friends && !facts.friends {
            DmVerdict::NotFriends
        } else {
            DmVerdict::Ok
        },
    )
}

/// Reads everything the check needs in one `BatchGetItem` (sender: user, ban, mute, friend edge
/// to the recipient; recipient: user, blocklist edge to the sender) and decides. `from` and `to`
/// must differ.
pub async fn check_dm(
    state: &State,
    app: &App,
    from: &str,
    to: &str,
    now_ms: i64,
) -> Result<DmVerdict, ApiError> {
    let key = &app.app_key;
    let friend_sk = table::friend_sk(to);
    let block_sk = table::block_sk(from);
    let keys = vec![
        users::key(key, from),
        users::item_key(key, from, table::SK_BAN),
        users::item_key(key, from, table::SK_MUTE_PERSON),
        users::item_key(key, from, &friend_sk),
        users::key(key, to),
        users::item_key(key, to, &block_sk),
    ];
    let items = db::get_all(state, keys).await?;
    let from_pk = table::user_pk(key, from);
    let mut facts = DmFacts::default();
    for item in &items {
        let sender_side = text(item, table::PK) == Some(from_pk.as_str());
        let state_of = |item: &Item| match text(item, "state") {
            Some("soft-deleted") => UserState::SoftDeleted,
            _ => UserState::Active,
        };
        match (sender_side, sort_key(item)) {
            (true, Some(table::SK_USER)) => facts.sender = Some(state_of(item)),
            (false, Some(table::SK_USER)) => facts.recipient = Some(state_of(item)),
            (true, Some(table::SK_BAN)) => {
                facts.sender_ban_until = number(item, table::BAN_EXPIRES_AT)
            }
            (true, Some(table::SK_MUTE_PERSON)) => facts.sender_muted = true,
            (true, Some(sk)) if sk == friend_sk => facts.friends = true,
            (false, Some(sk)) if sk == block_sk => facts.blocked = true,
            _ => {}
        }
    }
    decide(
        &facts,
        from,
        to,
        app.settings.restrict_dm_to_friends,
        now_ms,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::s;
    use serde_json::json;

    #[test]
    fn ban_items_are_listed_by_expiry_and_expire_by_ttl() {
        let item = ban_item("k", "bob", 1_700_000_000_001, 5).unwrap();
        assert_eq!(item[table::BAN_EXPIRES_AT], n(1_700_000_000_001_i64));
        assert_eq!(item["ttl"], n(1_700_000_001), "rounded up");
        assert_eq!(item["GSI1PK"], s("APP#k#BANS"));
        assert_eq!(item["GSI1SK"], s("1700000000001#bob"));
        assert_eq!(item["SK"], s("BAN"));
        // The listing's lower bound: bans ending after `now` only.
        let now = 1_700_000_000_000;
        let from = table::time_sort_key(now + 1, "");
        assert!(table::time_sort_key(now + 1, "a") >= from);
        assert!(table::time_sort_key(now, "zzz") < from);
    }

    #[test]
    fn channel_types() {
        for ok in [json!("PERSON"), json!(1), json!(["PERSON", 1])] {
            assert!(
                check_person_channel_type("channelTypes", &ok, true).is_ok(),
                "{ok}"
            );
        }
        for bad in [
            json!("GROUP"),
            json!(3),
            json!("person"),
            json!("1"),
            json!([]),
            json!(["PERSON", "GROUP"]),
            json!(null),
            json!(true),
            json!({"a": 1}),
        ] {
            let err = check_person_channel_type("channelTypes", &bad, true).unwrap_err();
            assert_eq!(err.code(), 1002, "{bad}");
            assert!(err.to_string().starts_with("channelTypes:"), "{err}");
        }
        assert!(check_person_channel_type("channelType", &json!(["PERSON"]), false).is_err());
    }

    #[test]
    fn dm_rules_follow_their_precedence() {
        let now = 1_000;
        let active = DmFacts {
            sender: Some(UserState::Active),
            recipient: Some(UserState::Active),
            ..DmFacts::default()
        };
        let verdict =
            |facts: &DmFacts, restrict: bool| decide(facts, "a", "b", restrict, now).unwrap();
        assert_eq!(verdict(&active, false), DmVerdict::Ok);
        assert_eq!(verdict(&active, true), DmVerdict::NotFriends);
        let everything = DmFacts {
            sender: Some(UserState::SoftDeleted),
            recipient: Some(UserState::SoftDeleted),
            sender_ban_until: Some(now + 1),
            sender_muted: true,
            blocked: true,
            friends: false,
        };
        // Lift the rules one by one, in precedence order.
        let mut facts = everything.clone();
        assert_eq!(verdict(&facts, true), DmVerdict::SenderBanned);
        facts.sender_ban_until = Some(now); // ended
        assert_eq!(verdict(&facts, true), DmVerdict::SenderSoftDeleted);
        facts.sender = Some(UserState::Active);
        assert_eq!(verdict(&facts, true), DmVerdict::RecipientSoftDeleted);
        facts.recipient = Some(UserState::Active);
        assert_eq!(verdict(&facts, true), DmVerdict::BlockedByRecipient);
        facts.blocked = false;
        assert_eq!(verdict(&facts, true), DmVerdict::SenderMuted);
        facts.sender_muted = false;
        assert_eq!(verdict(&facts, true), DmVerdict::NotFriends);
        facts.friends = true;
        assert_eq!(verdict(&facts, true), DmVerdict::Ok);
        // The blocklist wins over friendship.
        let blocked_friend = DmFacts {
            blocked: true,
            friends: true,
            ..active.clone()
        };
        assert_eq!(
            verdict(&blocked_friend, true),
            DmVerdict::BlockedByRecipient
        );

        let unknown = decide(&DmFacts::default(), "a", "b", false, now).unwrap_err();
        assert_eq!((unknown.status(), unknown.code()), (404, 400));
        assert!(unknown.to_string().contains('a'));
        let no_recipient = DmFacts {
            recipient: None,
            ..active
        };
        let err = decide(&no_recipient, "a", "b", false, now).unwrap_err();
        assert_eq!(err.to_string(), "user b does not exist");
    }
}
