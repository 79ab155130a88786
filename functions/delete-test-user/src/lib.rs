//! Console `POST /console/v1/apps/delete-test-user`: removes a user of a development app like a
//! purge and frees its slot under the cap. Refused (403) in production.

use std::sync::Arc;

use serde::Deserialize;
use shared::apps;
use shared::{ApiError, ConsoleOperation, State, lifecycle, validate};

#[derive(Debug, Deserialize)]
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

    async fn run(self, state: Arc<State>) -> Result<(), ApiError> {
        let app = apps::fetch(&state, &self.app_key)
            .await?
            .ok_or_else(apps::unknown_app)?;
        lifecycle::delete_test_user(&state, &app, &self.user_id).await?;
        Ok(())
    }
}
