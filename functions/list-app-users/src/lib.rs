//! Console `POST /console/v1/users/list`: every user an app registered (active and
//! soft-deleted), newest first, a page at a time: O(page) at any size (`GSI2`).

use serde::{Deserialize, Serialize};
use shared::console::{self, ConsoleCall, Listing};
use shared::users::{self, ListedUser};
use shared::{ApiError, ConsoleOperation, apps};

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListAppUsers {
    pub app_key: String,
    pub page_size: Option<u32>,
    pub page_token: Option<String>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AppUsers {
    pub users: Vec<ListedUser>,
    /// Absent after the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_token: Option<String>,
}

impl ConsoleOperation for ListAppUsers {
    const NAME: &'static str = "list-app-users";
    const PATHS: &'static [&'static str] = &["/console/v1/users/list"];
    type Response = AppUsers;

    fn validate(&self) -> Result<(), ApiError> {
        apps::validate_app_key(&self.app_key)?;
        console::check_page_size(self.page_size)
    }

    async fn run(self, call: ConsoleCall) -> Result<AppUsers, ApiError> {
        let listing = Listing {
            secret: call.state.token_secret.get().await?,
            app_key: &self.app_key,
            name: Self::NAME,
        };
        let start = listing.start(self.page_token.as_deref())?;
        let size = console::page_size(self.page_size);
        let (users, last) = users::page(&call.state, &self.app_key, size, start).await?;
        Ok(AppUsers {
            users,
            page_token: listing.next(last.as_ref())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(page_size: Option<u32>) -> Result<(), ApiError> {
        ListAppUsers {
            app_key: "k1".into(),
            page_size,
            page_token: None,
        }
        .validate()
    }

    #[test]
    fn page_sizes_follow_the_console_contract() {
        assert!(list(None).is_ok() && list(Some(1)).is_ok() && list(Some(100)).is_ok());
        assert_eq!(list(Some(0)).map_err(|e| e.code()), Err(1002));
        assert_eq!(list(Some(101)).map_err(|e| e.code()), Err(1005));
    }
}
