//! `POST /v4/user/blocklist/add`: `userId` blocks each of `targetUserIds` (at most 20): they can
//! no longer send it direct messages. Within the app's blocklist limit (403/20106, nothing added).

use serde::Deserialize;
use shared::{ApiError, Call, Operation, blocklist, validate};

pub const MAX_TARGETS: usize = 20;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddUserBlocklist {
    pub user_id: String,
    pub target_user_ids: Vec<String>,
}

impl Operation for AddUserBlocklist {
    const NAME: &'static str = "add-user-blocklist";
    const PATHS: &'static [&'static str] = &["/v4/user/blocklist/add"];
    type Response = ();

    fn validate(&self) -> Result<(), ApiError> {
        validate::user_id("userId", &self.user_id)?;
        validate::user_ids("targetUserIds", &self.target_user_ids, MAX_TARGETS)?;
        if self.target_user_ids.contains(&self.user_id) {
            return Err(ApiError::invalid(
                "targetUserIds",
                "a user cannot block themselves",
            ));
        }
        Ok(())
    }

    async fn run(self, call: Call) -> Result<(), ApiError> {
        blocklist::add(
            &call.state,
            &call.app,
            &self.user_id,
            &self.target_user_ids,
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
        let ids = |n: usize| (0..n).map(|i| format!("u{i}")).collect::<Vec<_>>();
        let add = |targets| AddUserBlocklist {
            user_id: "alice".into(),
            target_user_ids: targets,
        };
        assert!(add(ids(20)).validate().is_ok());
        assert_eq!(add(ids(21)).validate().unwrap_err().code(), 1005);
        assert_eq!(add(ids(0)).validate().unwrap_err().code(), 1002);
        let err = add(vec!["bob".into(), "alice".into()])
            .validate()
            .unwrap_err();
        assert_eq!(err.code(), 1002);
        assert!(err.to_string().starts_with("targetUserIds"), "{err}");
    }
}
