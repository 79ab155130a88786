//! How many users an app has registered. A capped app (`App::user_cap`) counts on its own item
//! (`APP#<key>`, `userCount`), inside the registration transaction whose condition enforces the
//! cap exactly. An uncapped app (production on a paid plan) counts on [`SHARDS`] counter items in
//! partitions of their own (`APP#<key>#USERS#<n>`, `userCount`), one chosen at random per
//! registration, so concurrent registrations do not all write one item. The console shows the
//! sum; when an app becomes capped, the shards are folded into the app item (`fold`), so the cap
//! counts every user.

use aws_sdk_dynamodb::types::{TransactWriteItem, Update};

use crate::app::{App, Environment, FREE_USER_CAP, Plan};
use crate::db::{self, Item, n};
use crate::error::ApiError;
use crate::state::State;
use crate::table;

/// Counter items of an uncapped app.
pub const SHARDS: u32 = 16;
/// The count attribute, on the app item and on each shard.
pub const USER_COUNT: &str = "userCount";
const SK_COUNT: &str = "COUNT";

fn shard_key(app_key: &str, shard: u32) -> Item {
    db::key(
        format!("{}#USERS#{shard:x}", table::app_pk(app_key)),
        SK_COUNT,
    )
}

fn shard_keys(app_key: &str) -> Vec<Item> {
    (0..SHARDS).map(|shard| shard_key(app_key, shard)).collect()
}

/// The registration transaction's count of a new user. An uncapped app (as stored at the start
/// of the request) counts on a random shard: no single hot item. A capped one takes a slot on
/// the app item, where the cap is exact; the condition reads the app record itself, so an
/// upgrade made since the request started applies at once. Cancelled: the cap is reached.
pub fn count_registration(state: &State, app: &App) -> Result<TransactWriteItem, ApiError> {
    if app.user_cap().is_none() {
        return count_uncapped(state, &app.app_key);
    }
    let take_slot = Update::builder()
        .table_name(&state.table)
        .set_key(Some(app_item_key(&app.app_key)))
        .update_expression("SET #count = if_not_exists(#count, :zero) + :one")
        .condition_expression(
            "attribute_exists(PK) AND (attribute_not_exists(#count) OR #count < :cap \
             OR (#environment = :production AND #plan IN (:starter, :pro)))",
        )
        .expression_attribute_names("#count", USER_COUNT)
        .expression_attribute_names("#environment", "environment")
        .expression_attribute_names("#plan", "plan")
        .expression_attribute_values(":zero", n(0))
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":cap", n(FREE_USER_CAP))
        .expression_attribute_values(":production", db::value(Environment::Production)?)
        .expression_attribute_values(":starter", db::value(Plan::Starter)?)
        .expression_attribute_values(":pro", db::value(Plan::Pro)?)
        .build()?;
    Ok(TransactWriteItem::builder().update(take_slot).build())
}

/// Frees the slot of a removed user of a capped (development) app, never below zero.
pub fn free_slot(state: &State, app_key: &str) -> Result<Update, ApiError> {
    Ok(Update::builder()
        .table_name(&state.table)
        .set_key(Some(app_item_key(app_key)))
        .update_expression("SET #count = #count - :one")
        .condition_expression("#count > :zero")
        .expression_attribute_names("#count", USER_COUNT)
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":zero", n(0))
        .build()?)
}

fn app_item_key(app_key: &str) -> Item {
    db::key(table::app_pk(app_key), table::SK_APP)
}

/// An uncapped app's count: one random shard, no condition.
fn count_uncapped(state: &State, app_key: &str) -> Result<TransactWriteItem, ApiError> {
    let shard = (uuid::Uuid::new_v4().as_u128() % u128::from(SHARDS)) as u32;
    let update = Update::builder()
        .table_name(&state.table)
        .set_key(Some(shard_key(app_key, shard)))
        .update_expression("ADD #count :one")
        .expression_attribute_names("#count", USER_COUNT)
        .expression_attribute_values(":one", n(1))
        .build()?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// `(shard key, count)` of every non-empty shard, read strongly consistently.
async fn shards(state: &State, app_key: &str) -> Result<Vec<(Item, i64)>, ApiError> {
    Ok(db::get_all(state, shard_keys(app_key))
        .await?
        .into_iter()
        .filter_map(|item| {
            let count = db::number(&item, USER_COUNT).filter(|c| *c != 0)?;
            Some((db::key_of(&item)?, count))
        })
        .collect())
}

/// Every user the app registered: its own count plus its shards'.
pub async fn total(state: &State, app: &App) -> Result<u64, ApiError> {
    let sharded: i64 = shards(state, &app.app_key)
        .await?
        .iter()
        .map(|(_, c)| c)
        .sum();
    Ok(app.user_count.saturating_add_signed(sharded))
}

/// Moves the shards' counts onto the app item, in one transaction conditioned on the counts
/// read, so a registration counted meanwhile makes it read again. For an app that just became
/// capped: from then on its cap counts every user. Returns how many users it moved.
pub async fn fold(state: &State, app_key: &str) -> Result<u64, ApiError> {
    db::retry(|| async {
        let shards = shards(state, app_key).await?;
        if shards.is_empty() {
            return Ok(Some(0));
        }
        let sum: i64 = shards.iter().map(|(_, c)| c).sum();
        let mut items = Vec::with_capacity(shards.len() + 1);
        for (key, count) in shards {
            let reset = Update::builder()
                .table_name(&state.table)
                .set_key(Some(key))
                .update_expression("ADD #count :minus")
                .condition_expression("#count = :seen")
                .expression_attribute_names("#count", USER_COUNT)
                .expression_attribute_values(":minus", n(-count))
                .expression_attribute_values(":seen", n(count))
                .build()?;
            items.push(TransactWriteItem::builder().update(reset).build());
        }
        let add = Update::builder()
            .table_name(&state.table)
            .set_key(Some(app_item_key(app_key)))
            .update_expression("ADD #count :sum")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_names("#count", USER_COUNT)
            .expression_attribute_values(":sum", n(sum))
            .build()?;
        items.push(TransactWriteItem::builder().update(add).build());
        let moved = u64::try_from(sum).unwrap_or(0);
        Ok(db::transact(state, items).await?.is_none().then_some(moved))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_partitions_of_their_own() {
        let keys = shard_keys("k");
        assert_eq!(keys.len(), SHARDS as usize);
        let partitions: std::collections::HashSet<_> = keys
            .iter()
            .map(|k| db::text(k, table::PK).unwrap().to_owned())
            .collect();
        assert_eq!(partitions.len(), SHARDS as usize);
        assert!(partitions.iter().all(|pk| pk.starts_with("APP#k#USERS#")));
        assert!(!partitions.contains(&table::app_pk("k")));
    }
}
