//! `POST /v4/user/unban`: lifts the bans of these users (unknown or unbanned users: no-op).

use serde::Deserialize;
use shared::{ApiError, Call, Operation, moderation, validate};

pub const MAX_USERS: usize = 20;

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UnbanUsers {
    pub user_ids: Vec<String>,
}

impl Operation for UnbanUsers {
    const NAME: &'static str = "unban-users";
    const PATHS: &'static [&'static str] = &["/v4/user/unban"];
    const CONSOLE_PATHS: &'static [&'static str] = &["/console/v1/users/unban"];
    // Every write is a transaction: the nonce joins the first.
    const NONCE: shared::replay::Placement = shared::replay::Placement::InFirstTransaction;
    type Response = ();

    fn validate(&self) -> Result<(), ApiError> {
        validate::user_ids("userIds", &self.user_ids, MAX_USERS)
    }

    async fn run(self, call: Call) -> Result<(), ApiError> {
        moderation::unban(&call.state, &call.app.app_key, &self.user_ids, call.now_ms).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::testing::assert_id_list_limit;

    #[test]
    fn at_most_twenty_valid_users() {
        let unban = |ids: Vec<String>| UnbanUsers { user_ids: ids }.validate();
        assert_id_list_limit(20, unban);
        assert_eq!(unban(vec!["a b".into()]).unwrap_err().code(), 1002);
    }
}
