//! `POST /v4/auth/access-token/issue`: registers the user if new (under the app's cap), else
//! overwrites name and avatar, and returns a new access token.

use serde::{Deserialize, Serialize};
use shared::{ApiError, Call, Operation, token, users, validate};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssueAccessToken {
    pub user_id: String,
    pub name: String,
    pub avatar_url: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessToken {
    pub user_id: String,
    pub access_token: String,
}

impl Operation for IssueAccessToken {
    const NAME: &'static str = "issue-access-token";
    const PATHS: &'static [&'static str] = &["/v4/auth/access-token/issue"];
    type Response = AccessToken;

    fn validate(&self) -> Result<(), ApiError> {
        validate::user_id("userId", &self.user_id)?;
        validate::non_empty("name", &self.name)?;
        validate::max_chars("name", &self.name, 64)?;
        if let Some(avatar) = &self.avatar_url {
            validate::max_bytes("avatarUrl", avatar, 1024)?;
        }
        Ok(())
    }

    async fn run(self, call: Call) -> Result<AccessToken, ApiError> {
        let Call { state, app, now_ms } = call;
        users::upsert_for_token(
            &state,
            &app,
            &self.user_id,
            &self.name,
            self.avatar_url.as_deref(),
            now_ms,
        )
        .await?;
        let access_token = token::issue(&state, &app, &self.user_id, now_ms).await?;
        Ok(AccessToken {
            user_id: self.user_id,
            access_token,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(user_id: &str, name: &str, avatar: Option<String>) -> IssueAccessToken {
        IssueAccessToken {
            user_id: user_id.into(),
            name: name.into(),
            avatar_url: avatar,
        }
    }

    #[test]
    fn limits_follow_the_contract() {
        assert!(
            request(&"a".repeat(64), &"名".repeat(64), Some("x".repeat(1024)))
                .validate()
                .is_ok()
        );
        assert_eq!(
            request(&"a".repeat(65), "n", None)
                .validate()
                .unwrap_err()
                .code(),
            1005
        );
        assert_eq!(
            request("a", &"n".repeat(65), None)
                .validate()
                .unwrap_err()
                .code(),
            1005
        );
        assert_eq!(
            request("a-b", "n", None).validate().unwrap_err().code(),
            1002
        );
        assert_eq!(request("a", "", None).validate().unwrap_err().code(), 1002);
        assert_eq!(
            request("a", "n", Some("x".repeat(1025)))
                .validate()
                .unwrap_err()
                .code(),
            1005
        );
    }
}
