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
