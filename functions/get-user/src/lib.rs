//! `POST /v4/user/get`: name, avatar and registration time of an active user.

use serde::Deserialize;
use serde_json::json;
use shared::{ApiError, Call, Operation, Reply, clock, users, validate};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetUser {
    pub user_id: String,
}

impl Operation for GetUser {
    const NAME: &'static str = "get-user";
    const PATHS: &'static [&'static str] = &["/v4/user/get"];
    const READ_ONLY: bool = true;

    fn validate(&self) -> Result<(), ApiError> {
        validate::user_id("userId", &self.user_id)
    }

    async fn run(self, call: Call) -> Result<Reply, ApiError> {
        let user = users::get_active(&call.state, &call.app.app_key, &self.user_id).await?;
        Reply::with(json!({
            "name": user.name,
            "avatarUrl": user.avatar_url,
            "createdAt": clock::format_utc(user.created_at),
        }))
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
