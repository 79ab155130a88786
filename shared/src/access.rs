//! Whether an access token grants access now: the token (`token`, the codec) checked against
//! the stored records: the app, the user's state, the user's ban and `tokensValidAfter`.

use crate::apps::{App, AppStatus};
use crate::db;
use crate::error::ApiError;
use crate::items::Kind as _;
use crate::state::State;
use crate::table;
use crate::token;
use crate::users::{self, UserState};

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

/// Verifies a token against the records as they are now: the app (its current secret and
/// status, never a container's cached copy, so a rotation in any container refuses old tokens at
/// once), the user and the ban, in one strongly consistent `BatchGetItem`.
pub async fn verify(state: &State, token: &str) -> Result<VerifiedToken, VerifyError> {
    let reject = |r| Err(VerifyError::Rejected(r));
    let Some(unverified) = token::peek(token) else {
        return reject(Rejection::Invalid);
    };
    // A forged `app` claim costs one read per container per minute, not one per attempt.
    if state.apps.known_absent(&unverified.app) {
        return reject(Rejection::UnknownApp);
    }
    let records = records(state, &unverified.app, &unverified.sub).await?;
    let Some(app) = records.app else {
        state.apps.store(&unverified.app, None);
        return reject(Rejection::UnknownApp);
    };
    let Some(claims) = token::decode(state.token_secret.get().await?, &app, token) else {
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
        // Past the validity the app had when the token was issued.
        (Some(_), _) if claims.exp_ms.is_some_and(|exp| exp <= now_ms) => {
            reject(Rejection::Expired)
        }
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
        match db::text(&item, table::SK) {
            Some(table::SK_APP) => records.app = Some(crate::apps::from_item(item)?),
            Some(table::SK_USER) => records.user = Some(serde_dynamo::from_item(item)?),
            Some(table::SK_BAN) => {
                records.ban_until = Some(crate::items::Ban::from_item(item)?.ban_expires_at)
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
    fn reasons_are_stable_strings() {
        assert_eq!(Rejection::Banned { until_ms: 1 }.reason(), "banned");
        assert_eq!(Rejection::Expired.reason(), "expired");
        assert_eq!(Rejection::SoftDeleted.reason(), "soft-deleted");
    }
}
