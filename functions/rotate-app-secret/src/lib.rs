//! Console `POST /console/v1/apps/rotate-secret`: a new app secret. Requests signed with the old
//! secret and every access token issued so far stop working.

use serde::{Deserialize, Serialize};
use shared::apps;
use shared::audit::Change;
use shared::console::ConsoleCall;
use shared::{ApiError, ConsoleOperation};

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RotateAppSecret {
    pub app_key: String,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RotatedSecret {
    pub app_key: String,
    pub app_secret: String,
}

impl ConsoleOperation for RotateAppSecret {
    const NAME: &'static str = "rotate-app-secret";
    const PATHS: &'static [&'static str] = &["/console/v1/apps/rotate-secret"];
    type Response = RotatedSecret;

    fn validate(&self) -> Result<(), ApiError> {
        apps::validate_app_key(&self.app_key)
    }

    async fn run(self, call: ConsoleCall) -> Result<RotatedSecret, ApiError> {
        let app = apps::rotate_secret(&call.state, &self.app_key).await?;
        // The log says that the secret changed, never what it is.
        call.audit(Change::of("apps/rotate-secret", &app.app_key))
            .await?;
        // Every token of the app died with the old secret: so do its live connections.
        shared::connections::close_app(&call.state, &app.app_key).await?;
        Ok(RotatedSecret {
            app_key: app.app_key,
            app_secret: app.app_secret,
        })
    }
}
