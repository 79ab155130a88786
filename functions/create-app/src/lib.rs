//! Console `POST /console/v1/apps/create`: a new app with its key and secret. The secret is
//! shown here and on rotation only.

use std::sync::Arc;

use serde::Deserialize;
use shared::apps::AppView;
use shared::apps::{self, AppChanges};
use shared::{ApiError, ConsoleOperation, State};

#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct CreateApp(pub AppChanges);

impl ConsoleOperation for CreateApp {
    const NAME: &'static str = "create-app";
    const PATHS: &'static [&'static str] = &["/console/v1/apps/create"];
    type Response = AppView;

    fn validate(&self) -> Result<(), ApiError> {
        self.0.validate()
    }

    async fn run(self, state: Arc<State>) -> Result<AppView, ApiError> {
        let app = apps::create(&state, self.0).await?;
        Ok(AppView {
            app_secret: Some(app.app_secret.clone()),
            ..app.view()
        })
    }
}
