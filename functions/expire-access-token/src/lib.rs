//! `POST /v4/auth/access-token/expire`: every token of these users issued before `expiresAt`
//! becomes invalid; tokens issued at or after it stay valid.

use serde::Deserialize;
use shared::{ApiError, Call, Operation, users, validate};

pub const MAX_USERS: usize = 20;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpireAccessToken {
    pub user_ids: Vec<String>,
    pub expires_at: i64,
    /// Extension: also close live connections whose token was issued before `expiresAt`.
    #[serde(default)]
    pub disconnect: Option<bool>,
}

impl Operation for ExpireAccessToken {
    const NAME: &'static str = "expire-access-token";
    const PATHS: &'static [&'static str] = &["/v4/auth/access-token/expire"];
    type Response = ();

    fn validate(&self) -> Result<(), ApiError> {
        validate::user_ids("userIds", &self.user_ids, MAX_USERS)?;
        if self.expires_at < 0 {
            return Err(ApiError::invalid("expiresAt", "must be Unix milliseconds"));
        }
        Ok(())
    }

    async fn run(self, call: Call) -> Result<(), ApiError> {
        let user_ids = validate::dedup(&self.user_ids);
        users::expire_tokens(&call.state, &call.app.app_key, &user_ids, self.expires_at).await?;
        if self.disconnect == Some(true) {
            shared::connections::close_users(
                &call.state,
                &call.app.app_key,
                &user_ids,
                Some(self.expires_at),
            )
            .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_follow_the_contract() {
        let ids = |n: usize| (0..n).map(|i| format!("u{i}")).collect::<Vec<_>>();
        assert!(
            ExpireAccessToken {
                user_ids: ids(20),
                expires_at: 1,
                disconnect: None
            }
            .validate()
            .is_ok()
        );
        assert_eq!(
            ExpireAccessToken {
                user_ids: ids(21),
                expires_at: 1,
                disconnect: None
            }
            .validate()
            .unwrap_err()
            .code(),
            1005
        );
        assert_eq!(
            ExpireAccessToken {
                user_ids: ids(0),
                expires_at: 1,
                disconnect: None
            }
            .validate()
            .unwrap_err()
            .code(),
            1002
        );
        assert_eq!(
            ExpireAccessToken {
                user_ids: ids(1),
                expires_at: -1,
                disconnect: None
            }
            .validate()
            .unwrap_err()
            .code(),
            1002
        );
    }
}
