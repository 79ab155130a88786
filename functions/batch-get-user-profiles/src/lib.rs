//! `POST /v4/user/profile/batch/get`: the hosted profiles of up to 20 users. Users without one
//! (unknown or soft-deleted users too) are left out; empty parts are left out.

use serde::{Deserialize, Serialize};
use shared::{ApiError, Call, Operation, profiles, validate};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchGetUserProfiles {
    pub user_ids: Vec<String>,
}

/// The profiles found, in request order; users without one are left out.
#[derive(Debug, Serialize)]
pub struct Profiles {
    pub users: Vec<profiles::Profile>,
}

impl Operation for BatchGetUserProfiles {
    const NAME: &'static str = "batch-get-user-profiles";
    const PATHS: &'static [&'static str] = &["/v4/user/profile/batch/get"];
    type Response = Profiles;
    const READ_ONLY: bool = true;

    fn validate(&self) -> Result<(), ApiError> {
        validate::user_ids("userIds", &self.user_ids, profiles::MAX_USERS)
    }

    async fn run(self, call: Call) -> Result<Profiles, ApiError> {
        let users = profiles::batch_get(&call.state, &call.app.app_key, &self.user_ids).await?;
        Ok(Profiles { users })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::testing::assert_id_list_limit;

    #[test]
    fn at_most_twenty_users() {
        assert_id_list_limit(20, |user_ids| BatchGetUserProfiles { user_ids }.validate());
    }
}
