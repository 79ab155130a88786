//! Console `POST /console/v1/apps/rotate-secret`: a new app secret. Requests signed with the old
//! secret and every access token issued so far stop working.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::json;
use shared::apps;
use shared::{ApiError, ConsoleOperation, Reply, State};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RotateAppSecret {
    pub app_key: String,
}

impl ConsoleOperation for RotateAppSecret {
    const NAME: &'static str = "rotate-app-secret";
    const PATHS: &'static [&'static str] = &["/console/v1/apps/rotate-secret"];

    fn validate(&self) -> Result<(), ApiError> {
        apps::validate_app_key(&self.app_key)
    }

    async fn run(self, state: Arc<State>) -> Result<Reply, ApiError> {
        let app = apps::rotate_secret(&state, &self.app_key).await?;
        // Every token of the app died with the old secret: so do its live connections.
        shared::connections::close_app(&state, &app.app_key).await?;
        Reply::with(json!({ "appKey": app.app_key, "appSecret": app.app_secret }))
    }
}
