//! Console `POST /console/v1/audit/list`: the audit log, newest first: every console change
//! (who, what, when, before and after; never a secret), of one app or of all.

use serde::{Deserialize, Serialize};
use shared::audit::{self, Entry};
use shared::console::{self, ConsoleCall, Listing};
use shared::{ApiError, ConsoleOperation, apps};

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListAuditEntries {
    /// Absent: the log of every app.
    pub app_key: Option<String>,
    pub page_size: Option<u32>,
    pub page_token: Option<String>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuditEntries {
    pub entries: Vec<Entry>,
    /// Absent after the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_token: Option<String>,
}

impl ConsoleOperation for ListAuditEntries {
    const NAME: &'static str = "list-audit-entries";
    const PATHS: &'static [&'static str] = &["/console/v1/audit/list"];
    type Response = AuditEntries;

    fn validate(&self) -> Result<(), ApiError> {
        if let Some(app_key) = &self.app_key {
            apps::validate_app_key(app_key)?;
        }
        console::check_page_size(self.page_size)
    }

    async fn run(self, call: ConsoleCall) -> Result<AuditEntries, ApiError> {
        let listing = Listing {
            secret: call.state.token_secret.get().await?,
            app_key: self.app_key.as_deref().unwrap_or("-"),
            name: Self::NAME,
        };
        let start = listing.start(self.page_token.as_deref())?;
        let size = console::page_size(self.page_size);
        let app_key = self.app_key.as_deref();
        let (entries, last) = audit::page(&call.state, app_key, size, start, call.now_ms).await?;
        Ok(AuditEntries {
            entries,
            page_token: listing.next(last.as_ref())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_app_key_and_page_size_are_checked() {
        let list = |app_key: Option<&str>, page_size| {
            ListAuditEntries {
                app_key: app_key.map(str::to_owned),
                page_size,
                page_token: None,
            }
            .validate()
            .map_err(|e| e.code())
        };
        assert_eq!(
            (list(None, None), list(Some("k1"), Some(100))),
            (Ok(()), Ok(()))
        );
        assert!(list(Some("not a key"), None).is_err());
        assert_eq!(list(None, Some(101)), Err(1005));
    }
}
