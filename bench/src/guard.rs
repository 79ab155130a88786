//! `bench guard`: the two ways a single-item write could record its nonce, side by side
//! (issue 14, part 2), as `update-user` writes: (a) a conditional `PutItem` of the nonce sent
//! beside the app's `GetItem`, then the conditional `UpdateItem` of the user; (b) the app's
//! `GetItem`, then one `TransactWriteItems` of the nonce's `Put` and the user's `Update`.
//! Latency of the whole exchange and write units (`ReturnConsumedCapacity`).

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnConsumedCapacity, TransactWriteItem, Update,
};
use shared::table;

use crate::{BoxError, TABLE, ms, percentile};

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

struct Write<'a> {
    client: &'a Client,
    app_key: &'a str,
    user_pk: String,
    nonce: String,
    now_s: i64,
}

impl Write<'_> {
    async fn read_app(&self) -> Result<(), BoxError> {
        self.client
            .get_item()
            .table_name(TABLE)
            .key(table::PK, s(table::app_pk(self.app_key)))
            .key(table::SK, s(table::SK_APP))
            .consistent_read(true)
            .send()
            .await?;
        Ok(())
    }

    /// The nonce's conditional put and the user's conditional update, as `update-user` sends
    /// them; each way below sends these two.
    fn writes(&self) -> Result<(Put, Update), BoxError> {
        let put = Put::builder()
            .table_name(TABLE)
            .item(table::PK, s(table::nonce_pk(self.app_key, &self.nonce)))
            .item(table::SK, s(table::SK_NONCE))
            .item(table::TTL, n(self.now_s + 301))
            .condition_expression("attribute_not_exists(PK) OR #ttl < :now")
            .expression_attribute_names("#ttl", table::TTL)
            .expression_attribute_values(":now", n(self.now_s))
            .build()?;
        let update = Update::builder()
            .table_name(TABLE)
            .key(table::PK, s(&self.user_pk))
            .key(table::SK, s(table::SK_USER))
            .update_expression("SET #name = :name, updatedAt = :now")
            .condition_expression("attribute_exists(PK) AND #state = :active")
            .expression_attribute_names("#name", "name")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":name", s("Bench"))
            .expression_attribute_values(":now", n(self.now_s * 1000))
            .expression_attribute_values(":active", s("active"))
            .build()?;
        Ok((put, update))
    }

    /// (a): returns the write units.
    async fn beside(&self) -> Result<f64, BoxError> {
        let (put, update) = self.writes()?;
        let put = shared::db::standalone_put(self.client, &put)
            .return_consumed_capacity(ReturnConsumedCapacity::Total);
        let (put, app) = tokio::join!(put.send(), self.read_app());
        let (put, _) = (put?, app?);
        let update = self
            .client
            .update_item()
            .table_name(update.table_name())
            .set_key(Some(update.key().clone()))
            .update_expression(update.update_expression())
            .set_condition_expression(update.condition_expression().map(str::to_owned))
            .set_expression_attribute_names(update.expression_attribute_names().cloned())
            .set_expression_attribute_values(update.expression_attribute_values().cloned())
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await?;
        let units = |c: Option<&aws_sdk_dynamodb::types::ConsumedCapacity>| {
            c.and_then(|c| c.capacity_units).unwrap_or(0.0)
        };
        Ok(units(put.consumed_capacity()) + units(update.consumed_capacity()))
    }

    /// (b): returns the write units.
    async fn joined(&self) -> Result<f64, BoxError> {
        self.read_app().await?;
        let (put, update) = self.writes()?;
        let out = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(TransactWriteItem::builder().update(update).build())
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await?;
        Ok(out
            .consumed_capacity()
            .iter()
            .filter_map(|c| c.capacity_units)
            .sum())
    }
}

pub async fn guard(iterations: usize) -> Result<(), BoxError> {
    let (state, _) = crate::state().await?;
    let app = crate::production_app(&state).await?;
    crate::issue(&state, &app, "benchuser").await?;
    let now_s = state.clock.now_ms() / 1000;
    let write = |i: usize, way: &str| Write {
        client: &state.db,
        app_key: &app.app_key,
        user_pk: table::user_pk(&app.app_key, "benchuser"),
        nonce: format!("{way}{i}"),
        now_s,
    };
    let (mut beside, mut joined) = (Vec::new(), Vec::new());
    let (mut beside_units, mut joined_units) = (0.0, 0.0);
    for i in 0..iterations + 200 {
        let started = Instant::now();
        let units_a = write(i, "a").beside().await?;
        let time_a = started.elapsed();
        let started = Instant::now();
        let units_b = write(i, "b").joined().await?;
        let time_b = started.elapsed();
        if i >= 200 {
            beside.push(time_a);
            joined.push(time_b);
            (beside_units, joined_units) = (units_a, units_b);
        }
    }
    beside.sort();
    joined.sort();
    let row = |label: &str, times: &[Duration], units: f64| {
        println!(
            "| {label} | {} | {} | {units} |",
            ms(percentile(times, 0.5)),
            ms(percentile(times, 0.99))
        );
    };
    println!(
        "| single-item write with its nonce | p50 ms | p99 ms | write units (DynamoDB Local's report) |"
    );
    println!("|---|---|---|---|");
    row(
        "nonce `PutItem` beside the app's `GetItem`, then `UpdateItem` (chosen)",
        &beside,
        beside_units,
    );
    row(
        "app's `GetItem`, then `TransactWriteItems` of the nonce and the update",
        &joined,
        joined_units,
    );
    println!(
        "| ratio transaction / beside | {:.2} | {:.2} | {:.1} |",
        percentile(&joined, 0.5).as_secs_f64() / percentile(&beside, 0.5).as_secs_f64(),
        percentile(&joined, 0.99).as_secs_f64() / percentile(&beside, 0.99).as_secs_f64(),
        joined_units / beside_units.max(f64::MIN_POSITIVE)
    );
    println!("\n{iterations} interleaved rounds after 200 warm-up rounds, DynamoDB Local.");
    Ok(())
}
