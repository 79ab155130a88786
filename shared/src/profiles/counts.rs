//! The count tree over registration time: how many profiles each range holds.

use super::*;

/// Digits of a registration time (ms) in the tree, as in `time_sort_key`.
pub(super) const TIME_DIGITS: usize = 13;
/// Prefix length of each level's nodes; a node's children extend its prefix to the next length
/// (the last level's children are single milliseconds). Each node has at most 1,000 children.
pub(super) const TREE: [usize; 4] = [0, 4, 7, 10];

pub(super) fn time_digits(ms: i64) -> String {
    format!("{:013}", ms.clamp(0, 9_999_999_999_999))
}

pub(super) fn node_sk(prefix: &str) -> String {
    format!("N#{prefix}")
}

/// The `[prefix, next level)` digit slices of each level for a registration time.
pub(super) fn tree_path(registered_at: i64) -> Vec<(String, String)> {
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
pub(super) fn count_updates(
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
                .build()?;
            Ok(TransactWriteItem::builder().update(update).build())
        })
        .collect()
}

/// A node's children with a positive count, ascending: `(digits, count)`.
pub(super) async fn read_node(
    state: &State,
    app_key: &str,
    prefix: &str,
    stats: &mut Stats,
) -> Result<Vec<(String, u64)>, ApiError> {
    let child_len = TREE
        .iter()
        .position(|&len| len == prefix.len())
        .map(|level| TREE.get(level + 1).copied().unwrap_or(TIME_DIGITS) - prefix.len())
        .ok_or_else(|| {
            ApiError::Internal(format!("no tree level has prefixes of {}", prefix.len()))
        })?;
    let out = crate::db::get_item(state)
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

pub(super) fn children(item: &Item, child_len: usize) -> Vec<(String, u64)> {
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
pub(super) fn prefix_range(prefix: &str) -> (u64, u64) {
    let scale = 10u64.pow((TIME_DIGITS - prefix.len().min(TIME_DIGITS)) as u32);
    let value: u64 = if prefix.is_empty() {
        0
    } else {
        prefix.parse().unwrap_or(0)
    };
    (value * scale, (value + 1) * scale)
}

/// The sort key at which registration time `ms` begins.
pub(super) fn time_start(ms: u64) -> String {
    format!("{ms:013}#")
}

/// Where a page's query starts.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Start {
    /// The head of the list in its order.
    Head,
    /// `GSI1SK <op> key`.
    Bound(&'static str, String),
}

/// Finds where offset `offset` of the list in the given order lies: the start of the millisecond
/// it falls in and how many profiles of that millisecond come before it. `None`: past the end.
/// Counts read at slightly different instants may disagree when profiles are written meanwhile;
/// then the page starts at the next range boundary.
pub(super) async fn locate(
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
