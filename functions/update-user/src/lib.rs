//! `POST /v4/user/update`: changes name and/or avatar; an absent field keeps its value. The
//! hosted profile is not touched.

use serde::Deserialize;
use shared::{ApiError, Call, Operation, users, validate};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateUser {
    pub user_id: String,
    pub name: Option<String>,
    pub avatar_url: Option<String>,
}

impl Operation for UpdateUser {
    const NAME: &'static str = "update-user";
    const PATHS: &'static [&'static str] = &["/v4/user/update"];
    type Response = ();

    fn validate(&self) -> Result<(), ApiError> {
        validate::user_id("userId", &self.user_id)?;
        if let Some(name) = &self.name {
            validate::non_empty("name", name)?;
            validate::max_chars("name", name, 64)?;
        }
        if let Some(avatar) = &self.avatar_url {
            validate::max_bytes("avatarUrl", avatar, 1024)?;
        }
        Ok(())
    }

    async fn run(self, call: Call) -> Result<(), ApiError> {
        users::update(
            &call.state,
            &call.app.app_key,
            &self.user_id,
            self.name.as_deref(),
            self.avatar_url.as_deref(),
            call.now_ms,
        )
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_follow_the_contract() {
        let ok = UpdateUser {
            user_id: "a".into(),
            name: None,
            avatar_url: Some(String::new()),
        };
        assert!(ok.validate().is_ok());
        let long = UpdateUser {
            user_id: "a".into(),
            name: Some("n".repeat(65)),
            avatar_url: None,
        };
        assert_eq!(long.validate().unwrap_err().code(), 1005);
        let empty = UpdateUser {
            user_id: "a".into(),
            name: Some(" ".into()),
            avatar_url: None,
        };
        assert_eq!(empty.validate().unwrap_err().code(), 1002);
    }
}
