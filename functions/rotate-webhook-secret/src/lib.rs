//! Console `POST /console/v1/apps/rotate-webhook-secret`: a new webhook signing secret
//! (`whsec_` + base64 of 32 random bytes), answered once; deliveries from now on are signed with
//! it (Standard Webhooks' `webhook-signature`), and with the secret it replaced too until
//! `previousWebhookSecretUntil` (24 hours), so receivers switch without a failed delivery.

use serde::{Deserialize, Serialize};
use shared::apps;
use shared::audit::Change;
use shared::console::ConsoleCall;
use shared::{ApiError, ConsoleOperation};

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RotateWebhookSecret {
    pub app_key: String,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RotatedWebhookSecret {
    pub app_key: String,
    pub webhook_secret: String,
    /// Until when (Unix ms) deliveries also carry the replaced secret's signature.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub previous_webhook_secret_until: Option<i64>,
}

impl ConsoleOperation for RotateWebhookSecret {
    const NAME: &'static str = "rotate-webhook-secret";
    const PATHS: &'static [&'static str] = &["/console/v1/apps/rotate-webhook-secret"];
    type Response = RotatedWebhookSecret;

    fn validate(&self) -> Result<(), ApiError> {
        apps::validate_app_key(&self.app_key)
    }

    async fn run(self, call: ConsoleCall) -> Result<RotatedWebhookSecret, ApiError> {
        let app = apps::rotate_webhook_secret(&call.state, &self.app_key).await?;
        let until = serde_json::json!({
            "previousWebhookSecretUntil": app.settings.previous_webhook_secret_until
        });
        call.audit(Change::of("apps/rotate-webhook-secret", &app.app_key).after(until))
            .await?;
        Ok(RotatedWebhookSecret {
            app_key: app.app_key,
            webhook_secret: app.settings.webhook_secret,
            previous_webhook_secret_until: app.settings.previous_webhook_secret_until,
        })
    }
}
