//! The Server API's request signing: `App-Key`, `Nonce`, `Timestamp` (ms) and `Signature` =
//! hex SHA-1 of `appSecret + nonce + timestamp`, also under `RC-` prefixed names. A timestamp
//! more than 5 minutes from now is refused, and so is a nonce seen before for the same app on an
//! operation that changes data (remembered in DynamoDB with a TTL; reads record none).

use std::sync::Arc;

use lambda_http::http::HeaderMap;
use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;

use crate::apps::{App, AppStatus};
use crate::error::ApiError;
use crate::state::State;

pub const WINDOW_MS: i64 = 5 * 60 * 1000;
/// What the SDK sends (1 to 18 digits). Keep it below a webhook delivery's nonce
/// (`outbound::sign::NONCE_DIGITS`, 24): a delivery's URL carries the app key, a nonce, a
/// timestamp and a signature of this very formula, and this limit is what keeps anyone who sees
/// that URL from replaying them as an API call's signing headers.
const NONCE_MAX_CHARS: usize = 18;

#[derive(Debug, Clone, PartialEq)]
pub struct SigningHeaders {
    pub app_key: String,
    pub nonce: String,
    /// As sent: the signature covers the header text, not a re-rendered number.
    pub timestamp: String,
    pub timestamp_ms: i64,
    pub signature: String,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<&'a str, ApiError> {
    let value = headers
        .get(name)
        .or_else(|| headers.get(format!("RC-{name}").as_str()))
        .ok_or(ApiError::Unauthenticated(
            "a signing header (App-Key, Nonce, Timestamp, Signature) is missing",
        ))?;
    value
        .to_str()
        .map(str::trim)
        .map_err(|_| ApiError::Unauthenticated("a signing header is not visible ASCII"))
}

/// Reads and checks the form of the signing headers, without any lookup.
pub fn signing_headers(headers: &HeaderMap, now_ms: i64) -> Result<SigningHeaders, ApiError> {
    let app_key = header(headers, "App-Key")?;
    let nonce = header(headers, "Nonce")?;
    let timestamp = header(headers, "Timestamp")?;
    let signature = header(headers, "Signature")?;
    if crate::apps::validate_app_key(app_key).is_err() {
        return Err(ApiError::Unauthenticated("App-Key is malformed"));
    }
    if nonce.is_empty() || nonce.chars().count() > NONCE_MAX_CHARS {
        return Err(ApiError::Unauthenticated(
            "Nonce must be 1 to 18 characters",
        ));
    }
    let timestamp_ms: i64 = timestamp
        .parse()
        .map_err(|_| ApiError::Unauthenticated("Timestamp must be Unix milliseconds"))?;
    // `abs_diff`: no overflow at either end of the 64-bit range.
    if now_ms.abs_diff(timestamp_ms) > WINDOW_MS.unsigned_abs() {
        return Err(ApiError::Unauthenticated(
            "Timestamp is more than 5 minutes from now",
        ));
    }
    if signature.len() != 40 {
        return Err(ApiError::Unauthenticated(
            "Signature must be 40 hex characters",
        ));
    }
    Ok(SigningHeaders {
        app_key: app_key.to_owned(),
        nonce: nonce.to_owned(),
        timestamp: timestamp.to_owned(),
        timestamp_ms,
        signature: signature.to_ascii_lowercase(),
    })
}

impl SigningHeaders {
    /// Until when (epoch seconds) a change's nonce is remembered: while its timestamp is
    /// acceptable.
    pub fn nonce_kept_until_s(&self) -> i64 {
        (self.timestamp_ms + WINDOW_MS) / 1000 + 1
    }
}

/// Lowercase hex SHA-1 of `secret + nonce + timestamp`: what a client sends as `Signature`.
pub fn sign(secret: &str, nonce: &str, timestamp: &str) -> String {
    let mut hasher = Sha1::new();
    hasher.update(secret.as_bytes());
    hasher.update(nonce.as_bytes());
    hasher.update(timestamp.as_bytes());
    hex::encode(hasher.finalize())
}

fn signature_matches(app: &App, headers: &SigningHeaders) -> bool {
    let expected = sign(&app.app_secret, &headers.nonce, &headers.timestamp);
    expected
        .as_bytes()
        .ct_eq(headers.signature.as_bytes())
        .into()
}

/// Whether `app` accepts the request: signature right, app enabled.
fn accepts(app: &App, headers: &SigningHeaders) -> Result<(), ApiError> {
    if !signature_matches(app, headers) {
        return Err(ApiError::Unauthenticated("Signature does not match"));
    }
    if app.status == AppStatus::Offline {
        return Err(ApiError::AppDisabled);
    }
    Ok(())
}

/// Authenticates a signed request against the container's cached app when that copy accepts
/// it, else against the app as stored now (so a new secret, or an app back online, works
/// within [`crate::app::REREAD_INTERVAL`]: a refused signature re-reads the app at most that
/// often per container). Returns the app and whether it was read from the table for this
/// request; a cached copy may be older than a change made in another container, so the caller
/// also checks [`authenticate_current`]. The nonce is checked separately (`replay.rs`) so the
/// calls can overlap.
pub async fn authenticate(
    state: &State,
    headers: &SigningHeaders,
) -> Result<(Arc<App>, bool), ApiError> {
    if let Some(cached) = state.apps.peek(&headers.app_key) {
        let verdict = accepts(&cached, headers);
        if verdict.is_ok() {
            return Ok((cached, false));
        }
        if !state.apps.claim_reread(&headers.app_key) {
            return verdict.map(|()| (cached, false));
        }
    }
    Ok((authenticate_current(state, headers).await?, true))
}

/// Authenticates against the app as stored now (a strongly consistent read, which refreshes the
/// container's cache): another container may have rotated the secret or taken the app offline
/// since this container cached it.
pub async fn authenticate_current(
    state: &State,
    headers: &SigningHeaders,
) -> Result<Arc<App>, ApiError> {
    // A key that named no app a moment ago costs no read (made-up App-Keys).
    if state.apps.known_absent(&headers.app_key) {
        return Err(ApiError::UnknownApp);
    }
    let app = crate::apps::load(state, &headers.app_key)
        .await?
        .ok_or(ApiError::UnknownApp)?;
    accepts(&app, headers)?;
    Ok(app)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::http::HeaderValue;

    const NOW: i64 = 1_764_000_000_000;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn valid(prefix: &str) -> HeaderMap {
        let ts = NOW.to_string();
        let sig = sign("secret", "42", &ts);
        let names: Vec<&'static str> = ["App-Key", "Nonce", "Timestamp", "Signature"]
            .iter()
            .map(|n| &*Box::leak(format!("{prefix}{n}").into_boxed_str()))
            .collect();
        headers(&[
            (names[0], "key"),
            (names[1], "42"),
            (names[2], &ts),
            (names[3], &sig),
        ])
    }

    #[test]
    fn signature_is_hex_sha1_of_secret_nonce_timestamp() {
        // echo -n 'secret421764000000000' | sha1sum
        assert_eq!(
            sign("secret", "42", "1764000000000"),
            "313937c79ca4eca3e043b2022a904e2685b23ec1"
        );
    }

    #[test]
    fn reads_plain_and_rc_prefixed_headers() {
        for prefix in ["", "RC-", "rc-"] {
            let parsed = signing_headers(&valid(prefix), NOW).unwrap();
            assert_eq!(
                (parsed.app_key.as_str(), parsed.nonce.as_str()),
                ("key", "42")
            );
        }
    }

    #[test]
    fn refuses_missing_malformed_and_stale_headers() {
        let mut missing = valid("");
        missing.remove("Nonce");
        assert_eq!(signing_headers(&missing, NOW).unwrap_err().code(), 1004);
        for stale in [
            NOW - WINDOW_MS - 1,
            NOW + WINDOW_MS + 1,
            i64::MIN,
            i64::MAX,
            -1,
            0,
        ] {
            let mut h = valid("");
            h.insert(
                "Timestamp",
                HeaderValue::from_str(&stale.to_string()).unwrap(),
            );
            assert_eq!(signing_headers(&h, NOW).unwrap_err().code(), 1004);
        }
        let mut long_nonce = valid("");
        long_nonce.insert("Nonce", HeaderValue::from_static("1234567890123456789"));
        assert!(signing_headers(&long_nonce, NOW).is_err());
        let mut not_number = valid("");
        not_number.insert("Timestamp", HeaderValue::from_static("soon"));
        assert!(signing_headers(&not_number, NOW).is_err());
    }

    #[test]
    fn a_webhook_deliverys_nonce_is_refused() {
        // The four values of a delivery's URL, correctly signed with the app's secret, as
        // someone who saw the URL would send them.
        let nonce = crate::outbound::sign::new_nonce();
        assert_eq!(nonce.len(), 24);
        let ts = NOW.to_string();
        let replayed = headers(&[
            ("App-Key", "key"),
            ("Nonce", &nonce),
            ("Timestamp", &ts),
            ("Signature", &sign("secret", &nonce, &ts)),
        ]);
        let refused = signing_headers(&replayed, NOW).unwrap_err();
        assert_eq!(refused.code(), 1004, "{refused}");
    }

    #[test]
    fn compares_against_the_app_secret() {
        let app = App {
            app_key: "key".into(),
            app_secret: "secret".into(),
            environment: crate::apps::Environment::Development,
            plan: crate::apps::Plan::Free,
            status: AppStatus::Enabled,
            user_count: 0,
            created_at: 0,
            settings: Default::default(),
        };
        let parsed = signing_headers(&valid(""), NOW).unwrap();
        assert!(signature_matches(&app, &parsed));
        let other = App {
            app_secret: "other".into(),
            ..app
        };
        assert!(!signature_matches(&other, &parsed));
    }
}
