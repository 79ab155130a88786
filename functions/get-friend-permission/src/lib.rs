//! `POST /v4/friend/permission/get`: the friend permission of each of `userIds` (at most 100);
//! the app's default when never set.

use serde::Deserialize;
use serde_json::json;
use shared::{ApiError, Call, Operation, Reply, friends, validate};

pub const MAX_USERS: usize = 100;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetFriendPermission {
    pub user_ids: Vec<String>,
}

impl Operation for GetFriendPermission {
    const NAME: &'static str = "get-friend-permission";
    const PATHS: &'static [&'static str] = &["/v4/friend/permission/get"];
    const READ_ONLY: bool = true;

    fn validate(&self) -> Result<(), ApiError> {
        validate::user_ids("userIds", &self.user_ids, MAX_USERS)
    }

    async fn run(self, call: Call) -> Result<Reply, ApiError> {
        let permissions = friends::permissions(&call.state, &call.app, &self.user_ids).await?;
        let permissions: Vec<_> = permissions
            .into_iter()
            .map(|(user_id, p)| json!({ "userId": user_id, "permissionType": p }))
            .collect();
        Reply::with(json!({ "permissions": permissions }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_follow_the_contract() {
        let ids = |n: usize| (0..n).map(|i| format!("u{i}")).collect::<Vec<_>>();
        assert!(
            GetFriendPermission { user_ids: ids(100) }
                .validate()
                .is_ok()
        );
        let err = GetFriendPermission { user_ids: ids(101) }
            .validate()
            .unwrap_err();
        assert_eq!(err.code(), 1005);
    }
}
