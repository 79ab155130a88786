//! What a purge removes: the user's own partition page by page, and what refers to the user
//! from other partitions (mirrored edges, requests, counters).

use super::*;

/// How much of what refers to a user from other partitions a purge removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Others {
    /// A soft delete: other users' blocklist entries naming the user are the blockers' data
    /// and stay (a restored user is still blocked by whoever blocked them).
    KeepTheirBlocks,
    /// A test user removed for good (its ID may be registered again): nothing stays.
    RemoveAll,
}

/// How far one run of [`purge_user_data`] got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Purged {
    /// Items deleted (the user's own and their mirrors elsewhere).
    pub removed: usize,
    /// Everything is gone (only the USER item is left); otherwise the deadline stopped it.
    pub finished: bool,
}

/// What an item of the user's own partition says lives in another partition.
enum Mirror {
    /// The friend's edge back to the user, counted in the friend's `FRIEND_COUNT`.
    FriendEdge(Key),
    /// A plain item: a request the user sent (in the target's partition), the mirror of a request
    /// the user received (in the requester's), a connection's lookup.
    Plain(Key),
}

/// The item elsewhere that an item of `user_id`'s own partition (by its sort key) mirrors.
fn mirror_of(app_key: &str, user_id: &str, sk: &str) -> Option<Mirror> {
    let key = |pk: String, sk: String| db::key(pk, sk);
    if let Some(friend) = sk.strip_prefix(table::SK_FRIEND_PREFIX) {
        return Some(Mirror::FriendEdge(key(
            table::user_pk(app_key, friend),
            table::friend_sk(user_id),
        )));
    }
    if let Some(target) = sk.strip_prefix(table::SK_REQUEST_SENT_PREFIX) {
        return Some(Mirror::Plain(key(
            table::user_pk(app_key, target),
            table::friend_request_sk(user_id),
        )));
    }
    if let Some(requester) = sk.strip_prefix(table::SK_FRIEND_REQUEST_PREFIX) {
        return Some(Mirror::Plain(key(
            table::user_pk(app_key, requester),
            table::request_sent_sk(user_id),
        )));
    }
    if let Some(connection) = sk.strip_prefix(table::SK_CONN_PREFIX) {
        return Some(Mirror::Plain(key(
            crate::connections::lookup_pk(connection),
            crate::connections::SK_LOOKUP.to_owned(),
        )));
    }
    None
}

/// Deletes everything in the user's partition but the USER item itself, and what other
/// partitions hold about the user: the friends' edges back (decrementing their counters), the
/// requests the user sent and the mirrors of those it received, its connections' lookups. All of
/// it is found from the user's own partition, read strongly consistently (each cross-partition
/// item has its mirror there, written in the same transaction), never from an eventually
/// consistent index. Other users' blocks of the user stay, except with [`Others::RemoveAll`]
/// (test-user removal), which also deletes those, found through the `EDGES` index.
///
/// Page by page: a page's items elsewhere go first, then the page's own items, so a purge cut
/// short (by `deadline`, a timeout or a failure) finds the rest again when it runs again. No
/// page starts once `deadline` says so, the first included (then nothing is done at all).
pub async fn purge_user_data(
    state: &State,
    app_key: &str,
    user_id: &str,
    others: Others,
    deadline: Deadline,
) -> Result<Purged, ApiError> {
    let out_of_time = |removed| Purged {
        removed,
        finished: false,
    };
    if !deadline.may_start_page() {
        return Ok(out_of_time(0));
    }
    // The hosted profile leaves the profile list's counts too, not only the table.
    let mut removed = usize::from(crate::profiles::remove(state, app_key, user_id).await?);
    // So do the ban and the mute, from their lists' counts.
    crate::moderation::forget(state, app_key, user_id).await?;
    let pk = table::user_pk(app_key, user_id);
    let mut start = None;
    loop {
        let out = crate::db::query(state)
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(":pk", s(&pk))
            .projection_expression("PK, SK")
            .consistent_read(true)
            .limit(PURGE_PAGE)
            .set_exclusive_start_key(start)
            .send()
            .await?;
        let own: Vec<Key> = out
            .items
            .unwrap_or_default()
            .iter()
            .filter(|item| {
                item.get(table::SK)
                    .and_then(|v| v.as_s().ok())
                    .map(String::as_str)
                    != Some(table::SK_USER)
            })
            .filter_map(db::key_of)
            .collect();
        removed += purge_page(state, app_key, user_id, own).await?;
        start = out.last_evaluated_key;
        if start.is_none() {
            break;
        }
        if !deadline.may_start_page() {
            return Ok(out_of_time(removed));
        }
    }
    if others == Others::RemoveAll {
        removed += remove_blocks_of(state, &pk).await?;
    }
    Ok(Purged {
        removed,
        finished: true,
    })
}

/// Deletes a page of the user's own items after what they mirror elsewhere; answers how many
/// items went.
async fn purge_page(
    state: &State,
    app_key: &str,
    user_id: &str,
    own: Vec<Key>,
) -> Result<usize, ApiError> {
    let mut friend_edges = Vec::new();
    let mut plain = Vec::new();
    for key in &own {
        let sk = key.get(table::SK).and_then(|v| v.as_s().ok());
        match sk.and_then(|sk| mirror_of(app_key, user_id, sk)) {
            Some(Mirror::FriendEdge(edge)) => friend_edges.push(edge),
            Some(Mirror::Plain(item)) => plain.push(item),
            None => {}
        }
    }
    let removed = own.len() + friend_edges.len() + plain.len();
    delete_all(state, plain).await?;
    futures::stream::iter(friend_edges)
        .map(|key| delete_counted_edge(state, key, table::SK_FRIEND_COUNT))
        .buffer_unordered(PURGE_CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
    delete_all(state, own).await?;
    Ok(removed)
}

/// Other users' blocks of `user_pk` (test-user removal only), through the `EDGES` index: a block
/// has no mirror in the blocked user's partition, so this is the one eventually consistent read
/// of a purge; the index is read until it is empty.
async fn remove_blocks_of(state: &State, user_pk: &str) -> Result<usize, ApiError> {
    let mut removed = 0;
    for attempt in 0..50 {
        if attempt > 0 {
            tokio::time::sleep(crate::db::backoff(attempt)).await;
        }
        let out = crate::db::query(state)
            .index_name(table::EDGES)
            .key_condition_expression("#edge = :pk")
            .filter_expression("begins_with(SK, :block)")
            .expression_attribute_names("#edge", table::EDGE_TO)
            .expression_attribute_values(":pk", s(user_pk))
            .expression_attribute_values(":block", s(table::SK_BLOCK_PREFIX))
            .send()
            .await?;
        let blocks = out.items.unwrap_or_default();
        if blocks.is_empty() && out.last_evaluated_key.is_none() {
            return Ok(removed);
        }
        for block in &blocks {
            if let (Some(key), Some(counter)) =
                (db::key_of(block), db::text(block, crate::edges::COUNTED_IN))
            {
                delete_counted_edge(state, key, counter).await?;
                removed += 1;
            }
        }
    }
    Err(ApiError::Internal(format!(
        "blocks of {user_pk} keep appearing"
    )))
}

/// Deletes an edge and decrements the counter it is counted in, in one transaction. An edge
/// already gone (removed concurrently, which decremented its counter) is skipped.
async fn delete_counted_edge(state: &State, key: Key, counter_sk: &str) -> Result<(), ApiError> {
    let Some(edge_pk) = key.get(table::PK).cloned() else {
        return Ok(());
    };
    let delete = Delete::builder()
        .table_name(&state.table)
        .set_key(Some(key))
        .condition_expression("attribute_exists(PK)")
        .build()?;
    let decrement = Update::builder()
        .table_name(&state.table)
        .key(table::PK, edge_pk)
        .key(table::SK, s(counter_sk))
        .update_expression("ADD #count :minus")
        .condition_expression("attribute_exists(PK)")
        .expression_attribute_names("#count", crate::edges::COUNT)
        .expression_attribute_values(":minus", n(-1))
        .build()?;
    // Cancelled: the edge went meanwhile, and whoever removed it decremented the counter.
    delete_and_update(state, delete, decrement)
        .await
        .map(|_| ())
}

/// Deletes one item and updates another in one transaction; `Ok(false)` when a condition
/// cancelled it (nothing was written).
async fn delete_and_update(
    state: &State,
    delete: Delete,
    update: Update,
) -> Result<bool, ApiError> {
    // Only failed conditions mean "already gone"; a conflict or throttling is retried with
    // backoff, and what still fails is an error (the stream delivers the record again).
    let items = vec![
        TransactWriteItem::builder().delete(delete).build(),
        TransactWriteItem::builder().update(update).build(),
    ];
    Ok(crate::db::transact(state, items).await?.is_none())
}

/// Deletes the items, 25 per `BatchWriteItem`.
async fn delete_all(state: &State, keys: Vec<Key>) -> Result<(), ApiError> {
    let writes = keys.into_iter().map(db::delete).collect::<Result<_, _>>()?;
    db::write_all(state, writes).await
}
