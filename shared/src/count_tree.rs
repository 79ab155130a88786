//! Count trees: how many entries of one of an app's `GSI1` lists fall in each range of time, so
//! a page at any offset is found in a bounded number of reads, whatever the list's length.
//!
//! A list's entries sort by `table::time_sort_key(ms, user)`. The tree's nodes (one item each,
//! under [`Tree::counts_pk`], `SK = N#<digits>`) count the entries below each digit prefix of
//! the 13-digit time: the root counts per 4-digit prefix, the next levels add 3 digits each down
//! to single milliseconds, so a node has at most 1,000 children and a path has 4 nodes. Every
//! write that adds an entry to the list or removes one carries the count updates of its path in
//! the same transaction, conditioned on the entry's previous state, so the counts are exact.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::{TransactWriteItem, Update};

use crate::db::{Item, n, s};
use crate::error::ApiError;
use crate::state::State;
use crate::table;

/// Digits of a time (ms) in the tree, as in `table::time_sort_key`.
pub const TIME_DIGITS: usize = 13;
/// Prefix length of each level's nodes; a node's children extend its prefix to the next length
/// (the last level's children are single milliseconds).
pub const LEVELS: [usize; 4] = [0, 4, 7, 10];

/// Requests sent and items read by one list call (for budgets and benchmarks).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub requests: usize,
    pub items_read: usize,
}

impl std::ops::AddAssign for Stats {
    fn add_assign(&mut self, other: Self) {
        self.requests += other.requests;
        self.items_read += other.items_read;
    }
}

/// One counted list: where its counts live and which `GSI1` partition holds its entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tree {
    pub counts_pk: String,
    pub list_pk: String,
}

/// How a list is read: its order, and for descending lists the sort key it never goes below
/// (e.g. bans not yet expired).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Order<'a> {
    pub descending: bool,
    pub floor: Option<&'a str>,
}

impl Order<'_> {
    pub const ASCENDING: Order<'static> = Order {
        descending: false,
        floor: None,
    };
}

/// Where a page's query starts.
#[derive(Debug, Clone, PartialEq)]
pub enum Start {
    /// The head of the list in its order.
    Head,
    /// `GSI1SK <op> key`.
    Bound(&'static str, String),
}

pub fn time_digits(ms: i64) -> String {
    format!("{:013}", ms.clamp(0, 9_999_999_999_999))
}

pub fn node_sk(prefix: &str) -> String {
    format!("N#{prefix}")
}

/// The `[prefix, next level)` digit slices of each level for a time.
pub fn tree_path(ms: i64) -> Vec<(String, String)> {
    let digits = time_digits(ms);
    LEVELS
        .iter()
        .enumerate()
        .map(|(level, &len)| {
            let end = LEVELS.get(level + 1).copied().unwrap_or(TIME_DIGITS);
            (digits[..len].to_owned(), digits[len..end].to_owned())
        })
        .collect()
}

/// Net count change per node and child for a set of `(time ms, delta)` changes; children whose
/// changes cancel out, and nodes left with none, are dropped.
pub fn merged(changes: &[(i64, i64)]) -> BTreeMap<String, BTreeMap<String, i64>> {
    let mut nodes: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    for &(ms, delta) in changes {
        for (prefix, child) in tree_path(ms) {
            *nodes.entry(prefix).or_default().entry(child).or_default() += delta;
        }
    }
    for children in nodes.values_mut() {
        children.retain(|_, delta| *delta != 0);
    }
    nodes.retain(|_, children| !children.is_empty());
    nodes
}

/// Registration-time bounds (ms) of a digit prefix: `[lower, upper)`.
pub fn prefix_range(prefix: &str) -> (u64, u64) {
    let scale = 10u64.pow((TIME_DIGITS - prefix.len().min(TIME_DIGITS)) as u32);
    let value: u64 = if prefix.is_empty() {
        0
    } else {
        prefix.parse().unwrap_or(0)
    };
    (value * scale, (value + 1) * scale)
}

/// The sort key at which time `ms` begins.
pub fn time_start(ms: u64) -> String {
    format!("{ms:013}#")
}

/// A node's children with a positive count, ascending: `(digits, count)`.
pub fn children(item: &Item, child_len: usize) -> Vec<(String, u64)> {
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

impl Tree {
    /// The counted `GSI1` list `list` of an app (`table::list_pk`), counted under
    /// `APP#<key>#COUNTS#<list>`.
    pub fn of(app_key: &str, list: &str) -> Self {
        Self {
            counts_pk: format!("{}#COUNTS#{list}", table::app_pk(app_key)),
            list_pk: table::list_pk(app_key, list),
        }
    }

    /// The count updates (one per node touched) for a set of `(time ms, delta)` changes, for the
    /// transaction that makes them. Each node appears once, as a transaction requires.
    pub fn updates(
        &self,
        state: &State,
        changes: &[(i64, i64)],
    ) -> Result<Vec<TransactWriteItem>, ApiError> {
        merged(changes)
            .into_iter()
            .map(|(prefix, children)| {
                let mut update = Update::builder()
                    .table_name(&state.table)
                    .key(table::PK, s(&self.counts_pk))
                    .key(table::SK, s(node_sk(&prefix)));
                let mut adds = Vec::with_capacity(children.len());
                for (i, (child, delta)) in children.into_iter().enumerate() {
                    adds.push(format!("#c{i} :d{i}"));
                    update = update
                        .expression_attribute_names(format!("#c{i}"), format!("c{child}"))
                        .expression_attribute_values(format!(":d{i}"), n(delta));
                }
                let update = update
                    .update_expression(format!("ADD {}", adds.join(", ")))
                    .build()?;
                Ok(TransactWriteItem::builder().update(update).build())
            })
            .collect()
    }

    /// A node's children with a positive count, ascending: `(digits, count)`.
    pub async fn read_node(
        &self,
        state: &State,
        prefix: &str,
        stats: &mut Stats,
    ) -> Result<Vec<(String, u64)>, ApiError> {
        let child_len = LEVELS
            .iter()
            .position(|&len| len == prefix.len())
            .map(|level| LEVELS.get(level + 1).copied().unwrap_or(TIME_DIGITS) - prefix.len())
            .ok_or_else(|| {
                ApiError::Internal(format!("no tree level has prefixes of {}", prefix.len()))
            })?;
        let out = crate::db::get_item(state)
            .key(table::PK, s(&self.counts_pk))
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

    /// Finds where offset `offset` of the list in the given order lies: the start of the
    /// millisecond it falls in and how many entries of that millisecond come before it.
    /// `None`: past the end. Counts read at slightly different instants may disagree when
    /// entries are written meanwhile; then the page starts at the next range boundary.
    pub async fn locate(
        &self,
        state: &State,
        root: Vec<(String, u64)>,
        mut offset: u64,
        descending: bool,
        stats: &mut Stats,
    ) -> Result<Option<(Start, u64)>, ApiError> {
        let mut prefix = String::new();
        let mut children = root;
        for level in 0..LEVELS.len() {
            if level > 0 {
                children = self.read_node(state, &prefix, stats).await?;
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

    /// Reads `take` entries of the list after skipping `skip`, from `start` in `order`.
    pub async fn query(
        &self,
        state: &State,
        start: &Start,
        order: Order<'_>,
        skip: u64,
        take: usize,
        stats: &mut Stats,
    ) -> Result<Vec<Item>, ApiError> {
        let Order { descending, floor } = order;
        let wanted = skip.saturating_add(take as u64);
        let condition = match (start, floor) {
            (Start::Head, None) => "GSI1PK = :list".to_owned(),
            (Start::Head, Some(_)) => "GSI1PK = :list AND GSI1SK >= :floor".to_owned(),
            (Start::Bound(op, _), None) => format!("GSI1PK = :list AND GSI1SK {op} :key"),
            (Start::Bound(_, key), Some(floor)) => {
                if key.as_str() <= floor {
                    return Ok(Vec::new());
                }
                // `<` in practice: no sort key ends with its time's `#`.
                "GSI1PK = :list AND GSI1SK BETWEEN :floor AND :key".to_owned()
            }
        };
        let mut found: Vec<Item> = Vec::new();
        let mut exclusive_start = None;
        loop {
            let missing = wanted.saturating_sub(found.len() as u64);
            let mut query = crate::db::query(state)
                .index_name(table::GSI1)
                .scan_index_forward(!descending)
                .limit(i32::try_from(missing).unwrap_or(i32::MAX))
                .key_condition_expression(&condition)
                .expression_attribute_values(":list", s(&self.list_pk))
                .set_exclusive_start_key(exclusive_start);
            if let Start::Bound(_, key) = start {
                query = query.expression_attribute_values(":key", s(key));
            }
            if let Some(floor) = floor {
                query = query.expression_attribute_values(":floor", s(floor));
            }
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
            .into_iter()
            .skip(usize::try_from(skip).unwrap_or(usize::MAX))
            .take(take)
            .collect())
    }

    /// `take` entries from offset `offset` in `order`, and the total the root counts. Reads at most the 4 nodes of one path, the entries of the
    /// millisecond the page starts in that come before it, and the page: the same whatever the
    /// offset or the list's length, and a page past the end costs the root alone.
    pub async fn page(
        &self,
        state: &State,
        offset: u64,
        take: usize,
        order: Order<'_>,
    ) -> Result<(u64, Vec<Item>, Stats), ApiError> {
        let mut stats = Stats::default();
        if offset == 0 {
            // The head needs no position: read it beside the root.
            let (mut root_stats, mut page_stats) = (Stats::default(), Stats::default());
            let (root, items) = tokio::join!(
                self.read_node(state, "", &mut root_stats),
                self.query(state, &Start::Head, order, 0, take, &mut page_stats),
            );
            stats += root_stats;
            stats += page_stats;
            return Ok((total(&root?), items?, stats));
        }
        let root = self.read_node(state, "", &mut stats).await?;
        let total = total(&root);
        let items = match self
            .locate(state, root, offset, order.descending, &mut stats)
            .await?
        {
            None => Vec::new(),
            Some((start, skip)) => {
                self.query(state, &start, order, skip, take, &mut stats)
                    .await?
            }
        };
        Ok((total, items, stats))
    }
}

/// How many entries the root counts.
pub fn total(root: &[(String, u64)]) -> u64 {
    root.iter().map(|(_, count)| count).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

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
        // An entry at `ms` sorts inside [time_start(ms), time_start(ms + 1)).
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
    fn changes_merge_per_node_and_cancel_out() {
        // Two entries in the same millisecond share all four nodes; a move within one second
        // touches the leaf only; a change and its reversal touch nothing.
        let same = merged(&[(1_764_100_123_456, 1), (1_764_100_123_456, 1)]);
        assert_eq!(same.len(), 4);
        assert_eq!(same["1764100123"]["456"], 2);
        let moved = merged(&[(1_764_100_123_456, -1), (1_764_100_123_999, 1)]);
        assert_eq!(moved.len(), 1);
        assert_eq!(moved["1764100123"].len(), 2);
        assert!(merged(&[(5, 1), (5, -1)]).is_empty());
        assert_eq!(
            Tree::of("k", "BANS"),
            Tree {
                counts_pk: "APP#k#COUNTS#BANS".into(),
                list_pk: "APP#k#BANS".into()
            }
        );
    }
}
