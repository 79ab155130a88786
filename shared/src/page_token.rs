//! Opaque page tokens: the DynamoDB position a listing stopped at, bound to the app and the
//! listing (operation and its subject) and signed with the server secret. A tampered token, or
//! one of another app or listing, is refused with 400/1002 and never reads anything.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::error::ApiError;

use crate::db::Item as Key;

#[derive(Serialize, Deserialize)]
struct Payload {
    /// App key.
    a: String,
    /// The listing: operation name and subject (e.g. `list-friends:alice`).
    l: String,
    /// The last evaluated key; string attributes only (all our keys are strings).
    k: HashMap<String, String>,
}

fn mac(secret: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(b"page-token\0");
    mac.update(payload);
    mac.finalize().into_bytes().to_vec()
}

/// Encodes where a listing stopped. `None` (the last page) encodes as `""`.
pub fn encode(
    secret: &[u8],
    app_key: &str,
    listing: &str,
    last_key: Option<&Key>,
) -> Result<String, ApiError> {
    let Some(last_key) = last_key else {
        return Ok(String::new());
    };
    let mut k = HashMap::new();
    for (name, value) in last_key {
        let text = value
            .as_s()
            .map_err(|_| ApiError::Internal(format!("non-string key attribute {name}")))?;
        k.insert(name.clone(), text.clone());
    }
    let payload = serde_json::to_vec(&Payload {
        a: app_key.into(),
        l: listing.into(),
        k,
    })
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(&payload),
        URL_SAFE_NO_PAD.encode(mac(secret, &payload))
    ))
}

/// Decodes a client's page token; `None` or `""` means the first page.
pub fn decode(
    secret: &[u8],
    app_key: &str,
    listing: &str,
    token: Option<&str>,
) -> Result<Option<Key>, ApiError> {
    let token = match token {
        None | Some("") => return Ok(None),
        Some(token) => token,
    };
    let invalid = || ApiError::invalid("pageToken", "is not a page token of this listing");
    if token.len() > 2048 {
        return Err(invalid());
    }
    let (payload, signature) = token.split_once('.').ok_or_else(invalid)?;
    let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| invalid())?;
    let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| invalid())?;
    let expected = mac(secret, &payload);
    if !bool::from(subtle::ConstantTimeEq::ct_eq(
        expected.as_slice(),
        signature.as_slice(),
    )) {
        return Err(invalid());
    }
    let payload: Payload = serde_json::from_slice(&payload).map_err(|_| invalid())?;
    if payload.a != app_key || payload.l != listing {
        return Err(invalid());
    }
    Ok(Some(
        payload
            .k
            .into_iter()
            .map(|(name, value)| (name, AttributeValue::S(value)))
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn key() -> Key {
        HashMap::from([
            ("PK".to_owned(), AttributeValue::S("APP#k#U#alice".into())),
            ("SK".to_owned(), AttributeValue::S("FRIEND#bob".into())),
        ])
    }

    /// The same token with its first payload character changed.
    fn tamper(token: &str) -> String {
        let first = if token.starts_with('A') { "B" } else { "A" };
        format!("{first}{}", &token[1..])
    }

    #[test]
    fn round_trips_for_the_same_app_and_listing() {
        let token = encode(SECRET, "k", "list-friends:alice", Some(&key())).unwrap();
        assert_eq!(
            decode(SECRET, "k", "list-friends:alice", Some(&token)).unwrap(),
            Some(key())
        );
        assert_eq!(encode(SECRET, "k", "x", None).unwrap(), "");
        assert_eq!(decode(SECRET, "k", "x", Some("")).unwrap(), None);
    }

    #[test]
    fn refuses_other_apps_listings_and_tampering() {
        let token = encode(SECRET, "k", "list-friends:alice", Some(&key())).unwrap();
        for (app, listing, token) in [
            ("other", "list-friends:alice", token.clone()),
            ("k", "list-friends:bob", token.clone()),
            ("k", "list-friends:alice", tamper(&token)),
            ("k", "list-friends:alice", "garbage".to_owned()),
            ("k", "list-friends:alice", format!("{token}x")),
        ] {
            let err = decode(SECRET, app, listing, Some(&token)).unwrap_err();
            assert_eq!(
                (err.status(), err.code()),
                (400, 1002),
                "{app} {listing} {token}"
            );
        }
        assert!(
            decode(
                b"another-secret-another-secret-xx",
                "k",
                "list-friends:alice",
                Some(&token)
            )
            .is_err()
        );
    }
}
