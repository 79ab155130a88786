//! `POST /v4/user/soft-deleted/list`: soft-deleted users, oldest deletion first, including
//! users whose purge is still running.

use serde::{Deserialize, Serialize};
use shared::{ApiError, Call, Operation, lifecycle};

pub const MAX_PAGE_SIZE: u32 = 50;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListSoftDeletedUsers {
    pub page: Option<u32>,
    pub page_size: Option<u32>,
}

impl ListSoftDeletedUsers {
    fn page(&self) -> u32 {
        self.page.unwrap_or(1).max(1)
    }

    fn page_size(&self) -> u32 {
        self.page_size.unwrap_or(MAX_PAGE_SIZE)
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SoftDeletedUsers {
    pub user_ids: Vec<String>,
}

impl Operation for ListSoftDeletedUsers {
    const NAME: &'static str = "list-soft-deleted-users";
    const PATHS: &'static [&'static str] = &["/v4/user/soft-deleted/list"];
    type Response = SoftDeletedUsers;
    const READ_ONLY: bool = true;

    fn validate(&self) -> Result<(), ApiError> {
        if self.page_size() == 0 {
            return Err(ApiError::invalid("pageSize", "must be at least 1"));
        }
        if self.page_size() > MAX_PAGE_SIZE {
            return Err(ApiError::too_long("pageSize", MAX_PAGE_SIZE));
        }
        if self.page() > 10_000 {
            return Err(ApiError::too_long("page", 10_000));
        }
        Ok(())
    }

    async fn run(self, call: Call) -> Result<SoftDeletedUsers, ApiError> {
        let user_ids = lifecycle::list_soft_deleted(
            &call.state,
            &call.app.app_key,
            self.page(),
            self.page_size(),
        )
        .await?;
        Ok(SoftDeletedUsers { user_ids })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_size_limits() {
        let list = |page_size| ListSoftDeletedUsers {
            page: None,
            page_size,
        };
        assert!(list(None).validate().is_ok());
        assert_eq!(list(Some(51)).validate().unwrap_err().code(), 1005);
        assert_eq!(list(Some(0)).validate().unwrap_err().code(), 1002);
        assert_eq!(
            ListSoftDeletedUsers {
                page: Some(0),
                page_size: None
            }
            .page(),
            1
        );
    }
}
