//! Console `POST /console/v1/apps/get`: an app's settings and registered-user count.

use serde::Deserialize;
use shared::apps;
use shared::apps::AppView;
use shared::console::ConsoleCall;
use shared::{ApiError, ConsoleOperation};

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetApp {
    pub app_key: String,
}

impl ConsoleOperation for GetApp {
    const NAME: &'static str = "get-app";
    const PATHS: &'static [&'static str] = &["/console/v1/apps/get"];
    type Response = AppView;

    fn validate(&self) -> Result<(), ApiError> {
        apps::validate_app_key(&self.app_key)
    }

    async fn run(self, call: ConsoleCall) -> Result<AppView, ApiError> {
        let state = call.state;
        let app = apps::fetch(&state, &self.app_key)
            .await?
            .ok_or_else(apps::unknown_app)?;
        apps::console_view(&state, &app).await
    }
}
