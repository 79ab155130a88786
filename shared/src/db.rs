//! One home for DynamoDB mechanics, below every domain module: attribute values and readers,
//! keys, the one backoff, batch reads and writes that retry what DynamoDB left unprocessed, and
//! transactions whose cancellation says which item failed and why. Conversions into
//! [`ApiError`] live in `error.rs` (`?` on an SDK or builder error).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, DeleteRequest, KeysAndAttributes, Put, PutRequest, TransactWriteItem,
    WriteRequest,
};

use crate::error::ApiError;
use crate::state::State;
use crate::table;

/// An item, or a key, as the SDK holds it.
pub type Item = HashMap<String, AttributeValue>;

/// Attempts of a transaction cancelled by conflicts or throttling (or of a read-then-transact
/// loop that lost a race) before giving up with 504/1050.
pub const ATTEMPTS: u32 = 10;

/// Any serializable value as an attribute value (enums as their names, `None` as `NULL`).
pub fn value<T: serde::Serialize>(value: T) -> Result<AttributeValue, ApiError> {
    Ok(serde_dynamo::to_attribute_value(value)?)
}

// ---- requests on the table: the client and the table name in one place --------------------

pub fn query(state: &State) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
    state.db.query().table_name(&state.table)
}

pub fn get_item(
    state: &State,
) -> aws_sdk_dynamodb::operation::get_item::builders::GetItemFluentBuilder {
    state.db.get_item().table_name(&state.table)
}

pub fn put_item(
    state: &State,
) -> aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder {
    state.db.put_item().table_name(&state.table)
}

pub fn update_item(
    state: &State,
) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
    state.db.update_item().table_name(&state.table)
}

pub fn delete_item(
    state: &State,
) -> aws_sdk_dynamodb::operation::delete_item::builders::DeleteItemFluentBuilder {
    state.db.delete_item().table_name(&state.table)
}

// ---- attribute values ---------------------------------------------------------------------

pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// The key `{PK, SK}`.
pub fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    HashMap::from([(table::PK.to_owned(), s(pk)), (table::SK.to_owned(), s(sk))])
}

/// The key of a stored item (`None` if it lacks one).
pub fn key_of(item: &Item) -> Option<Item> {
    Some(HashMap::from([
        (table::PK.to_owned(), item.get(table::PK)?.clone()),
        (table::SK.to_owned(), item.get(table::SK)?.clone()),
    ]))
}

/// A string attribute.
pub fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)?.as_s().ok().map(String::as_str)
}

/// A number attribute that fits an `i64`.
pub fn number(item: &Item, name: &str) -> Option<i64> {
    item.get(name)?.as_n().ok()?.parse().ok()
}

/// Whether a request failed only its condition (nothing was written).
pub fn condition_failed<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    err.as_service_error().and_then(ProvideErrorMetadata::code)
        == Some("ConditionalCheckFailedException")
}

/// Exponential backoff with full jitter, capped at about 200 ms.
pub fn backoff(attempt: u32) -> Duration {
    let ceiling_ms = (10u64 << attempt.min(4)).min(200);
    let jitter = uuid::Uuid::new_v4().as_u128() as u64 % ceiling_ms.max(1);
    Duration::from_millis(jitter + 1)
}

// ---- batches ----------------------------------------------------------------------------------

/// Reads items by key, strongly consistent, in `BatchGetItem` requests of at most 100 keys sent
/// concurrently; unprocessed keys are read again (with backoff). Missing items are simply absent
/// from the result, whose order is unspecified. The keys must be distinct.
pub async fn get_all(state: &State, keys: Vec<Item>) -> Result<Vec<Item>, ApiError> {
    const KEYS_PER_REQUEST: usize = 100;
    let batches = keys.chunks(KEYS_PER_REQUEST).map(|chunk| async move {
        let mut pending = chunk.to_vec();
        let mut items = Vec::new();
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(backoff(attempt)).await;
            }
            let keys = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(true)
                .build()?;
            let out = state
                .db
                .batch_get_item()
                .request_items(&state.table, keys)
                .send()
                .await?;
            if let Some(mut responses) = out.responses {
                items.extend(responses.remove(&state.table).unwrap_or_default());
            }
            pending = out
                .unprocessed_keys
                .and_then(|mut u| u.remove(&state.table))
                .map(|k| k.keys)
                .unwrap_or_default();
            if pending.is_empty() {
                return Ok(items);
            }
        }
        Err(ApiError::Busy)
    });
    let batches = futures::future::try_join_all(batches).await?;
    Ok(batches.into_iter().flatten().collect())
}

/// `BatchWriteItem` of any puts and deletes, 25 at a time, unprocessed ones sent again with
/// backoff; [`ApiError::Busy`] when some stay unprocessed.
pub async fn write_all(state: &State, writes: Vec<WriteRequest>) -> Result<(), ApiError> {
    for chunk in writes.chunks(25) {
        let mut requests = chunk.to_vec();
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(backoff(attempt)).await;
            }
            let out = state
                .db
                .batch_write_item()
                .request_items(&state.table, requests)
                .send()
                .await?;
            requests = out
                .unprocessed_items
                .and_then(|mut u| u.remove(&state.table))
                .unwrap_or_default();
            if requests.is_empty() {
                break;
            }
        }
        if !requests.is_empty() {
            return Err(ApiError::Busy);
        }
    }
    Ok(())
}

/// A put of `item`, for [`write_all`].
pub fn put(item: Item) -> Result<WriteRequest, ApiError> {
    let put = PutRequest::builder().set_item(Some(item)).build()?;
    Ok(WriteRequest::builder().put_request(put).build())
}

/// A delete of `key`, for [`write_all`].
pub fn delete(key: Item) -> Result<WriteRequest, ApiError> {
    let delete = DeleteRequest::builder().set_key(Some(key)).build()?;
    Ok(WriteRequest::builder().delete_request(delete).build())
}

// ---- transactions -----------------------------------------------------------------------------

/// A transaction cancelled by failed conditions: which items failed, and the old item where the
/// item asked for it (`ReturnValuesOnConditionCheckFailure`).
#[derive(Debug)]
pub struct Cancelled {
    /// Each item's reason code as DynamoDB gave it (`None` for items that did not fail).
    pub(crate) codes: Vec<String>,
    pub(crate) items: Vec<Option<Item>>,
}

impl Cancelled {
    pub fn failed(&self, index: usize) -> bool {
        self.codes
            .get(index)
            .is_some_and(|code| code == CONDITION_FAILED)
    }

    /// The item at `index` as it was, if the cancellation returned it.
    pub fn old_item(&self, index: usize) -> Option<&Item> {
        self.items.get(index).and_then(Option::as_ref)
    }

    /// The reason codes, comma-separated, for errors and logs.
    pub fn codes(&self) -> String {
        self.codes.join(",")
    }

    /// An error for a cancellation the caller did not expect (a bug or corrupted data).
    pub fn unexpected(&self, what: &str) -> ApiError {
        ApiError::Internal(format!("{what}: transaction cancelled ({})", self.codes()))
    }
}

/// The reason code of an item whose condition failed.
const CONDITION_FAILED: &str = "ConditionalCheckFailed";

/// What a `TransactionCanceledException` means, read from its reasons (the only parser of them).
#[derive(Debug)]
pub enum Cancellation {
    /// Conditions failed: a definite answer the caller interprets.
    Failed(Cancelled),
    /// A conflict with another transaction or throttling: passes with time.
    Transient,
    /// Anything else (a validation error: a bug): the reason codes.
    Other(String),
}

pub fn cancellation(reasons: &[aws_sdk_dynamodb::types::CancellationReason]) -> Cancellation {
    let codes: Vec<String> = reasons
        .iter()
        .map(|r| r.code().unwrap_or("None").to_owned())
        .collect();
    if codes.iter().any(|c| c == CONDITION_FAILED) {
        return Cancellation::Failed(Cancelled {
            codes,
            items: reasons.iter().map(|r| r.item().cloned()).collect(),
        });
    }
    if codes.iter().any(|c| transient(c)) {
        return Cancellation::Transient;
    }
    Cancellation::Other(codes.join(","))
}

/// Sends the transaction once: `Ok(None)` when it committed, the cancellation otherwise
/// (`TransactionConflictException` counts as [`Cancellation::Transient`]).
///
/// In a request with a [`Rider`] not yet committed, its `Put` is added after `items` (the
/// cancellation then describes `items` only), and a failure of the rider's condition is the
/// rider's error.
pub async fn transact_once(
    state: &State,
    mut items: Vec<TransactWriteItem>,
) -> Result<Option<Cancellation>, ApiError> {
    let mut boarding = Rider::board().await;
    if let Some(full) = boarding.take_if(|_| items.len() >= MAX_TRANSACTION_ITEMS) {
        full.alone(state).await?;
    }
    let own_items = items.len();
    let mut request = state.db.transact_write_items();
    if let Some(boarding) = &boarding {
        items.push(
            TransactWriteItem::builder()
                .put(boarding.rider.put.clone())
                .build(),
        );
        // The SDK's own retries of this send (after a timeout, a 500) carry the same token, so a
        // transaction that committed unseen answers success instead of failing on its rider.
        // Random, never derived from the request: a replay must meet the rider's condition.
        request = request.client_request_token(uuid::Uuid::new_v4().simple().to_string());
    }
    let result = request.set_transact_items(Some(items)).send().await;
    let err = match result {
        Ok(_) => {
            if let Some(boarding) = boarding {
                boarding.committed();
            }
            return Ok(None);
        }
        Err(err) => err,
    };
    match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(e)) => {
            let reasons = e.cancellation_reasons();
            if let Some(boarding) = &boarding
                && reasons.get(own_items).and_then(|r| r.code()) == Some(CONDITION_FAILED)
            {
                return Err((boarding.rider.refused)());
            }
            Ok(Some(cancellation(&reasons[..own_items.min(reasons.len())])))
        }
        Some(e) if e.code() == Some("TransactionConflictException") => {
            Ok(Some(Cancellation::Transient))
        }
        _ => Err(err.into()),
    }
}

/// A transaction's `Put` as a `PutItem` of its own: the same table, item, condition and names.
pub fn standalone_put(
    client: &aws_sdk_dynamodb::Client,
    put: &Put,
) -> aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder {
    client
        .put_item()
        .table_name(put.table_name())
        .set_item(Some(put.item().clone()))
        .set_condition_expression(put.condition_expression().map(str::to_owned))
        .set_expression_attribute_names(put.expression_attribute_names().cloned())
        .set_expression_attribute_values(put.expression_attribute_values().cloned())
}

/// A conditional `Put` that commits with the first transaction its request sends, so that it
/// is written exactly when the request's change is (the replay guard's nonce, `replay.rs`). It
/// travels with the request's task ([`Rider::within`]). While a transaction carries it, the
/// request's other transactions wait for the outcome: none may commit if the rider's condition
/// fails.
pub struct Rider {
    put: Put,
    /// What the request answers when the rider's condition fails.
    refused: fn() -> ApiError,
    /// Whether a transaction carrying it committed (or it was written alone); held while one is
    /// in flight.
    committed: Arc<tokio::sync::Mutex<bool>>,
}

tokio::task_local! {
    static RIDER: Arc<Rider>;
}

/// The right to carry the request's rider in one transaction.
struct Boarding {
    rider: Arc<Rider>,
    committed: tokio::sync::OwnedMutexGuard<bool>,
}

impl Rider {
    pub fn new(put: Put, refused: fn() -> ApiError) -> Arc<Self> {
        Arc::new(Self {
            put,
            refused,
            committed: Arc::new(tokio::sync::Mutex::new(false)),
        })
    }

    /// Runs `request` with this rider.
    pub async fn within<F: std::future::Future>(self: &Arc<Self>, request: F) -> F::Output {
        RIDER.scope(self.clone(), request).await
    }

    /// Whether it is written.
    pub async fn committed(&self) -> bool {
        *self.committed.lock().await
    }

    /// Writes the `Put` with a `PutItem` of its own: the rider's error if its condition fails.
    pub async fn put_alone(&self, state: &State) -> Result<(), ApiError> {
        let result = standalone_put(&state.db, &self.put).send().await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if condition_failed(&err) => Err((self.refused)()),
            Err(err) => Err(err.into()),
        }
    }

    /// The request's rider, if it still waits for a transaction (waiting while another carries
    /// it).
    async fn board() -> Option<Boarding> {
        let rider = RIDER.try_with(Arc::clone).ok()?;
        let committed = rider.committed.clone().lock_owned().await;
        (!*committed).then_some(Boarding { rider, committed })
    }
}

impl Boarding {
    fn committed(mut self) {
        *self.committed = true;
    }

    /// For a transaction too full to carry it: the rider alone, first.
    async fn alone(mut self, state: &State) -> Result<(), ApiError> {
        self.rider.put_alone(state).await?;
        *self.committed = true;
        Ok(())
    }
}

/// The most actions one `TransactWriteItems` takes.
pub const MAX_TRANSACTION_ITEMS: usize = 100;

/// Whether a cancellation reason passes with time: a conflict with another transaction, or
/// throttling.
pub fn transient(code: &str) -> bool {
    matches!(
        code,
        "TransactionConflict" | "ThrottlingError" | "ProvisionedThroughputExceeded"
    )
}

/// Runs one `TransactWriteItems`, retrying it with backoff while other transactions conflict or
/// DynamoDB throttles it (504/1050 after [`ATTEMPTS`]). `Ok(None)`: written; `Ok(Some(_))`:
/// cancelled because conditions failed (nothing was written).
pub async fn transact(
    state: &State,
    items: Vec<TransactWriteItem>,
) -> Result<Option<Cancelled>, ApiError> {
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(backoff(attempt)).await;
        }
        match transact_once(state, items.clone()).await? {
            None => return Ok(None),
            Some(Cancellation::Failed(cancelled)) => return Ok(Some(cancelled)),
            Some(Cancellation::Transient) => {}
            Some(Cancellation::Other(codes)) => {
                return Err(ApiError::Internal(format!(
                    "transaction cancelled: {codes}"
                )));
            }
        }
    }
    Err(ApiError::Busy)
}

/// Runs `attempt` until it reports done, at most [`ATTEMPTS`] times with backoff between tries
/// (for read-then-transact loops whose transaction lost a race and must read again).
pub async fn retry<T, F, Fut>(mut attempt: F) -> Result<T, ApiError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>, ApiError>>,
{
    for round in 0..ATTEMPTS {
        if round > 0 {
            tokio::time::sleep(backoff(round)).await;
        }
        if let Some(done) = attempt().await? {
            return Ok(done);
        }
    }
    Err(ApiError::Busy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_stays_bounded() {
        for attempt in 0..20 {
            assert!(backoff(attempt) <= Duration::from_millis(201));
        }
    }

    #[test]
    fn attributes_read_back_and_keys_are_pk_and_sk() {
        let item = HashMap::from([
            (table::PK.to_owned(), s("P")),
            (table::SK.to_owned(), s("S")),
            ("count".to_owned(), n(7)),
        ]);
        assert_eq!(key_of(&item), Some(key("P", "S")));
        assert_eq!(
            (text(&item, "PK"), number(&item, "count")),
            (Some("P"), Some(7))
        );
        assert_eq!((text(&item, "count"), number(&item, "PK")), (None, None));
        assert!(transient("ThrottlingError") && !transient("ConditionalCheckFailed"));
    }
}
