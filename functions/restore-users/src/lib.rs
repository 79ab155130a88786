//! `POST /v4/user/restore`: restores soft-deleted users at least an hour after their deletion
//! (once purged). Data does not come back; per-user results are in the operation record.

use serde::Deserialize;
use shared::operations::OperationStarted;
use shared::{ApiError, Call, Operation, lifecycle, validate};

pub const MAX_USERS: usize = 100;

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RestoreUsers {
    pub user_ids: Vec<String>,
}

impl Operation for RestoreUsers {
    const NAME: &'static str = "restore-users";
    const PATHS: &'static [&'static str] = &["/v4/user/restore"];
    const CONSOLE_PATHS: &'static [&'static str] = &["/console/v1/users/restore"];
    type Response = OperationStarted;

    /// Nexconn limits these in users per second.
    fn rate_units(&self) -> u32 {
        u32::try_from(validate::dedup(&self.user_ids).len()).unwrap_or(u32::MAX)
    }
    fn validate(&self) -> Result<(), ApiError> {
        validate::user_ids("userIds", &self.user_ids, MAX_USERS)
    }

    async fn run(self, call: Call) -> Result<OperationStarted, ApiError> {
        let user_ids = validate::dedup(&self.user_ids);
        let operation_id =
            lifecycle::restore(&call.state, &call.app, &user_ids, call.now_ms).await?;
        Ok(OperationStarted { operation_id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::testing::assert_id_list_limit;

    #[test]
    fn at_most_100_users() {
        assert_id_list_limit(100, |user_ids| RestoreUsers { user_ids }.validate());
    }
}
