//! Console `POST /console/v1/apps/create`: a new app with its key and secret. The secret is
//! shown here and on rotation only.

use serde::Deserialize;
use shared::apps::AppView;
use shared::apps::{self, AppChanges};
use shared::audit::Change;
use shared::console::ConsoleCall;
use shared::{ApiError, ConsoleOperation};

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct CreateApp(pub AppChanges);

impl ConsoleOperation for CreateApp {
    const NAME: &'static str = "create-app";
    const PATHS: &'static [&'static str] = &["/console/v1/apps/create"];
    type Response = AppView;

    fn validate(&self) -> Result<(), ApiError> {
        self.0.validate()
    }

    async fn run(self, call: ConsoleCall) -> Result<AppView, ApiError> {
        let app = apps::create(&call.state, self.0).await?;
        call.audit(Change::of("apps/create", &app.app_key).after(app.view()))
            .await?;
        Ok(AppView {
            app_secret: Some(app.app_secret.clone()),
            ..app.view()
        })
    }
}
