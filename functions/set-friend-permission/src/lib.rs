//! `POST /v4/friend/permission/set`: the friend permission of each of `userIds` (at most 100):
//! `permissionType` 1 (anyone befriends them at once), 2 (requests need approval) or 3 (refuse
//! all requests).

use serde::Deserialize;
use shared::{ApiError, Call, Operation, friends, validate};

pub const MAX_USERS: usize = 100;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetFriendPermission {
    pub user_ids: Vec<String>,
    pub permission_type: i64,
}

impl Operation for SetFriendPermission {
    const NAME: &'static str = "set-friend-permission";
    const PATHS: &'static [&'static str] = &["/v4/friend/permission/set"];
    // Every write is a transaction: the nonce joins the first.
    const NONCE: shared::replay::Placement = shared::replay::Placement::InFirstTransaction;
    type Response = ();

    fn validate(&self) -> Result<(), ApiError> {
        validate::user_ids("userIds", &self.user_ids, MAX_USERS)?;
        if !(1..=3).contains(&self.permission_type) {
            return Err(ApiError::invalid("permissionType", "must be 1, 2 or 3"));
        }
        Ok(())
    }

    async fn run(self, call: Call) -> Result<(), ApiError> {
        let permission = u8::try_from(self.permission_type)
            .map_err(|_| ApiError::invalid("permissionType", "must be 1, 2 or 3"))?;
        friends::set_permissions(&call.state, &call.app, &self.user_ids, permission).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::testing::{assert_id_list_limit, ids};

    #[test]
    fn limits_follow_the_contract() {
        let set = |user_ids, permission_type| SetFriendPermission {
            user_ids,
            permission_type,
        };
        assert_id_list_limit(100, |user_ids| set(user_ids, 3).validate());
        for bad in [0, 4, -1] {
            let err = set(ids(1), bad).validate().unwrap_err();
            assert!(err.to_string().starts_with("permissionType"), "{err}");
        }
    }
}
