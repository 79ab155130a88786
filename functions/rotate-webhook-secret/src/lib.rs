//! Console `POST /console/v1/apps/rotate-webhook-secret`: a new webhook signing secret
//! (`whsec_` + base64 of 32 random bytes), answered once; deliveries from now on are signed with
//! it (Standard Webhooks' `webhook-signature`), and with the secret it replaced too until
//! `previousWebhookSecretUntil` (24 hours), so receivers switch without a failed delivery.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use shared::apps;
use shared::{ApiError, ConsoleOperation, State};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RotateWebhookSecret {
    pub app_key: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RotatedWebhookSecret {
    pub app_key: String,
    pub webhook_secret: String,
    /// Until when (Unix ms) deliveries also carry the replaced secret's signature.
    pub previous_webhook_secret_until: Option<i64>,
}

impl ConsoleOperation for RotateWebhookSecret {
    const NAME: &'static str = "rotate-webhook-secret";
    const PATHS: &'static [&'static str] = &["/console/v1/apps/rotate-webhook-secret"];
    type Response = RotatedWebhookSecret;

    fn validate(&self) -> Result<(), ApiError> {
        apps::validate_app_key(&self.app_key)
    }

    async fn run(self, state: Arc<State>) -> Result<RotatedWebhookSecret, ApiError> {
        let app = apps::rotate_webhook_secret(&state, &self.app_key).await?;
        Ok(RotatedWebhookSecret {
            app_key: app.app_key,
            webhook_secret: app.settings.webhook_secret,
            previous_webhook_secret_until: app.settings.previous_webhook_secret_until,
        })
    }
}
