//! Access tokens: HS256 JWTs whose key is derived from the server's signing secret and the app's
//! own secret, so rotating the app secret kills every token of the app. This is the codec only;
//! the check against the stored records is `access::verify`.

use hmac::{Hmac, KeyInit, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::apps::App;
#[cfg(test)]
use crate::apps::AppStatus;
use crate::error::ApiError;
use crate::state::State;

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Claims {
    /// App key.
    pub(crate) app: String,
    /// User ID.
    pub(crate) sub: String,
    /// Issued at, seconds (the registered claim), and milliseconds (what expiry compares with).
    pub(crate) iat: i64,
    #[serde(rename = "iatMs")]
    pub(crate) iat_ms: i64,
    /// Makes every token unique, even two issued in the same millisecond.
    pub(crate) jti: String,
    /// When the token stops working (Unix ms), from the app's access token validity when it was
    /// issued; absent: permanent (Nexconn's default). Read by `access::verify`.
    #[serde(rename = "expMs", default, skip_serializing_if = "Option::is_none")]
    pub(crate) exp_ms: Option<i64>,
}

fn key_for(token_secret: &[u8], app: &App) -> Vec<u8> {
    // HMAC-SHA256 accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(token_secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(b"access-token\0");
    mac.update(app.app_key.as_bytes());
    mac.update(b"\0");
    mac.update(app.app_secret.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

pub async fn issue(
    state: &State,
    app: &App,
    user_id: &str,
    now_ms: i64,
) -> Result<String, ApiError> {
    encode(state.token_secret.get().await?, app, user_id, now_ms)
}

fn encode(token_secret: &[u8], app: &App, user_id: &str, now_ms: i64) -> Result<String, ApiError> {
    crate::jwt_hs256::install();
    let claims = Claims {
        app: app.app_key.clone(),
        sub: user_id.to_owned(),
        iat: now_ms / 1000,
        iat_ms: now_ms,
        jti: uuid::Uuid::new_v4().simple().to_string(),
        exp_ms: app
            .settings
            .access_token_ttl()
            .map(|ttl| now_ms.saturating_add(ttl)),
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(&key_for(token_secret, app)),
    )
    .map_err(|e| ApiError::Internal(format!("token encoding: {e}")))
}

/// The claims of a token signed with this app's key; `None` for anything else.
pub(crate) fn decode(token_secret: &[u8], app: &App, token: &str) -> Option<Claims> {
    crate::jwt_hs256::install();
    let mut validation = Validation::new(Algorithm::HS256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    jsonwebtoken::decode::<Claims>(
        token,
        &DecodingKey::from_secret(&key_for(token_secret, app)),
        &validation,
    )
    .ok()
    .map(|data| data.claims)
}

/// The claims of a token before its signature is checked: only to find which app's key checks
/// it. `None` when it is not a JWT with our claims, or its app or user ID could not be a key.
pub(crate) fn peek(token: &str) -> Option<Claims> {
    let claims = jsonwebtoken::dangerous::insecure_decode_claims::<Claims>(token).ok()?;
    // Never build keys from unchecked text.
    let plausible = crate::validate::user_id("sub", &claims.sub).is_ok()
        && crate::apps::validate_app_key(&claims.app).is_ok();
    plausible.then_some(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_are_what_verification_reads() {
        let token_claims = Claims {
            app: "k".into(),
            sub: "u".into(),
            iat: 1,
            iat_ms: 1500,
            jti: "j".into(),
            exp_ms: None,
        };
        let json = serde_json::to_value(&token_claims).unwrap();
        assert_eq!(json["iatMs"], 1500);
        assert_eq!(json["sub"], "u");
    }

    fn app(secret: &str) -> App {
        App {
            app_key: "k".into(),
            app_secret: secret.into(),
            environment: crate::apps::Environment::Development,
            plan: crate::apps::Plan::Free,
            status: AppStatus::Enabled,
            user_count: 0,
            created_at: 0,
            settings: Default::default(),
        }
    }

    const SERVER_SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn a_token_decodes_with_its_app_and_not_after_rotation() {
        let token = encode(SERVER_SECRET, &app("s1"), "alice", 1_700_000_000_123).unwrap();
        let claims = decode(SERVER_SECRET, &app("s1"), &token).unwrap();
        assert_eq!(
            (claims.sub.as_str(), claims.iat_ms),
            ("alice", 1_700_000_000_123)
        );
        assert!(
            decode(SERVER_SECRET, &app("s2"), &token).is_none(),
            "rotated app secret"
        );
        assert!(decode(b"another-server-secret-of-32-bytes", &app("s1"), &token).is_none());
        let mut tampered = token.clone();
        tampered.insert(token.len() / 2, 'x');
        assert!(decode(SERVER_SECRET, &app("s1"), &tampered).is_none());
    }

    #[test]
    fn two_tokens_in_one_millisecond_differ() {
        let a = encode(SERVER_SECRET, &app("s1"), "alice", 5).unwrap();
        let b = encode(SERVER_SECRET, &app("s1"), "alice", 5).unwrap();
        assert_ne!(a, b);
    }
}
