//! `POST /v4/auth/access-token/expire`: every token of these users issued before `expiresAt`
//! becomes invalid; tokens issued at or after it stay valid.

use serde::Deserialize;
use shared::{ApiError, Call, Operation, users, validate};

pub const MAX_USERS: usize = 20;

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    const CONSOLE_PATHS: &'static [&'static str] = &["/console/v1/users/expire-tokens"];
    type Response = ();

    fn validate(&self) -> Result<(), ApiError> {
        validate::user_ids("userIds", &self.user_ids, MAX_USERS)?;
        if self.expires_at < 0 {
            return Err(ApiError::invalid("expiresAt", "must be Unix milliseconds"));
        }
        Ok(())
    }

    async fn run(self, call: Call) -> Result<(), ApiError> {
        // Checked against the request's time, before anything is written.
        validate::not_after_a_day("expiresAt", self.expires_at, call.now_ms)?;
        let user_ids = validate::dedup(&self.user_ids);
        users::expire_tokens(&call.state, &call.app.app_key, &user_ids, self.expires_at).await?;
        if self.disconnect == Some(true) {
            shared::connections::close_users(
                &call.state,
                &call.app.app_key,
                &user_ids,
                Some(self.expires_at),
                shared::connections::Closing::Kick,
            )
            .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::testing::{assert_id_list_limit, ids};

    #[test]
    fn limits_follow_the_contract() {
        let expire = |user_ids, expires_at| ExpireAccessToken {
            user_ids,
            expires_at,
            disconnect: None,
        };
        assert_id_list_limit(20, |user_ids| expire(user_ids, 1).validate());
        assert_eq!(expire(ids(1), -1).validate().unwrap_err().code(), 1002);
    }
}
