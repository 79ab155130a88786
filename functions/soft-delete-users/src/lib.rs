//! `POST /v4/user/soft-delete`: from the response on, the users cannot get tokens, their tokens
//! fail verification, `get-user` answers 404/400 and they are listed as soft-deleted. Their data
//! is purged asynchronously (stream → `purge-soft-deleted-users`); the operation records each
//! user's result (`/v4/ext/operation/get`).

use serde::Deserialize;
use shared::operations::OperationStarted;
use shared::{ApiError, Call, Operation, lifecycle, validate};

pub const MAX_USERS: usize = 100;

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SoftDeleteUsers {
    pub user_ids: Vec<String>,
}

impl Operation for SoftDeleteUsers {
    const NAME: &'static str = "soft-delete-users";
    const PATHS: &'static [&'static str] = &["/v4/user/soft-delete"];
    const CONSOLE_PATHS: &'static [&'static str] = &["/console/v1/users/soft-delete"];
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
            lifecycle::soft_delete(&call.state, &call.app, &user_ids, call.now_ms).await?;
        // Live connections are closed at once (the purge would only delete their items later).
        shared::connections::close_users(
            &call.state,
            &call.app.app_key,
            &user_ids,
            None,
            shared::connections::Closing::SoftDelete,
        )
        .await?;
        Ok(OperationStarted { operation_id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::testing::assert_id_list_limit;

    #[test]
    fn at_most_100_users() {
        assert_id_list_limit(100, |user_ids| SoftDeleteUsers { user_ids }.validate());
    }
}
