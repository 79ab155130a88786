//! Console `POST /console/v1/apps/list`: every app, newest first, a page at a time, each with
//! its environment, plan, status and registered users.

use serde::{Deserialize, Serialize};
use shared::apps::{self, ListedApp};
use shared::console::{self, ConsoleCall, Listing};
use shared::{ApiError, ConsoleOperation};

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListApps {
    pub page_size: Option<u32>,
    pub page_token: Option<String>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Apps {
    pub apps: Vec<ListedApp>,
    /// Absent after the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_token: Option<String>,
}

impl ConsoleOperation for ListApps {
    const NAME: &'static str = "list-apps";
    const PATHS: &'static [&'static str] = &["/console/v1/apps/list"];
    type Response = Apps;

    fn validate(&self) -> Result<(), ApiError> {
        console::check_page_size(self.page_size)
    }

    async fn run(self, call: ConsoleCall) -> Result<Apps, ApiError> {
        // A list of every app: bound to no app.
        let listing = Listing {
            secret: call.state.token_secret.get().await?,
            app_key: "-",
            name: Self::NAME,
        };
        let start = listing.start(self.page_token.as_deref())?;
        let size = console::page_size(self.page_size);
        let (apps, last) = apps::page(&call.state, size, start).await?;
        Ok(Apps {
            apps,
            page_token: listing.next(last.as_ref())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_sizes_follow_the_console_contract() {
        let list = |page_size| {
            ListApps {
                page_size,
                page_token: None,
            }
            .validate()
            .map_err(|e| e.code())
        };
        assert_eq!((list(None), list(Some(100))), (Ok(()), Ok(())));
        assert_eq!((list(Some(0)), list(Some(101))), (Err(1002), Err(1005)));
    }
}
