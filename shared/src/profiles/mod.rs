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

use aws_sdk_dynamodb::types::{ConditionCheck, Delete, Put, TransactWriteItem, Update};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::apps::App;
use crate::db::{self, n, s};
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

use crate::db::Item;

mod changes;
mod item;
mod list;
mod store;
pub use crate::count_tree::Stats;
pub use changes::*;
pub use item::*;
pub use list::*;
pub use store::*;

/// The hosted-profile list and its count tree (`crate::count_tree`).
pub fn tree(app_key: &str) -> crate::count_tree::Tree {
    crate::count_tree::Tree {
        counts_pk: table::profile_counts_pk(app_key),
        list_pk: table::list_pk(app_key, table::LIST_PROFILES),
    }
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
    fn stored_items_round_trip() {
        let map = json!({"name": "A", "gender": 1})
            .as_object()
            .cloned()
            .unwrap();
        let profile = Profile {
            user_id: "a".into(),
            version: 7,
            user_profile: map.clone(),
            user_ext_profile: Map::new(),
        };
        let item = crate::items::Kind::item(&Stored::new_item("k", &profile, 5, 9)).unwrap();
        let stored = stored_from_item(&item).unwrap();
        assert_eq!(stored.profile.user_profile, map);
        assert!(stored.profile.user_ext_profile.is_empty());
        assert_eq!(
            serde_json::to_value(&stored.profile).unwrap(),
            json!({"userId": "a", "version": 7, "userProfile": {"name": "A", "gender": 1}})
        );
    }
}
