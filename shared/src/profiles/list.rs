//! The list by registration time: pages at an offset through the count tree, and the memory of served page ends.

use super::*;
use crate::count_tree::Start;
use crate::items::{Kind as _, PageMemory};

/// List order by registration time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Ascending,
    Descending,
}

impl Order {
    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Ascending => "asc",
            Self::Descending => "desc",
        }
    }
}

/// `<order>#<pageSize>#<page>`: which walk and which boundary a `PageMemory` remembers.
fn walk(order: Order, page_size: u32, page: u64) -> String {
    format!("{}#{page_size}#{page}", order.name())
}

/// The sort key the previous page of a walk ended at, if remembered and not expired.
pub(super) async fn remembered(
    state: &State,
    app_key: &str,
    order: Order,
    page_size: u32,
    page: u64,
    now_ms: i64,
    stats: &mut Stats,
) -> Result<Option<String>, ApiError> {
    let out = crate::db::get_item(state)
        .set_key(Some(PageMemory::key_of(
            app_key,
            &walk(order, page_size, page),
        )))
        .consistent_read(true)
        .send()
        .await?;
    stats.requests += 1;
    let Some(item) = out.item else {
        return Ok(None);
    };
    stats.items_read += 1;
    let memory = PageMemory::from_item(item)?;
    Ok((memory.ttl > now_ms / 1000).then_some(memory.after))
}

pub(super) async fn remember(
    state: &State,
    app_key: &str,
    order: Order,
    page_size: u32,
    page: u64,
    after: &str,
    now_ms: i64,
) -> Result<(), ApiError> {
    let item = PageMemory {
        app_key: app_key.to_owned(),
        walk: walk(order, page_size, page),
        after: after.to_owned(),
        ttl: now_ms / 1000 + PAGE_MEMORY_SECONDS,
    }
    .item()?;
    crate::db::put_item(state)
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
    let order = crate::count_tree::Order {
        descending: order == Order::Descending,
        floor: None,
    };
    let items = tree(app_key)
        .query(state, &start, order, skip, take, stats)
        .await?;
    Ok(items.iter().filter_map(stored_from_item).collect())
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
    now_ms: i64,
) -> Result<(Vec<Profile>, Stats), ApiError> {
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
        let tree = tree(app_key);
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
            tree.read_node(state, "", &mut root_stats),
        );
        stats += memory_stats;
        stats += root_stats;
        match after? {
            Some(after) => {
                let op = if descending { "<" } else { ">" };
                let start = Start::Bound(op, after);
                query_page(state, app_key, start, order, 0, take, &mut stats).await?
            }
            None => {
                let offset = (page - 1) * u64::from(page_size);
                let located = tree
                    .locate(state, root?, offset, descending, &mut stats)
                    .await?;
                match located {
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
