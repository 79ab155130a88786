//! Counted lists stay O(page): mutes, bans and soft-deleted users, seeded through their real
//! write paths, answer the right page at the head, the middle and the end with the same number
//! of requests, and past the end with the root alone. `LARGE_LIST_ENTRIES` sets the size
//! (2,000 here; `scripts/large-lists` runs 50,000 for BENCHMARKS.md).

use integration_tests::invariants::counted_lists_off;
use integration_tests::large_lists::{self, LISTS};
use shared::count_tree::{Tree, node_sk, tree_path};
use shared::db::{n, s};

/// Entries sharing one millisecond, by list: the seed writes a mute call (1,000 users), a ban
/// call (20) and a soft delete call (100) at one time each.
fn same_millisecond(list: &str) -> usize {
    match list {
        "mutes" => 1000,
        "bans" => 20,
        _ => 100,
    }
}

#[tokio::test]
async fn pages_of_long_lists_cost_the_same_at_any_offset() {
    let entries: usize = std::env::var("LARGE_LIST_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let env = integration_tests::env().await;
    let app = env.dev_app().await;
    let ids = large_lists::seed_users(&env.state, &app.app_key, entries).await;
    large_lists::seed_lists(&env, &app, &ids).await;
    // The trees equal their lists, and the checker sees a count that is off by one.
    let now = env.state.clock.now_ms();
    let items = env.app_items(&app.app_key).await;
    assert_eq!(
        counted_lists_off(&items, &app.app_key, now),
        Vec::<String>::new()
    );
    let mutes = Tree::of(&app.app_key, shared::moderation::MUTED_PERSON);
    let (leaf, child) = tree_path(now).pop().expect("a path");
    let add_to_leaf = |delta: i64| {
        env.state
            .db
            .update_item()
            .table_name(&env.state.table)
            .key("PK", s(&mutes.counts_pk))
            .key("SK", s(node_sk(&leaf)))
            .update_expression("ADD #c :delta")
            .expression_attribute_names("#c", format!("c{child}"))
            .expression_attribute_values(":delta", n(delta))
            .send()
    };
    add_to_leaf(1).await.expect("corrupt a count");
    let items = env.app_items(&app.app_key).await;
    let off = counted_lists_off(&items, &app.app_key, now);
    assert_eq!(off.len(), 1, "{off:?}");
    assert!(off[0].starts_with("MUTED#PERSON: range"), "{off:?}");
    add_to_leaf(-1).await.expect("repair the count");
    let reads = large_lists::read_pages(&env, &app.app_key, entries).await;
    for list in LISTS {
        let pages: Vec<_> = reads.iter().filter(|r| r.list == list).collect();
        let [head, middle, end, past] = pages.as_slice() else {
            panic!("{list}: four reads")
        };
        for read in [head, middle, end, past] {
            assert_eq!(read.ids, read.expected, "{list} at {}", read.offset);
        }
        assert_eq!(head.ids.len(), head.page_size, "{list}: a full first page");
        assert!(past.ids.is_empty(), "{list}: past the end");
        // Head: the root beside the page. Any later page: the root, 3 nodes, the page.
        // Past the end: the root alone.
        assert_eq!(head.stats.requests, 2, "{list} head");
        assert_eq!(middle.stats.requests, 5, "{list} middle");
        assert_eq!(end.stats.requests, 5, "{list} end");
        assert_eq!(past.stats.requests, 1, "{list} past the end");
        // Items read: the page, the entries of its first millisecond before it, the nodes.
        let bound = head.page_size + same_millisecond(list) + 4;
        for read in [head, middle, end, past] {
            assert!(
                read.stats.items_read <= bound,
                "{list} at {}: {} items read",
                read.offset,
                read.stats.items_read
            );
        }
    }
}
