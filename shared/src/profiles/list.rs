//! The list by registration time: pages at an offset through the count tree, and the memory of served page ends.

use super::*;
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
pub(super) async fn query_page(
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
        let mut query = crate::db::query(state)
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
