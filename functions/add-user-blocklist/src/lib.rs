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
    // Every write is a transaction: the nonce joins the first.
    const NONCE: shared::replay::Placement = shared::replay::Placement::InFirstTransaction;
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
    use shared::testing::assert_id_list_limit;

    #[test]
    fn limits_follow_the_contract() {
        let add = |targets| AddUserBlocklist {
            user_id: "alice".into(),
            target_user_ids: targets,
        };
        assert_id_list_limit(20, |targets| add(targets).validate());
        let err = add(vec!["bob".into(), "alice".into()])
            .validate()
            .unwrap_err();
        assert_eq!(err.code(), 1002);
        assert!(err.to_string().starts_with("targetUserIds"), "{err}");
    }
}
