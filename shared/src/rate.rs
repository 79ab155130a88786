//! Per-app limits per second of the Server API, held across every container: each admitted call
//! adds its units (1, or the users of a soft delete or restore) to a counter item of its app,
//! operation and second, with one conditional `UpdateItem` that refuses once the counter is full.
//! Over the limit the call answers 429/1008 before it changes anything.
//!
//! - **No round trip of its own.** The update is sent beside the request's first DynamoDB
//!   request (`crate::http`): beside the app check and the nonce of a change, beside the
//!   operation itself for a read (which changes nothing, so a refused read has done no harm).
//! - **Windows** are whole seconds of the containers' clocks (Lambda's are synchronised to
//!   milliseconds), so every container counts into the same items. A counter is kept one minute
//!   by its TTL.
//! - **Hot keys.** DynamoDB serves about 1,000 writes per second on one partition, and a refused
//!   update costs a write too. A limit over [`SHARD_CAPACITY`] is split into ⌈limit / 200⌉ equal
//!   shares, each its own partition; a call counts into a random share, and into one other share
//!   when its share is full (only then: a second request on the refusal path), so a full share
//!   does not refuse while others have room. Together the shares admit the limit, rounded up to
//!   a multiple of the share count (under 1 % over).
//! - **Big calls.** A call that counts more units than a share holds is admitted only into an
//!   empty share, and fills it: a limit below a call's size slows such calls, it never blocks
//!   them for good.
//! - **"off"** and 0 (unlimited) send nothing.

use crate::apps::App;
use crate::db::n;
use crate::error::ApiError;
use crate::state::State;
use crate::table;

/// The most a share of a limit admits per second: a fifth of a partition's write throughput,
/// leaving room for the writes of refused calls.
pub const SHARD_CAPACITY: u32 = 200;
/// How long a counter is kept after its second (TTL).
const COUNTER_KEPT_SECONDS: i64 = 60;

/// How one second of a limit is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Counter items the limit is split into.
    pub shards: u32,
    /// Units each of them admits.
    pub per_shard: u32,
    /// Units this call adds (at most a share's).
    pub units: u32,
}

impl Window {
    pub fn of(limit: u32, units: u32) -> Self {
        let shards = limit.div_ceil(SHARD_CAPACITY).max(1);
        let per_shard = limit.div_ceil(shards).max(1);
        Self {
            shards,
            per_shard,
            units: units.clamp(1, per_shard),
        }
    }
}

/// Counts a call of the operation `name` (served at `paths`, canonical first) against its app's
/// limit for the second of `now_ms`: `Ok` when admitted, 429/1008 when the limit is reached,
/// 504/1050 when DynamoDB fails.
pub async fn admit(
    state: &State,
    app: &App,
    name: &str,
    paths: &[&str],
    units: u32,
    now_ms: i64,
) -> Result<(), ApiError> {
    let Some(limit) = app.settings.rate_limits.limit_for(paths) else {
        return Ok(());
    };
    let window = Window::of(limit, units);
    let second = now_ms.div_euclid(1000);
    let counter = |shard| table::rate_pk(&app.app_key, name, second, shard);
    let first = random_below(window.shards);
    if take(state, counter(first), window, second).await? {
        return Ok(());
    }
    if window.shards > 1 {
        let other = (first + 1 + random_below(window.shards - 1)) % window.shards;
        if take(state, counter(other), window, second).await? {
            return Ok(());
        }
    }
    crate::metrics::rate_limited(name, &app.app_key);
    let path = paths.first().copied().unwrap_or(name);
    Err(ApiError::TooManyRequests(format!(
        "{path} allows {limit} per second for this app"
    )))
}

/// Adds the call's units to one counter unless that leaves it over its share: whether it did.
async fn take(state: &State, pk: String, window: Window, second: i64) -> Result<bool, ApiError> {
    let sent = crate::db::update_item(state)
        .set_key(Some(crate::db::key(pk, table::SK_RATE)))
        .update_expression("ADD #count :units SET #ttl = :ttl")
        .condition_expression("attribute_not_exists(#count) OR #count <= :room")
        .expression_attribute_names("#count", "count")
        .expression_attribute_names("#ttl", table::TTL)
        .expression_attribute_values(":units", n(window.units))
        .expression_attribute_values(":room", n(window.per_shard - window.units))
        .expression_attribute_values(":ttl", n(second + COUNTER_KEPT_SECONDS))
        .send()
        .await;
    match sent {
        Ok(_) => Ok(true),
        Err(err) if crate::db::condition_failed(&err) => Ok(false),
        Err(err) => Err(err.into()),
    }
}

fn random_below(bound: u32) -> u32 {
    (uuid::Uuid::new_v4().as_u128() % u128::from(bound.max(1))) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_split_into_shares_of_at_most_200_that_add_up_to_the_limit() {
        assert_eq!(
            Window::of(10, 1),
            Window {
                shards: 1,
                per_shard: 10,
                units: 1
            }
        );
        assert_eq!(Window::of(200, 1).shards, 1);
        let thousand = Window::of(1000, 1);
        assert_eq!((thousand.shards, thousand.per_shard), (5, 200));
        for limit in [1, 7, 199, 200, 201, 999, 1000, 1001, 12_345, 100_000] {
            let window = Window::of(limit, 1);
            let admitted = window.shards * window.per_shard;
            assert!(window.per_shard <= SHARD_CAPACITY, "{limit}");
            assert!(admitted >= limit, "{limit}: {admitted}");
            assert!(
                f64::from(admitted) <= f64::from(limit) * 1.01,
                "{limit}: {admitted}"
            );
        }
    }

    #[test]
    fn a_call_counts_its_units_up_to_a_whole_share() {
        assert_eq!(Window::of(100, 30).units, 30);
        assert_eq!(Window::of(100, 0).units, 1);
        assert_eq!(Window::of(10, 100).units, 10, "fills an empty share");
    }

    #[test]
    fn random_shares_stay_in_range_and_reach_every_share() {
        let seen: std::collections::HashSet<u32> = (0..500).map(|_| random_below(5)).collect();
        assert_eq!(seen, (0..5).collect());
        assert_eq!(random_below(1), 0);
    }
}
