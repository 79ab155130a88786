//! Per-app limits per second of the Server API, held across every container, at (almost) no cost
//! per call: a container leases slices of the shared count and admits from memory.
//!
//! - **The count.** One counter item per app, operation and block of [`BLOCK_SECONDS`] seconds
//!   (`RATE#<app>#<function>#<block>`), one number per second in it. A container reserves units
//!   in it with one conditional `UpdateItem` that adds to one or more seconds only where each
//!   stays within the limit, so a second's count never passes the limit, whichever containers
//!   add to it. Every admitted call uses a unit reserved this way: **no second admits more than
//!   its limit** (in the containers' clocks, which Lambda keeps within milliseconds).
//! - **Leases.** The reserved units are the container's lease ([`crate::rate_lease::Lease`]); calls are
//!   admitted from it with no request. A lease is sized to the container's rate in the second
//!   before, with a tenth to spare; at a low rate it also reserves the next seconds, about 40
//!   calls in all, so at 10 calls/s a container sends one request per 40 calls.
//! - **Near the limit** a reservation is at most half of the room left (and never more than a
//!   quarter of the limit), so slices shrink to one call as the second fills. What is reserved
//!   but not used is lost with its second: the limit is never exceeded, and the cost is
//!   admitting less. At worst each container holds one unused slice per second: with `C`
//!   containers and slices of at most `S` units the limit admits at least `limit - C × S` while
//!   offered more (S falls to 1 as the room runs out; `BENCHMARKS.md` has the load run).
//! - **Refusals.** A call the lease cannot serve sends one request, alone, before anything else;
//!   if the counter lacks room for it, the call is refused (429/1008) and the container
//!   remembers the count, so later calls of that second are refused with no request at all. A
//!   refused call has written nothing but that request, which adds nothing: the very same
//!   request may be sent again. (When a first ask that also reserved later seconds fails on one
//!   of them, a second ask for the current second alone follows: two requests, in a race.)
//! - **Big calls.** A call counts its units (the users of a soft delete or restore); one that
//!   counts more than the limit counts as the whole limit, so it waits for an empty second and
//!   is never refused for good.
//! - A change of the limit applies to new reservations; units already leased stay usable (they
//!   reach at most 20 seconds ahead).
//! - **"off"** and 0 (unlimited) send nothing.

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};

use crate::apps::App;
use crate::db::{Item, n};
use crate::error::ApiError;
pub use crate::rate_lease::BLOCK_SECONDS;
use crate::state::State;
use crate::table;

use crate::rate_lease::{Ask, Decision, Reach};

/// How long a counter item is kept after its block (TTL).
const COUNTER_KEPT_SECONDS: i64 = 60;

/// Counts a call of the operation `name` (served at `paths`, canonical first) against its app's
/// limit for the second of `now_ms`: `Ok` when admitted, 429/1008 when the limit is reached,
/// 504/1050 when DynamoDB fails.
pub async fn admit(
    state: &State,
    app: &App,
    name: &'static str,
    paths: &[&str],
    units: u32,
    now_ms: i64,
) -> Result<(), ApiError> {
    let Some(limit) = app.settings.rate_limits.limit_for(paths) else {
        return Ok(());
    };
    let lease = state.rate_leases.of(&app.app_key, name, now_ms);
    let mut lease = lease.lock().await;
    for reach in [Reach::Ahead, Reach::CurrentSecond] {
        let ask = match lease.decide(now_ms, units, limit, reach) {
            Decision::Admitted => return Ok(()),
            Decision::Refused => break,
            Decision::Ask(ask) => ask,
        };
        let pk = table::rate_pk(&app.app_key, name, ask.block);
        match reserve(state, pk, &ask, limit).await {
            Ok(Reserved::Granted(counts)) => {
                lease.granted(&ask, &counts);
                return Ok(());
            }
            Ok(Reserved::Short(counts)) => lease.refused(&ask, &counts),
            Err(err) => {
                lease.refused(&ask, &[]);
                return Err(err);
            }
        }
    }
    crate::metrics::rate_limited(name, &app.app_key);
    let path = paths.first().copied().unwrap_or(name);
    Err(ApiError::TooManyRequests(format!(
        "{path} allows {limit} per second for this app"
    )))
}

/// What the counter answered an ask, with its seconds' counts (by offset in the block).
enum Reserved {
    Granted(Vec<(usize, u32)>),
    /// Some second lacked room: nothing was added.
    Short(Vec<(usize, u32)>),
}

/// The attribute of the second at `offset` of a counter item.
fn second_attribute(offset: usize) -> String {
    format!("s{offset}")
}

/// Adds the ask's reservations to its counter, each only if its second stays within `limit`.
async fn reserve(state: &State, pk: String, ask: &Ask, limit: u32) -> Result<Reserved, ApiError> {
    let mut adds = Vec::new();
    let mut conditions = Vec::new();
    let mut request = crate::db::update_item(state)
        .set_key(Some(crate::db::key(pk, table::SK_RATE)))
        .expression_attribute_names("#ttl", table::TTL)
        .expression_attribute_values(
            ":ttl",
            n((ask.block + 1) * BLOCK_SECONDS as i64 + COUNTER_KEPT_SECONDS),
        )
        .return_values(ReturnValue::UpdatedNew)
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
    for reserve in &ask.reserves {
        let i = reserve.offset;
        adds.push(format!("#s{i} :a{i}"));
        conditions.push(format!("(attribute_not_exists(#s{i}) OR #s{i} <= :r{i})"));
        request = request
            .expression_attribute_names(format!("#s{i}"), second_attribute(i))
            .expression_attribute_values(format!(":a{i}"), n(reserve.units))
            .expression_attribute_values(format!(":r{i}"), n(limit - reserve.units));
    }
    let sent = request
        .update_expression(format!("ADD {} SET #ttl = :ttl", adds.join(", ")))
        .condition_expression(conditions.join(" AND "))
        .send()
        .await;
    match sent {
        Ok(out) => Ok(Reserved::Granted(counts(out.attributes.as_ref()))),
        Err(err) => match err.as_service_error() {
            Some(UpdateItemError::ConditionalCheckFailedException(failed)) => {
                Ok(Reserved::Short(counts(failed.item())))
            }
            _ => Err(err.into()),
        },
    }
}

/// The seconds' counts of a counter item (or of the attributes an update returned).
fn counts(item: Option<&Item>) -> Vec<(usize, u32)> {
    (0..BLOCK_SECONDS)
        .filter_map(|offset| {
            let count = item?.get(&second_attribute(offset))?.as_n().ok()?;
            Some((offset, count.parse().ok()?))
        })
        .collect()
}
