//! Console `POST /console/v1/apps/create`: a new app with its key and secret. The secret is
//! shown here and on rotation only.

use std::sync::Arc;

use serde::Deserialize;
use shared::apps::{self, AppChanges};
use shared::{ApiError, ConsoleOperation, Reply, State};

#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct CreateApp(pub AppChanges);

impl ConsoleOperation for CreateApp {
    const NAME: &'static str = "create-app";
    const PATHS: &'static [&'static str] = &["/console/v1/apps/create"];

    fn validate(&self) -> Result<(), ApiError> {
        self.0.validate()
    }

    async fn run(self, state: Arc<State>) -> Result<Reply, ApiError> {
        let app = apps::create(&state, self.0).await?;
        let mut view = app.view();
        view["appSecret"] = app.app_secret.into();
        Reply::with(view)
    }
}
