//! The typed item layer: item kinds as `serde` structs, written and read with `serde_dynamo`,
//! each with its keys (and index keys) built in one place from `table`, one kind (or a kind and
//! the items that only exist beside it) per file. The app lives in `app.rs` and the user in
//! `users.rs`. Counters (edge counts, count-tree nodes) are written by `ADD` update expressions
//! only, so they have attribute names, not structs.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::db::Item;
use crate::error::ApiError;
use crate::table;

/// An item kind: its body plus the keys it is stored under.
pub trait Kind: Serialize + DeserializeOwned {
    /// `(PK, SK)`.
    fn key(&self) -> (String, String);

    /// The whole item, keys included.
    fn item(&self) -> Result<Item, ApiError> {
        let (pk, sk) = self.key();
        let mut item: Item = serde_dynamo::to_item(self)?;
        item.insert(table::PK.to_owned(), crate::db::s(pk));
        item.insert(table::SK.to_owned(), crate::db::s(sk));
        Ok(item)
    }

    /// The body of a stored item (its keys and unknown attributes are ignored).
    fn from_item(item: Item) -> Result<Self, ApiError> {
        Ok(serde_dynamo::from_item(item)?)
    }
}

/// Epoch seconds for the table's TTL, rounded up so DynamoDB never deletes an item before
/// `expires_at_ms`.
pub fn ttl_seconds(expires_at_ms: i64) -> i64 {
    (expires_at_ms + 999).div_euclid(1000)
}

mod ban;
mod connection;
mod edge;
mod friend_request;
mod mute;
mod nonce;
mod operation;
mod profile;
mod purge_ticket;
mod tags;
#[cfg(test)]
mod tests;
mod webhook;

pub use ban::*;
pub use connection::*;
pub use edge::*;
pub use friend_request::*;
pub use mute::*;
pub use nonce::*;
pub use operation::*;
pub use profile::*;
pub use purge_ticket::*;
pub use tags::*;
pub use webhook::*;
