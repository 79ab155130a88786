//! `POST /v4/user/blocklist/remove`: `userId` unblocks each of `blockedUserIds` (at most 20);
//! users it does not block are skipped.

use serde::Deserialize;
use shared::{ApiError, Call, Operation, blocklist, validate};

pub const MAX_TARGETS: usize = 20;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoveUserBlocklist {
    pub user_id: String,
    pub blocked_user_ids: Vec<String>,
}

impl Operation for RemoveUserBlocklist {
    const NAME: &'static str = "remove-user-blocklist";
    const PATHS: &'static [&'static str] = &["/v4/user/blocklist/remove"];
    // Every write is a transaction: the nonce joins the first.
    const NONCE: shared::replay::Placement = shared::replay::Placement::InFirstTransaction;
    type Response = ();

    fn validate(&self) -> Result<(), ApiError> {
        validate::user_id("userId", &self.user_id)?;
        validate::user_ids("blockedUserIds", &self.blocked_user_ids, MAX_TARGETS)
    }

    async fn run(self, call: Call) -> Result<(), ApiError> {
        blocklist::remove(
            &call.state,
            &call.app,
            &self.user_id,
            &self.blocked_user_ids,
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
        assert_id_list_limit(20, |blocked_user_ids| {
            RemoveUserBlocklist {
                user_id: "alice".into(),
                blocked_user_ids,
            }
            .validate()
        });
    }
}
