//! A used request nonce.

use serde::{Deserialize, Serialize};

use super::Kind;
use crate::table;

/// A used request nonce (`PK = APP#<app>#NONCE#<nonce>`, `SK = NONCE`), kept until its
/// timestamp leaves the signature window; a second use of the nonce is refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Nonce {
    #[serde(skip)]
    pub app_key: String,
    #[serde(skip)]
    pub nonce: String,
    /// Epoch seconds (`table::TTL`).
    pub ttl: i64,
    /// Which request recorded it (a fresh ID per request): the SDK's retry of a put whose
    /// answer was lost finds its own record, which is not a replay.
    #[serde(default)]
    pub recorded_by: String,
}

impl Kind for Nonce {
    fn key(&self) -> (String, String) {
        (
            table::nonce_pk(&self.app_key, &self.nonce),
            table::SK_NONCE.to_owned(),
        )
    }
}
