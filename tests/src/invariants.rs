//! The table's invariants, read back item by item: what tests assert after concurrent or faulted
//! changes.

use std::collections::{HashMap, HashSet};

use aws_sdk_dynamodb::types::AttributeValue;
use shared::apps::App;
use shared::edges;
use shared::table;

use crate::Env;

type Item = HashMap<String, AttributeValue>;

fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

/// What the table holds about friendships, read back item by item.
#[derive(Debug, Default)]
pub struct Friendships {
    /// (owner, friend) → edge item.
    pub edges: HashMap<(String, String), Item>,
    /// user → `FRIEND_COUNT.count`.
    pub counts: HashMap<String, i64>,
    /// (requester, target).
    pub requests: HashSet<(String, String)>,
}

impl Friendships {
    pub async fn read(env: &Env, app: &App) -> Self {
        let mut out = Self::default();
        for item in env.app_items(&app.app_key).await {
            let (Some(pk), Some(sk)) = (text(&item, "PK"), text(&item, "SK")) else {
                continue;
            };
            let Some((_, owner)) = table::parse_user_pk(pk) else {
                continue;
            };
            let owner = owner.to_owned();
            if let Some(friend) = sk.strip_prefix(table::SK_FRIEND_PREFIX) {
                out.edges.insert((owner, friend.to_owned()), item.clone());
            } else if let Some(requester) = sk.strip_prefix(table::SK_FRIEND_REQUEST_PREFIX) {
                out.requests.insert((requester.to_owned(), owner));
            } else if sk == table::SK_FRIEND_COUNT {
                out.counts
                    .insert(owner, shared::db::number(&item, edges::COUNT).unwrap());
            }
        }
        out
    }

    pub fn friends(&self, a: &str, b: &str) -> bool {
        self.edges.contains_key(&(a.to_owned(), b.to_owned()))
    }

    /// Every invariant of the model: mutual edges with the same time and proper index keys,
    /// counters equal to the edges, no request between friends, no two-way pending requests.
    pub fn assert_consistent(&self, app: &App) {
        for ((a, b), edge) in &self.edges {
            let back = self
                .edges
                .get(&(b.clone(), a.clone()))
                .unwrap_or_else(|| panic!("edge {a} → {b} without {b} → {a}"));
            let added = shared::db::number(edge, edges::ADDED_AT).unwrap();
            assert_eq!(
                shared::db::number(back, edges::ADDED_AT),
                Some(added),
                "{a} {b}"
            );
            assert_eq!(
                text(edge, table::LSI1SK),
                Some(table::lsi1_sort_key(table::SK_FRIEND_PREFIX, added, b).as_str())
            );
            assert_eq!(
                text(edge, table::EDGE_TO),
                Some(table::user_pk(&app.app_key, b).as_str())
            );
            assert_eq!(text(edge, edges::COUNTED_IN), Some(table::SK_FRIEND_COUNT));
        }
        let mut owned: HashMap<&str, i64> = HashMap::new();
        for (a, _) in self.edges.keys() {
            *owned.entry(a.as_str()).or_default() += 1;
        }
        let users: HashSet<&str> = owned
            .keys()
            .copied()
            .chain(self.counts.keys().map(String::as_str))
            .collect();
        for user in users {
            assert_eq!(
                self.counts.get(user).copied().unwrap_or(0),
                owned.get(user).copied().unwrap_or(0),
                "counter of {user}"
            );
        }
        for (requester, target) in &self.requests {
            assert!(
                !self.friends(requester, target),
                "request {requester} → {target} between friends"
            );
            assert!(
                !self.requests.contains(&(target.clone(), requester.clone())),
                "{requester} and {target} wait on each other"
            );
        }
    }
}

/// The counted lists (hosted profiles, mutes, bans, soft-deleted users) against their count
/// trees: every node's count of each child equals the entries listed in that child's time range
/// (bans: from now on only; a ban that expired stays counted). Returns what is off.
pub fn counted_lists_off(items: &[Item], app_key: &str, now_ms: i64) -> Vec<String> {
    use shared::count_tree::{LEVELS, TIME_DIGITS, Tree, time_digits};
    let trees = [
        (table::LIST_PROFILES, shared::profiles::tree(app_key), 0),
        (
            shared::moderation::MUTED_PERSON,
            Tree::of(app_key, shared::moderation::MUTED_PERSON),
            0,
        ),
        (
            shared::moderation::BANS,
            Tree::of(app_key, shared::moderation::BANS),
            now_ms,
        ),
        (
            shared::lifecycle::LIST_SOFT_DELETED,
            Tree::of(app_key, shared::lifecycle::LIST_SOFT_DELETED),
            0,
        ),
    ];
    let mut off = Vec::new();
    for (list, tree, after) in trees {
        // Entries per time range, at every level: (node prefix, child digits) → entries.
        let mut listed: HashMap<(String, String), i64> = HashMap::new();
        for item in items {
            if text(item, table::GSI1PK) != Some(tree.list_pk.as_str()) {
                continue;
            }
            let Some(ms) = text(item, table::GSI1SK)
                .and_then(|sk| sk.get(..TIME_DIGITS))
                .and_then(|digits| digits.parse::<i64>().ok())
            else {
                off.push(format!("{list}: an entry without a time"));
                continue;
            };
            if ms <= after {
                continue;
            }
            let digits = time_digits(ms);
            for (level, &len) in LEVELS.iter().enumerate() {
                let end = LEVELS.get(level + 1).copied().unwrap_or(TIME_DIGITS);
                let key = (digits[..len].to_owned(), digits[len..end].to_owned());
                *listed.entry(key).or_default() += 1;
            }
        }
        let mut counted: HashMap<(String, String), i64> = HashMap::new();
        for item in items {
            if text(item, table::PK) != Some(tree.counts_pk.as_str()) {
                continue;
            }
            let Some(prefix) = text(item, table::SK).and_then(|sk| sk.strip_prefix("N#")) else {
                continue;
            };
            for (name, value) in item {
                let Some(child) = name.strip_prefix('c') else {
                    continue;
                };
                let count: i64 = value.as_n().ok().and_then(|n| n.parse().ok()).unwrap_or(-1);
                // Bans: only ranges entirely after `after` are compared.
                let (_, upper) = shared::count_tree::prefix_range(&format!("{prefix}{child}"));
                if after > 0 && upper as i64 <= after + 1 {
                    continue;
                }
                if count != 0 {
                    counted.insert((prefix.to_owned(), child.to_owned()), count);
                }
            }
        }
        let ranges: HashSet<&(String, String)> = listed.keys().chain(counted.keys()).collect();
        for range in ranges {
            let (entries, count) = (
                listed.get(range).copied().unwrap_or(0),
                counted.get(range).copied().unwrap_or(0),
            );
            // A range straddling `after` holds expired bans that are still counted.
            let (lower, _) = shared::count_tree::prefix_range(&format!("{}{}", range.0, range.1));
            let straddles = after > 0 && (lower as i64) <= after;
            if entries != count && !(straddles && count > entries) {
                off.push(format!(
                    "{list}: range {}{} lists {entries} entries, counted {count}",
                    range.0, range.1
                ));
            }
        }
    }
    off
}
