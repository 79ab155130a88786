//! Console `POST /console/v1/users/get`: one user as the console shows it: info, tags, online
//! status, ban, soft-delete state and purge, friend and blocklist counts. A user the app never
//! registered (or a deleted test user): 404/400, as `/v4/user/get` answers it.

use serde::Deserialize;
use shared::console::ConsoleCall;
use shared::user_details::{self, UserDetails};
use shared::{ApiError, ConsoleOperation, apps, validate};

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetUserDetails {
    pub app_key: String,
    pub user_id: String,
}

impl ConsoleOperation for GetUserDetails {
    const NAME: &'static str = "get-user-details";
    const PATHS: &'static [&'static str] = &["/console/v1/users/get"];
    type Response = UserDetails;

    fn validate(&self) -> Result<(), ApiError> {
        apps::validate_app_key(&self.app_key)?;
        validate::user_id("userId", &self.user_id)
    }

    async fn run(self, call: ConsoleCall) -> Result<UserDetails, ApiError> {
        user_details::read(&call.state, &self.app_key, &self.user_id, call.now_ms)
            .await?
            .ok_or(ApiError::UserNotFound(self.user_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked_before_any_read() {
        let get = |app_key: &str, user_id: &str| {
            GetUserDetails {
                app_key: app_key.into(),
                user_id: user_id.into(),
            }
            .validate()
            .map_err(|e| e.code())
        };
        assert_eq!(get("k1", "alice"), Ok(()));
        assert_eq!(get("k1", ""), Err(1002));
        assert!(get("", "alice").is_err());
    }
}
