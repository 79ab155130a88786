//! The replay guard of a change: its nonce is recorded once, for as long as its timestamp stays
//! acceptable, so a captured request sent again changes nothing (401/1004). Reads record none.
//!
//! Where the record is written is chosen per operation ([`Placement`]):
//! - [`Placement::BesideAppCheck`]: a conditional `PutItem` of its own, sent beside the read of
//!   the app before the operation runs. For operations that write single items, batches, or
//!   several transactions at once: a standalone put costs 1 write unit, and rides beside a read
//!   the request makes anyway.
//! - [`Placement::InFirstTransaction`]: a `Put` added to the first `TransactWriteItems` the
//!   operation sends (a [`db::Rider`]), so the nonce commits with the change or not at all, one
//!   request fewer. If the operation commits no transaction (it refused, or had nothing to
//!   change) the nonce is recorded on its own afterwards: a refused request replayed later, when
//!   the data may have changed, is refused too.

use std::future::Future;
use std::sync::Arc;

use aws_sdk_dynamodb::types::Put;

use crate::auth::SigningHeaders;
use crate::db::{self, Rider};
use crate::error::ApiError;
use crate::items::Kind as _;
use crate::state::State;
use crate::table;

/// Where a change records its nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    BesideAppCheck,
    InFirstTransaction,
}

/// A change's nonce, to be recorded.
pub struct Guard {
    rider: Arc<Rider>,
}

pub fn already_used() -> ApiError {
    ApiError::Unauthenticated("Nonce was already used")
}

impl Guard {
    /// The nonce's record, kept (by its TTL) until its timestamp leaves the window; a record whose
    /// TTL has passed, but which DynamoDB has not deleted yet, does not count.
    pub fn new(state: &State, headers: &SigningHeaders, now_ms: i64) -> Result<Self, ApiError> {
        let recorded_by = uuid::Uuid::new_v4().simple().to_string();
        let record = crate::items::Nonce {
            app_key: headers.app_key.clone(),
            nonce: headers.nonce.clone(),
            ttl: headers.nonce_kept_until_s(),
            recorded_by: recorded_by.clone(),
        };
        // A put retried after a lost answer (an attempt timeout) meets its own record.
        let put = Put::builder()
            .table_name(&state.table)
            .set_item(Some(record.item()?))
            .condition_expression("attribute_not_exists(PK) OR #ttl < :now OR #by = :by")
            .expression_attribute_names("#ttl", table::TTL)
            .expression_attribute_names("#by", "recordedBy")
            .expression_attribute_values(":now", db::n(now_ms / 1000))
            .expression_attribute_values(":by", db::s(recorded_by.as_str()))
            .build()?;
        Ok(Self {
            rider: Rider::new(put, already_used),
        })
    }

    /// Records the nonce with a `PutItem` of its own; a second use is refused.
    pub async fn record_alone(&self, state: &State) -> Result<(), ApiError> {
        self.rider.put_alone(state).await
    }

    /// Runs a [`Placement::InFirstTransaction`] operation: its first transaction carries the
    /// nonce; if none committed, the nonce is recorded alone after it. A refusal of the nonce
    /// outranks the operation's own answer.
    pub async fn in_first_transaction<T>(
        &self,
        state: &State,
        operation: impl Future<Output = Result<T, ApiError>>,
    ) -> Result<T, ApiError> {
        let outcome = self.rider.within(operation).await;
        if !self.rider.committed().await {
            self.record_alone(state).await?;
        }
        outcome
    }
}
