//! Console `POST /console/v1/apps/update`: environment, plan, status and settings. Absent fields
//! keep their values.

use serde::Deserialize;
use shared::apps::AppView;
use shared::apps::{self, AppChanges};
use shared::audit::Change;
use shared::console::ConsoleCall;
use shared::{ApiError, ConsoleOperation};

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

    async fn run(self, call: ConsoleCall) -> Result<AppView, ApiError> {
        let state = &call.state;
        // What the audit log shows as before: the app as stored just before the change.
        let before = apps::fetch(state, &self.app_key)
            .await?
            .ok_or_else(apps::unknown_app)?;
        let app = apps::update(state, &self.app_key, self.changes).await?;
        let audited = Change::of("apps/update", &app.app_key)
            .before(before.view())
            .after(app.view());
        call.audit(audited).await?;
        if app.user_cap().is_none() {
            return apps::console_view(state, &app).await;
        }
        // Capped (perhaps just now): the cap must count the users counted on shards.
        let moved = shared::user_count::fold(state, &app.app_key).await?;
        Ok(AppView {
            user_count: app.user_count + moved,
            ..app.view()
        })
    }
}
