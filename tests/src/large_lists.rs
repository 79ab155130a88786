//! Large counted lists (mutes, bans, soft-deleted users): seeded through the real write paths,
//! then paged at the head, the middle, the end and past the end, each page compared with a plain
//! read of the whole list and measured in requests, items read and time. Used by the budget test
//! (a few thousand entries) and by `scripts/large-lists` (50,000, for BENCHMARKS.md).

use std::time::Instant;

use futures::{StreamExt, TryStreamExt};
use shared::count_tree::Stats;
use shared::db::{self, n, s};
use shared::{State, apps::App, lifecycle, moderation, table};

use crate::Env;

/// The three lists.
pub const LISTS: [&str; 3] = ["mutes", "bans", "soft-deleted"];

/// One page read.
#[derive(Debug, Clone)]
pub struct PageRead {
    pub list: &'static str,
    pub offset: u64,
    pub page_size: usize,
    /// The user IDs the page answered.
    pub ids: Vec<String>,
    /// What the same page of a full read of the list holds.
    pub expected: Vec<String>,
    pub stats: Stats,
    pub millis: f64,
}

/// Registers `count` users (`u000000`, ...) straight into the table (the user items only).
pub async fn seed_users(state: &State, app_key: &str, count: usize) -> Vec<String> {
    let ids: Vec<String> = (0..count).map(|i| format!("u{i:06}")).collect();
    let now = state.clock.now_ms();
    let writes = ids
        .iter()
        .map(|id| {
            let item = [
                (table::PK, s(table::user_pk(app_key, id))),
                (table::SK, s(table::SK_USER)),
                ("userId", s(id)),
                ("name", s(id)),
                ("state", s("active")),
                ("createdAt", n(now)),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
            db::put(item).expect("a put request")
        })
        .collect::<Vec<_>>();
    futures::stream::iter(writes.chunks(25 * 20).map(<[_]>::to_vec))
        .map(|chunk| db::write_all(state, chunk))
        .buffer_unordered(4)
        .try_collect::<Vec<()>>()
        .await
        .expect("seed users");
    ids
}

/// Mutes, bans and then soft-deletes every user through the operations' own code, each in its
/// function's container (under its IAM policy): mutes 1,000 at a time, bans 20 at a time with a
/// distinct duration per call, soft deletes 100 at a time a millisecond apart.
pub async fn seed_lists(env: &Env, app: &App, ids: &[String]) {
    let now = env.state.clock.now_ms();
    let key = &app.app_key;
    let state = &*env.function("set-channel-type-mute");
    futures::stream::iter(ids.chunks(1000).enumerate())
        .map(|(i, chunk)| moderation::mute(state, key, chunk, now + i as i64))
        .buffer_unordered(1)
        .try_collect::<Vec<_>>()
        .await
        .expect("seed mutes");
    let state = &*env.function("ban-users");
    futures::stream::iter(ids.chunks(20).enumerate())
        .map(|(i, chunk)| moderation::ban(state, key, chunk, 60 + i as u32 % 40_000, now))
        .buffer_unordered(2)
        .try_collect::<Vec<()>>()
        .await
        .expect("seed bans");
    let state = &*env.function("soft-delete-users");
    futures::stream::iter(ids.chunks(100).enumerate())
        .map(|(i, chunk)| lifecycle::soft_delete(state, app, chunk, now + i as i64))
        .buffer_unordered(2)
        .try_collect::<Vec<_>>()
        .await
        .expect("seed soft deletes");
}

/// Every entry of a list in its order, by a plain `GSI1` query (the reference).
async fn whole_list(state: &State, list_pk: &str, descending: bool) -> Vec<String> {
    let mut ids = Vec::new();
    let mut start = None;
    loop {
        let out = db::query(state)
            .index_name(table::GSI1)
            .key_condition_expression("GSI1PK = :list")
            .expression_attribute_values(":list", s(list_pk))
            .scan_index_forward(!descending)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("query the whole list");
        ids.extend(out.items().iter().filter_map(|item| {
            table::user_id_suffix(db::text(item, table::GSI1SK)?).map(str::to_owned)
        }));
        start = out.last_evaluated_key;
        if start.is_none() {
            return ids;
        }
    }
}

/// Reads each list at the head, the middle, the last page and past the end, with each
/// operation's largest page size, in the listing function's container.
pub async fn read_pages(env: &Env, app_key: &str, entries: usize) -> Vec<PageRead> {
    let now = env.state.clock.now_ms();
    let mut reads = Vec::new();
    for list in LISTS {
        let (list_name, descending, page_size) = match list {
            "mutes" => (moderation::MUTED_PERSON, false, 200),
            "bans" => (moderation::BANS, true, 1000),
            _ => (lifecycle::LIST_SOFT_DELETED, false, 50),
        };
        let whole = whole_list(&env.state, &table::list_pk(app_key, list_name), descending).await;
        let state = &*env.function(match list {
            "mutes" => "list-channel-type-mute",
            "bans" => "list-banned-users",
            _ => "list-soft-deleted-users",
        });
        assert_eq!(whole.len(), entries, "{list}: every entry seeded");
        let last = ((entries - 1) / page_size * page_size) as u64;
        for offset in [0, (entries / 2) as u64, last, entries as u64] {
            let started = Instant::now();
            let (ids, stats) = match list {
                "mutes" => {
                    let (total, ids, stats) =
                        moderation::list_mutes(state, app_key, offset, page_size)
                            .await
                            .expect("list mutes");
                    assert_eq!(total, entries as u64, "totalCount");
                    (ids, stats)
                }
                "bans" => {
                    let (bans, stats) =
                        moderation::list_bans(state, app_key, now, offset, page_size)
                            .await
                            .expect("list bans");
                    (bans.into_iter().map(|b| b.user_id).collect(), stats)
                }
                _ => {
                    // Page-numbered: `offset` is a multiple of the page size here or past the end.
                    let page = (offset / page_size as u64 + 1) as u32;
                    lifecycle::list_soft_deleted(state, app_key, page, page_size as u32)
                        .await
                        .expect("list soft-deleted")
                }
            };
            let millis = started.elapsed().as_secs_f64() * 1000.0;
            let expected = whole
                .iter()
                .skip(offset as usize)
                .take(page_size)
                .cloned()
                .collect();
            reads.push(PageRead {
                list,
                offset,
                page_size,
                ids,
                expected,
                stats,
                millis,
            });
        }
    }
    reads
}
