//! `POST /v4/user/ban/list`: the bans in force, latest expiry first. `page` (from 1) and
//! `pageSize` (default 50, at most 1,000); without `page` (or with 0), the first 1,000.

use serde::{Deserialize, Serialize};
use shared::paging::NumberedPaging;
use shared::{ApiError, Call, Operation, clock, moderation};

pub const DEFAULT_PAGE_SIZE: u32 = 50;
pub const MAX_PAGE_SIZE: u32 = 1_000;

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ListBannedUsers {
    #[serde(flatten)]
    pub paging: NumberedPaging,
}

impl ListBannedUsers {
    /// `(skip, take)`.
    fn window(&self) -> (u64, usize) {
        let size = self.paging.size(DEFAULT_PAGE_SIZE);
        match self.paging.page {
            None | Some(0) => (0, MAX_PAGE_SIZE as usize),
            Some(page) => (u64::from(page - 1) * u64::from(size), size as usize),
        }
    }
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BannedUsers {
    pub banned_users: Vec<BannedUser>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BannedUser {
    pub user_id: String,
    /// UTC, `yyyy-MM-dd HH:mm:ss`.
    #[serde(rename = "banExpiresAt")]
    pub banned_expires_at: String,
}

impl Operation for ListBannedUsers {
    const NAME: &'static str = "list-banned-users";
    const PATHS: &'static [&'static str] = &["/v4/user/ban/list"];
    const CONSOLE_PATHS: &'static [&'static str] = &["/console/v1/users/banned"];
    type Response = BannedUsers;
    const READ_ONLY: bool = true;

    fn validate(&self) -> Result<(), ApiError> {
        self.paging.validate(MAX_PAGE_SIZE)
    }

    async fn run(self, call: Call) -> Result<BannedUsers, ApiError> {
        let (skip, take) = self.window();
        let (bans, _) =
            moderation::list_bans(&call.state, &call.app.app_key, call.now_ms, skip, take).await?;
        let banned_users = bans
            .into_iter()
            .map(|ban| BannedUser {
                banned_expires_at: clock::format_utc(ban.expires_at),
                user_id: ban.user_id,
            })
            .collect();
        Ok(BannedUsers { banned_users })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(page: Option<u32>, page_size: Option<u32>) -> ListBannedUsers {
        ListBannedUsers {
            paging: NumberedPaging { page, page_size },
        }
    }

    #[test]
    fn pages_and_sizes() {
        assert_eq!(list(None, None).window(), (0, 1000));
        assert_eq!(list(Some(0), Some(5)).window(), (0, 1000));
        assert_eq!(list(Some(1), None).window(), (0, 50));
        assert_eq!(list(Some(3), Some(10)).window(), (20, 10));
        assert!(list(Some(1), Some(1000)).validate().is_ok());
        for (size, code) in [(0, 1002), (1001, 1005)] {
            let err = list(Some(1), Some(size)).validate().unwrap_err();
            assert_eq!(err.code(), code);
            assert!(err.to_string().starts_with("pageSize:"), "{err}");
        }
    }
}
