//! `POST /v4/user/blocklist/get`: the users `userId` blocks, newest first, `pageSize` (default
//! and maximum 1,000) at a time. The cursor is sent as both `pageToken` (SDK) and `next` (docs),
//! empty on the last page. The SDK's `order` (0 or 1) is accepted and the order stays newest first.

use serde::{Deserialize, Serialize};
use shared::paging::CursorPaging;
use shared::{ApiError, Call, Operation, blocklist, page_token, validate};

pub const MAX_PAGE_SIZE: u32 = 1_000;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetUserBlocklist {
    pub user_id: String,
    #[serde(flatten)]
    pub paging: CursorPaging,
}

/// One page of the blocklist; `pageToken` (and its alias `next`) is empty on the last page.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Blocklist {
    pub page_token: String,
    pub next: String,
    pub blocked_user_ids: Vec<String>,
}

impl Operation for GetUserBlocklist {
    const NAME: &'static str = "get-user-blocklist";
    const PATHS: &'static [&'static str] = &["/v4/user/blocklist/get"];
    type Response = Blocklist;
    const READ_ONLY: bool = true;

    fn validate(&self) -> Result<(), ApiError> {
        validate::user_id("userId", &self.user_id)?;
        self.paging.validate(MAX_PAGE_SIZE)
    }

    async fn run(self, call: Call) -> Result<Blocklist, ApiError> {
        let secret = call.state.token_secret.get().await?;
        let app_key = &call.app.app_key;
        let listing = format!("{}:{}", Self::NAME, self.user_id);
        let start = page_token::decode(secret, app_key, &listing, self.paging.token())?;
        let size = self.paging.size(MAX_PAGE_SIZE);
        let (blocked, next) =
            blocklist::page(&call.state, &call.app, &self.user_id, size, start).await?;
        let token = page_token::encode(secret, app_key, &listing, next.as_ref())?;
        Ok(Blocklist {
            next: token.clone(),
            page_token: token,
            blocked_user_ids: blocked,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_follow_the_contract() {
        let get = |page_size, order| GetUserBlocklist {
            user_id: "alice".into(),
            paging: CursorPaging {
                page_token: None,
                page_size,
                order,
            },
        };
        assert!(get(Some(1000), Some(0)).validate().is_ok());
        assert!(get(None, Some(1)).validate().is_ok());
        for bad in [
            get(Some(0), None),
            get(Some(1001), None),
            get(None, Some(2)),
        ] {
            assert_eq!(bad.validate().unwrap_err().code(), 1002);
        }
    }
}
