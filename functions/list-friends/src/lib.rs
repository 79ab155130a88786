//! `POST /v4/friend/list`: a page of `userId`'s friends by time added (`order` 0 oldest first, 1
//! newest first), with `totalCount` and an opaque `pageToken` (empty on the last page). Each
//! friend's `name` is the hosted profile's name, else the user's name.

use serde::{Deserialize, Serialize};
use shared::paging::CursorPaging;
use shared::{ApiError, Call, Operation, friends, page_token, validate};

pub const DEFAULT_PAGE_SIZE: u32 = 50;
pub const MAX_PAGE_SIZE: u32 = 100;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListFriends {
    pub user_id: String,
    #[serde(flatten)]
    pub paging: CursorPaging,
}

impl ListFriends {
    /// The listing a page token is bound to: the user and the order.
    fn listing(&self) -> String {
        format!(
            "{}:{}:{}",
            Self::NAME,
            self.user_id,
            u8::from(self.paging.newest_first())
        )
    }
}

/// One page of friends and how many the user has; `pageToken` is empty on the last page.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Friends {
    pub page_token: String,
    pub total_count: i64,
    pub friends: Vec<shared::friends::Friend>,
}

impl Operation for ListFriends {
    const NAME: &'static str = "list-friends";
    const PATHS: &'static [&'static str] = &["/v4/friend/list"];
    type Response = Friends;
    const READ_ONLY: bool = true;

    fn validate(&self) -> Result<(), ApiError> {
        validate::user_id("userId", &self.user_id)?;
        self.paging.validate(MAX_PAGE_SIZE)
    }

    async fn run(self, call: Call) -> Result<Friends, ApiError> {
        let secret = call.state.token_secret.get().await?;
        let app_key = &call.app.app_key;
        let listing = self.listing();
        let start = page_token::decode(secret, app_key, &listing, self.paging.token())?;
        let page = friends::list(
            &call.state,
            &call.app,
            &self.user_id,
            self.paging.newest_first(),
            self.paging.size(DEFAULT_PAGE_SIZE),
            start,
        )
        .await?;
        let token = page_token::encode(secret, app_key, &listing, page.next.as_ref())?;
        Ok(Friends {
            page_token: token,
            total_count: page.total,
            friends: page.friends,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(page_size: Option<u32>, order: Option<u8>) -> ListFriends {
        ListFriends {
            user_id: "alice".into(),
            paging: CursorPaging {
                page_token: None,
                page_size,
                order,
            },
        }
    }

    #[test]
    fn limits_follow_the_contract() {
        assert!(list(None, None).validate().is_ok());
        assert!(list(Some(100), Some(1)).validate().is_ok());
        for bad in [
            list(Some(0), None),
            list(Some(101), None),
            list(None, Some(2)),
        ] {
            assert_eq!(bad.validate().unwrap_err().code(), 1002);
        }
    }

    #[test]
    fn tokens_are_bound_to_user_and_order() {
        assert_ne!(list(None, Some(0)).listing(), list(None, Some(1)).listing());
        assert_eq!(list(None, None).listing(), list(None, Some(0)).listing());
    }
}
