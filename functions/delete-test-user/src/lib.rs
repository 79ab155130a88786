//! Console `POST /console/v1/apps/delete-test-user`: removes a user of a development app like a
//! purge and frees its slot under the cap. Refused (403) in production.

use serde::Deserialize;
use shared::apps;
use shared::audit::Change;
use shared::console::ConsoleCall;
use shared::{ApiError, ConsoleOperation, lifecycle, validate};

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeleteTestUser {
    pub app_key: String,
    pub user_id: String,
}

impl ConsoleOperation for DeleteTestUser {
    const NAME: &'static str = "delete-test-user";
    const PATHS: &'static [&'static str] = &["/console/v1/apps/delete-test-user"];
    type Response = ();

    fn validate(&self) -> Result<(), ApiError> {
        apps::validate_app_key(&self.app_key)?;
        validate::user_id("userId", &self.user_id)
    }

    async fn run(self, call: ConsoleCall) -> Result<(), ApiError> {
        let app = apps::fetch(&call.state, &self.app_key)
            .await?
            .ok_or_else(apps::unknown_app)?;
        lifecycle::delete_test_user(&call.state, &app, &self.user_id).await?;
        call.audit(Change::of("apps/delete-test-user", &app.app_key).target(self.user_id))
            .await?;
        Ok(())
    }
}
