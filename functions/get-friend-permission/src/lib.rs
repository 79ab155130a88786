//! `POST /v4/friend/permission/get`: the friend permission of each of `userIds` (at most 100);
//! the app's default when never set.

use serde::{Deserialize, Serialize};
use shared::{ApiError, Call, Operation, friends, validate};

pub const MAX_USERS: usize = 100;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetFriendPermission {
    pub user_ids: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Permissions {
    pub permissions: Vec<UserPermission>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserPermission {
    pub user_id: String,
    pub permission_type: u8,
}

impl Operation for GetFriendPermission {
    const NAME: &'static str = "get-friend-permission";
    const PATHS: &'static [&'static str] = &["/v4/friend/permission/get"];
    type Response = Permissions;
    const READ_ONLY: bool = true;

    fn validate(&self) -> Result<(), ApiError> {
        validate::user_ids("userIds", &self.user_ids, MAX_USERS)
    }

    async fn run(self, call: Call) -> Result<Permissions, ApiError> {
        let permissions = friends::permissions(&call.state, &call.app, &self.user_ids).await?;
        let permissions = permissions
            .into_iter()
            .map(|(user_id, permission_type)| UserPermission {
                user_id,
                permission_type,
            })
            .collect();
        Ok(Permissions { permissions })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::testing::assert_id_list_limit;

    #[test]
    fn limits_follow_the_contract() {
        assert_id_list_limit(100, |user_ids| GetFriendPermission { user_ids }.validate());
    }
}
