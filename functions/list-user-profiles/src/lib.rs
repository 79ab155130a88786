//! `POST /v4/user/profile/list`: a page of the users with a hosted profile, by registration time
//! (`order` 0 oldest first, 1 newest first). Reading page N costs the same whatever N is, and a
//! walk through the pages returns each profile once while profiles are added (see
//! `shared::profiles`).

use serde::{Deserialize, Serialize};
use shared::paging::NumberedPaging;
use shared::profiles::{self, Order};
use shared::{ApiError, Call, Operation};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListUserProfiles {
    #[serde(flatten)]
    pub paging: NumberedPaging,
    pub order: Option<u8>,
}

impl ListUserProfiles {
    fn order(&self) -> Order {
        match self.order {
            Some(1) => Order::Descending,
            _ => Order::Ascending,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ProfilePage {
    pub users: Vec<profiles::Profile>,
}

impl Operation for ListUserProfiles {
    const NAME: &'static str = "list-user-profiles";
    const PATHS: &'static [&'static str] = &["/v4/user/profile/list"];
    type Response = ProfilePage;
    // Not read-only: it remembers where the page ended, which a replayed request must not do.

    fn validate(&self) -> Result<(), ApiError> {
        self.paging.validate(profiles::MAX_PAGE_SIZE)?;
        shared::paging::check_order(self.order)
    }

    async fn run(self, call: Call) -> Result<ProfilePage, ApiError> {
        let (users, _) = profiles::list(
            &call.state,
            &call.app.app_key,
            self.paging.page(),
            self.paging.size(profiles::DEFAULT_PAGE_SIZE),
            self.order(),
            call.now_ms,
        )
        .await?;
        Ok(ProfilePage { users })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(page: Option<u32>, page_size: Option<u32>, order: Option<u8>) -> ListUserProfiles {
        ListUserProfiles {
            paging: NumberedPaging { page, page_size },
            order,
        }
    }

    #[test]
    fn limits_follow_the_contract() {
        assert!(list(None, None, None).validate().is_ok());
        assert!(list(Some(7), Some(100), Some(1)).validate().is_ok());
        assert!(
            list(Some(0), None, None).validate().is_ok(),
            "page 0 reads as page 1"
        );
        assert_eq!(
            list(None, Some(0), None).validate().unwrap_err().code(),
            1002
        );
        assert_eq!(
            list(None, Some(101), None).validate().unwrap_err().code(),
            1005
        );
        assert_eq!(
            list(None, None, Some(2)).validate().unwrap_err().code(),
            1002
        );
        assert_eq!(list(None, None, Some(1)).order(), Order::Descending);
        assert_eq!(list(None, None, None).order(), Order::Ascending);
    }
}
