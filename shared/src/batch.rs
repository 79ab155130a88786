//! Batches of conditional writes in `TransactWriteItems`, with the count-tree updates they carry.
//!
//! An [`Entry`] is what must be written together for one user (say, a check that the user is
//! active and the user's mute item) and the count changes it makes to a counted list. Entries are
//! packed into transactions of at most 100 actions, the count updates of each transaction merged
//! per tree node (a transaction may name an item once). A transaction cancelled by failed
//! conditions names the refused entries; with [`Mode::EachEntry`] it is sent again without them,
//! so every other entry is written. Transactions go out concurrently, except those of a counted
//! list: they would all update the same tree nodes and conflict, so they go one after another. Conflicts and throttling are retried with backoff
//! (504/1050 after [`db::ATTEMPTS`]).

use aws_sdk_dynamodb::types::TransactWriteItem;
use futures::{StreamExt, TryStreamExt};

use crate::count_tree::{Tree, merged};
use crate::db::{self, Cancellation, Cancelled, Item};
use crate::error::ApiError;
use crate::state::State;

/// Actions in one `TransactWriteItems`.
pub const MAX_ACTIONS: usize = crate::db::MAX_TRANSACTION_ITEMS;

/// What one entry writes, all or nothing.
#[derive(Debug, Clone, Default)]
pub struct Entry {
    pub actions: Vec<TransactWriteItem>,
    /// `(time ms, delta)` changes to the batch's count tree.
    pub counts: Vec<(i64, i64)>,
}

/// An entry whose condition failed: the entry (its index in the batch), the action that failed,
/// and the item as it was if that action asked for it (`ReturnValuesOnConditionCheckFailure`).
#[derive(Debug, Clone, PartialEq)]
pub struct Refused {
    pub entry: usize,
    pub action: usize,
    pub old: Option<Item>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Every entry in one transaction: one refusal and nothing is written. A batch that does not
    /// fit one transaction is an error.
    AllOrNothing,
    /// Transactions sent concurrently; one cancelled by failed conditions is sent again without
    /// its refused entries.
    EachEntry,
}

/// Writes the entries; answers the refused ones, in entry order. With [`Mode::EachEntry`] the
/// others are all written; transactions already written stay written if another fails.
pub async fn write(
    state: &State,
    tree: Option<&Tree>,
    entries: Vec<Entry>,
    mode: Mode,
) -> Result<Vec<Refused>, ApiError> {
    let chunks = pack(&entries);
    if mode == Mode::AllOrNothing && chunks.len() > 1 {
        return Err(ApiError::Internal(format!(
            "{} entries do not fit one transaction",
            entries.len()
        )));
    }
    let entries = &entries;
    let sent = futures::stream::iter(chunks)
        .map(|chunk| write_chunk(state, tree, entries, chunk, mode))
        // Transactions that update the same tree nodes would only conflict with each other.
        .buffer_unordered(if tree.is_some() { 1 } else { usize::MAX });
    let mut refused: Vec<Refused> = sent
        .try_collect::<Vec<_>>()
        .await?
        .into_iter()
        .flatten()
        .collect();
    refused.sort_by_key(|r| r.entry);
    Ok(refused)
}

/// The actions a set of entries takes in one transaction, count updates included.
fn actions(entries: &[Entry], chunk: &[usize]) -> usize {
    let counts: Vec<(i64, i64)> = chunk
        .iter()
        .flat_map(|&i| entries[i].counts.iter().copied())
        .collect();
    chunk
        .iter()
        .map(|&i| entries[i].actions.len())
        .sum::<usize>()
        + merged(&counts).len()
}

/// Packs entries, in order, into transactions of at most [`MAX_ACTIONS`] actions.
fn pack(entries: &[Entry]) -> Vec<Vec<usize>> {
    let mut chunks: Vec<Vec<usize>> = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    for index in 0..entries.len() {
        current.push(index);
        if current.len() > 1 && actions(entries, &current) > MAX_ACTIONS {
            current.pop();
            chunks.push(std::mem::replace(&mut current, vec![index]));
        }
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    chunks
}

async fn write_chunk(
    state: &State,
    tree: Option<&Tree>,
    entries: &[Entry],
    mut pending: Vec<usize>,
    mode: Mode,
) -> Result<Vec<Refused>, ApiError> {
    let mut refused = Vec::new();
    let mut transient = 0;
    while !pending.is_empty() {
        let mut items: Vec<TransactWriteItem> = Vec::new();
        let mut counts = Vec::new();
        for &i in &pending {
            items.extend(entries[i].actions.iter().cloned());
            counts.extend(entries[i].counts.iter().copied());
        }
        if let Some(tree) = tree {
            items.extend(tree.updates(state, &counts)?);
        }
        match db::transact_once(state, items).await? {
            None => break,
            Some(Cancellation::Failed(cancelled)) => {
                let now_refused = refusals(entries, &pending, &cancelled)?;
                if mode == Mode::AllOrNothing {
                    return Ok(now_refused);
                }
                pending.retain(|i| !now_refused.iter().any(|r| r.entry == *i));
                refused.extend(now_refused);
            }
            Some(Cancellation::Transient) => {
                transient += 1;
                if transient >= db::ATTEMPTS {
                    return Err(ApiError::Busy);
                }
                tokio::time::sleep(db::backoff(transient)).await;
            }
            Some(Cancellation::Other(codes)) => {
                return Err(ApiError::Internal(format!(
                    "batch write cancelled: {codes}"
                )));
            }
        }
    }
    Ok(refused)
}

/// Which entries of a transaction laid out as `pending`'s actions in order (then the count
/// updates, which carry no condition) failed their conditions.
fn refusals(
    entries: &[Entry],
    pending: &[usize],
    cancelled: &Cancelled,
) -> Result<Vec<Refused>, ApiError> {
    let mut refused = Vec::new();
    let mut index = 0;
    for &entry in pending {
        for action in 0..entries[entry].actions.len() {
            if cancelled.failed(index) {
                refused.push(Refused {
                    entry,
                    action,
                    old: cancelled.old_item(index).cloned(),
                });
            }
            index += 1;
        }
    }
    if refused.is_empty() {
        // Only count updates left: they carry no condition, so this is a bug.
        return Err(cancelled.unexpected("batch write"));
    }
    Ok(refused)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::s;
    use aws_sdk_dynamodb::types::{CancellationReason, ConditionCheck};

    fn check() -> TransactWriteItem {
        let check = ConditionCheck::builder()
            .table_name("t")
            .key("PK", s("p"))
            .key("SK", s("s"))
            .condition_expression("attribute_exists(PK)")
            .build()
            .unwrap();
        TransactWriteItem::builder().condition_check(check).build()
    }

    fn entry(actions: usize, counts: &[(i64, i64)]) -> Entry {
        Entry {
            actions: (0..actions).map(|_| check()).collect(),
            counts: counts.to_vec(),
        }
    }

    #[test]
    fn entries_pack_into_transactions_of_at_most_100_actions() {
        // Pairs without counts: 50 a transaction.
        let pairs: Vec<Entry> = (0..120).map(|_| entry(2, &[])).collect();
        let sizes: Vec<usize> = pack(&pairs).iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![50, 50, 20]);
        // Pairs counted in one millisecond: the 4 nodes of its path leave room for 48.
        let counted: Vec<Entry> = (0..100).map(|_| entry(2, &[(1_000, 1)])).collect();
        let chunks = pack(&counted);
        assert_eq!(chunks[0].len(), 48);
        assert!(chunks.iter().all(|c| actions(&counted, c) <= MAX_ACTIONS));
        // Counted in distinct seconds: each adds a leaf node to the 3 nodes they share.
        let spread: Vec<Entry> = (0..60)
            .map(|i| entry(1, &[(1_764_000_000_000 + i * 1_000, -1)]))
            .collect();
        let chunks = pack(&spread);
        assert!(chunks.iter().all(|c| actions(&spread, c) <= MAX_ACTIONS));
        assert_eq!(chunks.iter().map(Vec::len).sum::<usize>(), 60);
        assert_eq!(
            chunks[0].len(),
            48,
            "3 shared nodes + 48 × (1 action + 1 leaf)"
        );
    }

    #[test]
    fn refusals_name_the_entry_and_action_that_failed() {
        let reason = |code: &str| CancellationReason::builder().code(code).build();
        let soft_deleted = CancellationReason::builder()
            .code("ConditionalCheckFailed")
            .item("state", s("soft-deleted"))
            .build();
        let entries: Vec<Entry> = (0..3).map(|_| entry(2, &[(7, 1)])).collect();
        // [entry 0: 2 actions, entry 1, entry 2, then the counts' 4 nodes]
        let reasons = [
            reason("None"),
            reason("None"),
            reason("ConditionalCheckFailed"),
            reason("None"),
            reason("None"),
            soft_deleted,
            reason("None"),
        ];
        let Cancellation::Failed(cancelled) = db::cancellation(&reasons) else {
            panic!("conditions failed")
        };
        let refused = refusals(&entries, &[0, 1, 2], &cancelled).unwrap();
        assert_eq!(
            refused
                .iter()
                .map(|r| (r.entry, r.action))
                .collect::<Vec<_>>(),
            vec![(1, 0), (2, 1)]
        );
        assert_eq!(refused[0].old, None);
        assert_eq!(refused[1].old.as_ref().unwrap()["state"], s("soft-deleted"));
        // The layout follows the entries still pending.
        let refused = refusals(&entries, &[1, 2], &cancelled).unwrap();
        assert_eq!(refused[0].entry, 2);
        // A failed count update is a bug, not a refusal.
        let counts_only = [
            reason("None"),
            reason("None"),
            reason("ConditionalCheckFailed"),
        ];
        let Cancellation::Failed(cancelled) = db::cancellation(&counts_only) else {
            panic!("conditions failed")
        };
        assert!(refusals(&entries, &[0], &cancelled).is_err());
    }
}
