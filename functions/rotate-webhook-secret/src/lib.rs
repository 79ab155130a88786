//! Console `POST /console/v1/apps/rotate-webhook-secret`: a new webhook signing secret
//! (`whsec_` + base64 of 32 random bytes), answered once; deliveries from now on are signed with
//! it (Standard Webhooks' `webhook-signature`).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use shared::apps;
use shared::{ApiError, ConsoleOperation, State};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RotateWebhookSecret {
    pub app_key: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RotatedWebhookSecret {
    pub app_key: String,
    pub webhook_secret: String,
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
        })
    }
}
