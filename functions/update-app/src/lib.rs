//! Console `POST /console/v1/apps/update`: environment, plan, status and settings. Absent fields
//! keep their values.

use std::sync::Arc;

use serde::Deserialize;
use shared::apps::AppView;
use shared::apps::{self, AppChanges};
use shared::{ApiError, ConsoleOperation, State};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateApp {
    pub app_key: String,
    #[serde(flatten)]
    pub changes: AppChanges,
}

impl ConsoleOperation for UpdateApp {
    const NAME: &'static str = "update-app";
    const PATHS: &'static [&'static str] = &["/console/v1/apps/update"];
    type Response = AppView;

    fn validate(&self) -> Result<(), ApiError> {
        apps::validate_app_key(&self.app_key)?;
        self.changes.validate()
    }

    async fn run(self, state: Arc<State>) -> Result<AppView, ApiError> {
        let app = apps::update(&state, &self.app_key, self.changes).await?;
        if app.user_cap().is_none() {
            return apps::console_view(&state, &app).await;
        }
        // Capped (perhaps just now): the cap must count the users counted on shards.
        let moved = shared::user_count::fold(&state, &app.app_key).await?;
        Ok(AppView {
            user_count: app.user_count + moved,
            ..app.view()
        })
    }
}
