//! `POST /v4/ext/friend/request/list` (extension): the pending friend requests `userId` received,
//! newest first: `{"requests":[{"requesterId","extra","createdAt"}],"pageToken"}`. Optional
//! `pageSize` (default and maximum 100) and `pageToken` (empty on the last page); `order` (0 or 1)
//! is accepted and the order stays newest first.

use serde::{Deserialize, Serialize};
use shared::paging::CursorPaging;
use shared::{ApiError, Call, Operation, friends, page_token, validate};

pub const MAX_PAGE_SIZE: u32 = 100;

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ListFriendRequests {
    pub user_id: String,
    #[serde(flatten)]
    pub paging: CursorPaging,
}

/// One page of pending requests; `pageToken` is empty on the last page.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct FriendRequests {
    pub requests: Vec<shared::friends::Request>,
    pub page_token: String,
}

impl Operation for ListFriendRequests {
    const NAME: &'static str = "list-friend-requests";
    const PATHS: &'static [&'static str] = &["/v4/ext/friend/request/list"];
    type Response = FriendRequests;
    const READ_ONLY: bool = true;

    fn validate(&self) -> Result<(), ApiError> {
        validate::user_id("userId", &self.user_id)?;
        self.paging.validate(MAX_PAGE_SIZE)
    }

    async fn run(self, call: Call) -> Result<FriendRequests, ApiError> {
        let secret = call.state.token_secret.get().await?;
        let app_key = &call.app.app_key;
        let listing = format!("{}:{}", Self::NAME, self.user_id);
        let start = page_token::decode(secret, app_key, &listing, self.paging.token())?;
        let size = self.paging.size(MAX_PAGE_SIZE);
        let (requests, next) =
            friends::requests(&call.state, &call.app, &self.user_id, size, start).await?;
        let token = page_token::encode(secret, app_key, &listing, next.as_ref())?;
        Ok(FriendRequests {
            requests,
            page_token: token,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_checked() {
        let list = |page_size| ListFriendRequests {
            user_id: "alice".into(),
            paging: CursorPaging {
                page_token: None,
                page_size,
                order: None,
            },
        };
        assert!(list(None).validate().is_ok());
        assert!(list(Some(100)).validate().is_ok());
        assert_eq!(list(Some(101)).validate().unwrap_err().code(), 1002);
        assert_eq!(list(Some(0)).validate().unwrap_err().code(), 1002);
    }
}
