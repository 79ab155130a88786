//! `POST /v4/user/get`: name, avatar and registration time of an active user.

use serde::{Deserialize, Serialize};
use shared::{ApiError, Call, Operation, clock, users, validate};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetUser {
    pub user_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    pub name: String,
    pub avatar_url: String,
    /// UTC, `yyyy-MM-dd HH:mm:ss`.
    pub created_at: String,
}

impl Operation for GetUser {
    const NAME: &'static str = "get-user";
    const PATHS: &'static [&'static str] = &["/v4/user/get"];
    type Response = UserInfo;
    const READ_ONLY: bool = true;

    fn validate(&self) -> Result<(), ApiError> {
        validate::user_id("userId", &self.user_id)
    }

    async fn run(self, call: Call) -> Result<UserInfo, ApiError> {
        let user = users::get_active(&call.state, &call.app.app_key, &self.user_id).await?;
        Ok(UserInfo {
            name: user.name,
            avatar_url: user.avatar_url,
            created_at: clock::format_utc(user.created_at),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_id_is_checked() {
        assert!(
            GetUser {
                user_id: "alice1".into()
            }
            .validate()
            .is_ok()
        );
        assert_eq!(
            GetUser {
                user_id: "al ice".into()
            }
            .validate()
            .unwrap_err()
            .code(),
            1002
        );
    }
}
