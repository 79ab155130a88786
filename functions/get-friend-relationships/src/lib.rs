//! `POST /v4/friend/relationship/get`: for each of `targetIds` (at most 20), whether `userId` and
//! it are friends (`result` 4) or not (1).

use serde::{Deserialize, Serialize};
use shared::{ApiError, Call, Operation, friends, validate};

pub const MAX_TARGETS: usize = 20;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetFriendRelationships {
    pub user_id: String,
    pub target_ids: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Friendships {
    pub friendships: Vec<Friendship>,
}

/// `result`: the contract's relationship code between `userId` and this target.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Friendship {
    pub user_id: String,
    pub result: i64,
}

impl Operation for GetFriendRelationships {
    const NAME: &'static str = "get-friend-relationships";
    const PATHS: &'static [&'static str] = &["/v4/friend/relationship/get"];
    type Response = Friendships;
    const READ_ONLY: bool = true;

    fn validate(&self) -> Result<(), ApiError> {
        validate::user_id("userId", &self.user_id)?;
        validate::user_ids("targetIds", &self.target_ids, MAX_TARGETS)
    }

    async fn run(self, call: Call) -> Result<Friendships, ApiError> {
        let targets = validate::dedup(&self.target_ids);
        let results =
            friends::relationships(&call.state, &call.app, &self.user_id, &targets).await?;
        let friendships = results
            .into_iter()
            .map(|(user_id, result)| Friendship { user_id, result })
            .collect();
        Ok(Friendships { friendships })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::testing::assert_id_list_limit;

    #[test]
    fn limits_follow_the_contract() {
        assert_id_list_limit(20, |target_ids| {
            GetFriendRelationships {
                user_id: "alice".into(),
                target_ids,
            }
            .validate()
        });
    }
}
