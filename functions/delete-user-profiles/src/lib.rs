//! `POST /v4/user/profile/delete`: clears the hosted profiles (both parts) of up to 20 users;
//! users without one are skipped.

use serde::Deserialize;
use shared::{ApiError, Call, Operation, profiles, validate};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteUserProfiles {
    pub user_ids: Vec<String>,
}

impl Operation for DeleteUserProfiles {
    const NAME: &'static str = "delete-user-profiles";
    const PATHS: &'static [&'static str] = &["/v4/user/profile/delete"];
    type Response = ();

    fn validate(&self) -> Result<(), ApiError> {
        validate::user_ids("userIds", &self.user_ids, profiles::MAX_USERS)
    }

    async fn run(self, call: Call) -> Result<(), ApiError> {
        profiles::delete(&call.state, &call.app.app_key, &self.user_ids).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::testing::assert_id_list_limit;

    #[test]
    fn at_most_twenty_valid_users() {
        assert_id_list_limit(20, |user_ids| DeleteUserProfiles { user_ids }.validate());
        let bad = DeleteUserProfiles {
            user_ids: vec!["a#b".into()],
        };
        assert_eq!(bad.validate().unwrap_err().code(), 1002);
    }
}
