//! `POST /v4/friend/remove` (alias `/v4/friend/delete`): ends the friendships of `userId` with
//! each of `targetIds` (at most 100) in both directions. Targets who are not friends are skipped.

use serde::Deserialize;
use shared::{ApiError, Call, Operation, friends, users, validate};

pub const MAX_TARGETS: usize = 100;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoveFriends {
    pub user_id: String,
    pub target_ids: Vec<String>,
}

impl Operation for RemoveFriends {
    const NAME: &'static str = "remove-friends";
    const PATHS: &'static [&'static str] = &["/v4/friend/remove", "/v4/friend/delete"];
    type Response = ();

    fn validate(&self) -> Result<(), ApiError> {
        validate::user_id("userId", &self.user_id)?;
        validate::user_ids("targetIds", &self.target_ids, MAX_TARGETS)
    }

    async fn run(self, call: Call) -> Result<(), ApiError> {
        let targets: Vec<String> = validate::dedup(&self.target_ids)
            .into_iter()
            .filter(|t| *t != self.user_id)
            .collect();
        if targets.is_empty() {
            // Only themselves: nothing to remove, but the user must exist and be active.
            let state = users::get(&call.state, &call.app.app_key, &self.user_id)
                .await?
                .map(|u| u.state);
            if state == Some(users::UserState::Active) {
                return Ok(());
            }
            return Err(shared::edges::inactive_error(&self.user_id, state));
        }
        friends::remove(&call.state, &call.app, &self.user_id, &targets, call.now_ms).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::testing::assert_id_list_limit;

    #[test]
    fn limits_follow_the_contract() {
        let remove = |target_ids| RemoveFriends {
            user_id: "alice".into(),
            target_ids,
        };
        assert_id_list_limit(100, |targets| remove(targets).validate());
        assert_eq!(
            remove(vec!["a b".into()]).validate().unwrap_err().code(),
            1002
        );
    }
}
