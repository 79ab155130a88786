//! Access tokens: HS256 JWTs whose key is derived from the server's signing secret and the app's
//! own secret, so rotating the app secret kills every token of the app. "The server verifies the
//! token against its records": [`verify`] checks the signature, the app, the user's state, bans
//! and the user's `tokensValidAfter`.

use aws_sdk_dynamodb::types::AttributeValue;
use hmac::{Hmac, KeyInit, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::apps::{App, AppStatus};
use crate::db;
use crate::error::ApiError;
use crate::state::State;
use crate::table;
use crate::users::{self, UserState};

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    /// App key.
    app: String,
    /// User ID.
    sub: String,
    /// Issued at, seconds (the registered claim), and milliseconds (what expiry compares with).
    iat: i64,
    #[serde(rename = "iatMs")]
    iat_ms: i64,
    /// Makes every token unique, even two issued in the same millisecond.
    jti: String,
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

pub fn issue(state: &State, app: &App, user_id: &str, now_ms: i64) -> Result<String, ApiError> {
    encode(&state.token_secret, app, user_id, now_ms)
}

fn encode(token_secret: &[u8], app: &App, user_id: &str, now_ms: i64) -> Result<String, ApiError> {
    let claims = Claims {
        app: app.app_key.clone(),
        sub: user_id.to_owned(),
        iat: now_ms / 1000,
        iat_ms: now_ms,
        jti: uuid::Uuid::new_v4().simple().to_string(),
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(&key_for(token_secret, app)),
    )
    .map_err(|e| ApiError::Internal(format!("token encoding: {e}")))
}

/// Why a token was refused, in terms a client can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// Not a token of ours, tampered, or signed with a rotated app secret.
    Invalid,
    UnknownApp,
    AppOffline,
    UnknownUser,
    SoftDeleted,
    Banned {
        until_ms: i64,
    },
    /// Issued before the user's `tokensValidAfter` (expire-access-token).
    Expired,
}

impl Rejection {
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Invalid => "invalid",
            Self::UnknownApp => "unknown-app",
            Self::AppOffline => "app-offline",
            Self::UnknownUser => "unknown-user",
            Self::SoftDeleted => "soft-deleted",
            Self::Banned { .. } => "banned",
            Self::Expired => "expired",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("token refused: {}", .0.reason())]
    Rejected(Rejection),
    #[error(transparent)]
    Store(#[from] ApiError),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    pub app_key: String,
    pub user_id: String,
    pub issued_at_ms: i64,
}

fn decode(token_secret: &[u8], app: &App, token: &str) -> Option<Claims> {
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

/// Verifies a token against the records as they are now: the app (its current secret and
/// status, never a container's cached copy, so a rotation in any container refuses old tokens at
/// once), the user and the ban, in one strongly consistent `BatchGetItem`.
pub async fn verify(state: &State, token: &str) -> Result<VerifiedToken, VerifyError> {
    let reject = |r| Err(VerifyError::Rejected(r));
    let Ok(unverified) = jsonwebtoken::dangerous::insecure_decode_claims::<Claims>(token) else {
        return reject(Rejection::Invalid);
    };
    // Never build keys from unchecked text.
    if crate::validate::user_id("sub", &unverified.sub).is_err()
        || crate::apps::validate_app_key(&unverified.app).is_err()
    {
        return reject(Rejection::Invalid);
    }
    let records = records(state, &unverified.app, &unverified.sub).await?;
    let Some(app) = records.app else {
        return reject(Rejection::UnknownApp);
    };
    let Some(claims) = decode(&state.token_secret, &app, token) else {
        return reject(Rejection::Invalid);
    };
    if app.status == AppStatus::Offline {
        return reject(Rejection::AppOffline);
    }
    let now_ms = state.clock.now_ms();
    match (records.user, records.ban_until) {
        (None, _) => reject(Rejection::UnknownUser),
        (Some(user), _) if user.state == UserState::SoftDeleted => reject(Rejection::SoftDeleted),
        (_, Some(until_ms)) if until_ms > now_ms => reject(Rejection::Banned { until_ms }),
        (Some(user), _) if claims.iat_ms < user.tokens_valid_from() => reject(Rejection::Expired),
        (Some(_), _) => Ok(VerifiedToken {
            app_key: claims.app,
            user_id: claims.sub,
            issued_at_ms: claims.iat_ms,
        }),
    }
}

/// What a token is verified against.
struct Records {
    app: Option<App>,
    user: Option<users::User>,
    ban_until: Option<i64>,
}

/// The app, the user record and the ban expiry (if any), in one strongly consistent
/// `BatchGetItem`.
async fn records(state: &State, app_key: &str, user_id: &str) -> Result<Records, ApiError> {
    let user_pk = table::user_pk(app_key, user_id);
    let keys = vec![
        db::key(table::app_pk(app_key), table::SK_APP),
        db::key(&user_pk, table::SK_USER),
        db::key(&user_pk, table::SK_BAN),
    ];
    // One consistent BatchGetItem; unprocessed keys (rare with three) are read again.
    let items = db::get_all(state, keys).await?;
    let mut records = Records {
        app: None,
        user: None,
        ban_until: None,
    };
    for item in items {
        match item.get(table::SK) {
            Some(AttributeValue::S(sk)) if sk == table::SK_APP => {
                records.app = Some(crate::apps::from_item(item)?)
            }
            Some(AttributeValue::S(sk)) if sk == table::SK_USER => {
                records.user = Some(serde_dynamo::from_item(item)?)
            }
            Some(AttributeValue::S(sk)) if sk == table::SK_BAN => {
                records.ban_until = db::number(&item, table::BAN_EXPIRES_AT);
            }
            _ => {}
        }
    }
    Ok(records)
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

    #[test]
    fn reasons_are_stable_strings() {
        assert_eq!(Rejection::Banned { until_ms: 1 }.reason(), "banned");
        assert_eq!(Rejection::Expired.reason(), "expired");
        assert_eq!(Rejection::SoftDeleted.reason(), "soft-deleted");
    }
}
