//! `POST /v4/user/soft-deleted/list`: soft-deleted users, oldest deletion first, including
//! users whose purge is still running.

use serde::{Deserialize, Serialize};
use shared::paging::NumberedPaging;
use shared::{ApiError, Call, Operation, lifecycle};

pub const MAX_PAGE_SIZE: u32 = 50;

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ListSoftDeletedUsers {
    #[serde(flatten)]
    pub paging: NumberedPaging,
}

impl ListSoftDeletedUsers {
    fn page(&self) -> u32 {
        self.paging.page()
    }

    fn page_size(&self) -> u32 {
        self.paging.size(MAX_PAGE_SIZE)
    }
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SoftDeletedUsers {
    pub user_ids: Vec<String>,
}

impl Operation for ListSoftDeletedUsers {
    const NAME: &'static str = "list-soft-deleted-users";
    const PATHS: &'static [&'static str] = &["/v4/user/soft-deleted/list"];
    const CONSOLE_PATHS: &'static [&'static str] = &["/console/v1/users/soft-deleted"];
    type Response = SoftDeletedUsers;
    const READ_ONLY: bool = true;

    fn validate(&self) -> Result<(), ApiError> {
        self.paging.validate(MAX_PAGE_SIZE)?;
        if self.page() > 10_000 {
            return Err(ApiError::too_long("page", 10_000));
        }
        Ok(())
    }

    async fn run(self, call: Call) -> Result<SoftDeletedUsers, ApiError> {
        let (user_ids, _) = lifecycle::list_soft_deleted(
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
            paging: NumberedPaging {
                page: None,
                page_size,
            },
        };
        assert!(list(None).validate().is_ok());
        assert_eq!(list(Some(51)).validate().unwrap_err().code(), 1005);
        assert_eq!(list(Some(0)).validate().unwrap_err().code(), 1002);
        assert_eq!(
            ListSoftDeletedUsers {
                paging: NumberedPaging {
                    page: Some(0),
                    page_size: None
                }
            }
            .page(),
            1
        );
    }
}
