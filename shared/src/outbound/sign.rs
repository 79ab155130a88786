//! The two signatures every webhook delivery carries, so a receiver can check it with either:
//! Nexconn's (SHA-1 of the app secret, a nonce and a timestamp, in the URL's query, as its
//! official server SDKs verify it) and Standard Webhooks 1.0's (HMAC-SHA256 of the body, in the
//! `webhook-*` headers, as any of that specification's libraries verify it).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha1::{Digest, Sha1};
use sha2::Sha256;
use uuid::Uuid;

use crate::error::ApiError;

/// The prefix of Standard Webhooks secrets; the rest is the base64 key.
const SECRET_PREFIX: &str = "whsec_";

/// Nexconn's signature: lowercase hex SHA-1 of `app_secret + nonce + timestamp`.
pub fn nexconn_signature(app_secret: &str, nonce: &str, timestamp_ms: i64) -> String {
    let mut sha1 = Sha1::new();
    sha1.update(app_secret.as_bytes());
    sha1.update(nonce.as_bytes());
    sha1.update(timestamp_ms.to_string().as_bytes());
    hex::encode(sha1.finalize())
}

/// The digits of a delivery's nonce: more than the 18 characters the Server API accepts as
/// `Nonce` (`crate::auth`), so the four signing values of a delivery's URL, which have the very
/// form of an API call's signing headers, can never authenticate an API call. Receivers hash the
/// nonce as text, as Nexconn documents, whatever its length.
pub const NONCE_DIGITS: usize = 24;

/// A random nonce of exactly [`NONCE_DIGITS`] decimal digits (zero-padded).
pub fn new_nonce() -> String {
    // 122 random bits reduced modulo 10^24: uniform for all practical purposes.
    let nonce = Uuid::new_v4().as_u128() % 10u128.pow(NONCE_DIGITS as u32);
    format!("{nonce:0NONCE_DIGITS$}")
}

/// `url` (which has no fragment: webhook URLs are sent as stored) with Nexconn's signing
/// parameters appended to its query.
pub fn signed_url(
    url: &str,
    app_key: &str,
    app_secret: &str,
    nonce: &str,
    timestamp_ms: i64,
) -> String {
    let signature = nexconn_signature(app_secret, nonce, timestamp_ms);
    let separator = match url.rfind('?') {
        None => "?",
        Some(i) if i + 1 == url.len() || url.ends_with('&') => "",
        Some(_) => "&",
    };
    format!(
        "{url}{separator}appKey={}&nonce={}&signTimestamp={timestamp_ms}&timestamp={timestamp_ms}&signature={signature}",
        percent_encode(app_key),
        percent_encode(nonce),
    )
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// The Standard Webhooks 1.0 `webhook-signature` value: `v1,` and the base64 HMAC-SHA256 of
/// `{id}.{timestamp_s}.{body}` under the key the `whsec_` secret encodes.
pub fn standard_signature(
    webhook_secret: &str,
    id: &str,
    timestamp_s: i64,
    body: &[u8],
) -> Result<String, ApiError> {
    let key = webhook_secret
        .strip_prefix(SECRET_PREFIX)
        .and_then(|key| STANDARD.decode(key).ok())
        .ok_or_else(|| ApiError::Internal("malformed webhook secret".into()))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key)
        .map_err(|_| ApiError::Internal("malformed webhook secret".into()))?;
    mac.update(format!("{id}.{timestamp_s}.").as_bytes());
    mac.update(body);
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// The `webhook-signature` value: a signature per secret, space-separated, in the order given.
/// Standard Webhooks lets a receiver accept any of them, which is how a rotated secret overlaps
/// the one it replaced.
pub fn standard_signatures(
    webhook_secrets: &[&str],
    id: &str,
    timestamp_s: i64,
    body: &[u8],
) -> Result<String, ApiError> {
    if webhook_secrets.is_empty() {
        return Err(ApiError::Internal("no webhook secret".into()));
    }
    let signatures = webhook_secrets
        .iter()
        .map(|secret| standard_signature(secret, id, timestamp_s, body))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(signatures.join(" "))
}

/// A new Standard Webhooks secret: `whsec_` and 32 random bytes in base64.
pub fn new_webhook_secret() -> String {
    // Random bytes from the OS generator uuid v4 uses (`getrandom` is no direct dependency):
    // a v4 uuid has 14 bytes untouched by its version (byte 6) and variant (byte 8) bits,
    // so three uuids give 42 whole random bytes, of which the key takes 32.
    let mut key = Vec::with_capacity(42);
    for _ in 0..3 {
        let bytes = Uuid::new_v4().into_bytes();
        key.extend_from_slice(&bytes[..6]);
        key.push(bytes[7]);
        key.extend_from_slice(&bytes[9..]);
    }
    key.truncate(32);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

/// A delivery's signed URL and headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signed {
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
}

/// Signs one delivery of `body` both ways, at `now_ms`, with a fresh nonce; Standard Webhooks'
/// way with each of `webhook_secrets` (the current one first).
pub fn sign(
    url: &str,
    app_key: &str,
    app_secret: &str,
    webhook_secrets: &[&str],
    event_id: &str,
    body: &[u8],
    now_ms: i64,
) -> Result<Signed, ApiError> {
    let timestamp_s = now_ms.div_euclid(1000);
    let signature = standard_signatures(webhook_secrets, event_id, timestamp_s, body)?;
    Ok(Signed {
        url: signed_url(url, app_key, app_secret, &new_nonce(), now_ms),
        headers: vec![
            ("content-type", "application/json; charset=utf-8".to_owned()),
            ("webhook-id", event_id.to_owned()),
            ("webhook-timestamp", timestamp_s.to_string()),
            ("webhook-signature", signature),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The query parameters of `url`, in order.
    fn query(url: &str) -> Vec<(String, String)> {
        let (_, query) = url.split_once('?').unwrap();
        query
            .split('&')
            .map(|pair| {
                let (name, value) = pair.split_once('=').unwrap();
                (name.to_owned(), value.to_owned())
            })
            .collect()
    }

    fn param<'a>(query: &'a [(String, String)], name: &str) -> &'a str {
        let mut values = query.iter().filter(|(n, _)| n == name);
        let (_, value) = values.next().unwrap_or_else(|| panic!("no {name}"));
        assert!(values.next().is_none(), "{name} twice");
        value
    }

    /// Whether `signature` (`v1,<base64>`) is the HMAC-SHA256 of `prefix + body` under the key
    /// of `secret`, computed here without the code under test.
    fn hmac_verifies(secret: &str, prefix: &[u8], body: &[u8], signature: &str) -> bool {
        let Some(tag) = signature.strip_prefix("v1,") else {
            return false;
        };
        let key = STANDARD.decode(&secret["whsec_".len()..]).unwrap();
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
        mac.update(prefix);
        mac.update(body);
        mac.verify_slice(&STANDARD.decode(tag).unwrap()).is_ok()
    }

    #[test]
    fn nexconn_vector() {
        assert_eq!(
            nexconn_signature("Y1W2MeFwwwRxa0", "14314", 1_408_710_653_000),
            "30be0bbca9c9b2e27578701e9fda2358a814c88f"
        );
    }

    #[test]
    fn standard_webhooks_vectors() {
        // The vector of the specification's libraries (Go, C#, Java, ...).
        assert_eq!(
            standard_signature(
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                br#"{"test": 2432232314}"#,
            )
            .unwrap(),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        // The vector of its Rust library.
        assert_eq!(
            standard_signature(
                "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
                "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
                1_649_367_553,
                br#"{"email":"test@example.com","username":"test_user"}"#,
            )
            .unwrap(),
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
        );
    }

    #[test]
    fn malformed_secrets_are_internal_errors() {
        for secret in [
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "whsec_not base64!",
            "whsec_abc",
        ] {
            let result = standard_signature(secret, "msg", 1, b"{}");
            assert!(matches!(result, Err(ApiError::Internal(_))), "{secret}");
        }
    }

    #[test]
    fn nonces_are_always_24_digits() {
        for _ in 0..1000 {
            let nonce = new_nonce();
            assert_eq!(nonce.len(), 24, "{nonce}");
            assert!(nonce.bytes().all(|b| b.is_ascii_digit()), "{nonce}");
        }
        assert_ne!(new_nonce(), new_nonce());
    }

    #[test]
    fn webhook_secrets_hold_32_random_bytes() {
        let secret = new_webhook_secret();
        let key = STANDARD
            .decode(secret.strip_prefix("whsec_").unwrap())
            .unwrap();
        assert_eq!(key.len(), 32);
        assert_ne!(secret, new_webhook_secret());
        // It signs.
        standard_signature(&secret, "msg", 1, b"{}").unwrap();
    }

    #[test]
    fn signed_url_without_a_query() {
        let url = signed_url(
            "https://example.com/hook",
            "k3y",
            "secret",
            "42",
            1_700_000_000_123,
        );
        let signature = nexconn_signature("secret", "42", 1_700_000_000_123);
        assert_eq!(
            url,
            format!(
                "https://example.com/hook?appKey=k3y&nonce=42&signTimestamp=1700000000123\
                 &timestamp=1700000000123&signature={signature}"
            )
        );
    }

    #[test]
    fn signed_url_with_a_query() {
        let url = signed_url("https://example.com/hook?a=1&b=2", "key", "s", "7", 5);
        assert!(
            url.starts_with("https://example.com/hook?a=1&b=2&appKey=key&nonce=7&"),
            "{url}"
        );
        // A dangling separator is reused, not doubled.
        let url = signed_url("https://example.com/hook?", "key", "s", "7", 5);
        assert!(
            url.starts_with("https://example.com/hook?appKey=key&"),
            "{url}"
        );
        let url = signed_url("https://example.com/hook?a=1&", "key", "s", "7", 5);
        assert!(
            url.starts_with("https://example.com/hook?a=1&appKey=key&"),
            "{url}"
        );
    }

    #[test]
    fn the_app_key_is_percent_encoded() {
        let url = signed_url("http://h/", "a b&c=d/é", "s", "1", 2);
        assert_eq!(param(&query(&url), "appKey"), "a%20b%26c%3Dd%2F%C3%A9");
    }

    #[test]
    fn a_receiver_verifies_both_signatures() {
        let secret = new_webhook_secret();
        let body = br#"{"event":"user.created","userId":"u1"}"#;
        let now_ms = 1_700_000_000_999;
        let signed = sign(
            "https://example.com/hooks?tenant=9",
            "appkey1",
            "appsecret1",
            &[&secret],
            "evt_123",
            body,
            now_ms,
        )
        .unwrap();

        // Nexconn's side: recompute from the query.
        let query = query(&signed.url);
        assert_eq!(param(&query, "tenant"), "9");
        assert_eq!(param(&query, "appKey"), "appkey1");
        let nonce = param(&query, "nonce");
        let timestamp: i64 = param(&query, "timestamp").parse().unwrap();
        assert_eq!(timestamp, now_ms);
        assert_eq!(param(&query, "signTimestamp"), param(&query, "timestamp"));
        let mut sha1 = Sha1::new();
        sha1.update(format!("appsecret1{nonce}{timestamp}").as_bytes());
        assert_eq!(param(&query, "signature"), hex::encode(sha1.finalize()));

        // Standard Webhooks' side: recompute from the headers and the body.
        let header = |name: &str| {
            let found: Vec<_> = signed.headers.iter().filter(|(n, _)| *n == name).collect();
            assert_eq!(found.len(), 1, "{name}");
            found[0].1.clone()
        };
        assert_eq!(header("content-type"), "application/json; charset=utf-8");
        assert_eq!(header("webhook-id"), "evt_123");
        assert_eq!(header("webhook-timestamp"), "1700000000");
        let signature = header("webhook-signature");
        assert!(hmac_verifies(
            &secret,
            b"evt_123.1700000000.",
            body,
            &signature
        ));
        assert_eq!(signed.headers.len(), 4);

        // A fresh nonce each time.
        let again = sign("https://e/", "k", "s", &[&secret], "e", body, now_ms).unwrap();
        let again_too = sign("https://e/", "k", "s", &[&secret], "e", body, now_ms).unwrap();
        assert_ne!(again.url, again_too.url);
    }

    #[test]
    fn after_a_rotation_one_header_carries_both_signatures_the_new_first() {
        let (new, old) = (new_webhook_secret(), new_webhook_secret());
        let body = br#"{"type":"user:friendship"}"#;
        let signed = sign(
            "https://e/",
            "k",
            "s",
            &[&new, &old],
            "evt_9",
            body,
            1_700_000_000_500,
        )
        .unwrap();
        let headers: Vec<_> = signed
            .headers
            .iter()
            .filter(|(name, _)| *name == "webhook-signature")
            .collect();
        assert_eq!(
            headers.len(),
            1,
            "one header, as Standard Webhooks defines it"
        );
        let signatures: Vec<&str> = headers[0].1.split(' ').collect();
        assert_eq!(signatures.len(), 2, "{}", headers[0].1);
        let prefix = b"evt_9.1700000000.";
        assert!(hmac_verifies(&new, prefix, body, signatures[0]));
        assert!(hmac_verifies(&old, prefix, body, signatures[1]));
        // Each receiver finds its key's signature among them; no other key's is there.
        assert!(
            !signatures
                .iter()
                .any(|s| hmac_verifies(&new_webhook_secret(), prefix, body, s))
        );
    }

    #[test]
    fn signing_without_a_secret_is_an_internal_error() {
        let result = sign("https://e/", "k", "s", &[], "e", b"{}", 1);
        assert!(matches!(result, Err(ApiError::Internal(_))));
    }
}
