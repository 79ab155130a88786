//! `POST /v4/ext/webhook/delivery/list` (extension): the app's webhook deliveries of the last 7
//! days, newest first, optionally of one `status` (`pending`, `delivered`, `failed`), one `type`
//! (`user:friendship`, ...) and created `since`/`until` (Unix ms, both included), `pageSize`
//! 1-100 (default 50), with an opaque `pageToken` (empty on the last page).

use serde::{Deserialize, Serialize};
use shared::apps::WebhookEvent;
use shared::webhooks::deliveries::{
    self, DEFAULT_PAGE_SIZE, DELIVERED, DeliveryView, FAILED, MAX_PAGE_SIZE, PENDING,
};
use shared::{ApiError, Call, Operation, page_token, paging};

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ListWebhookDeliveries {
    pub status: Option<String>,
    #[serde(rename = "type")]
    pub event_type: Option<WebhookEvent>,
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub page_size: Option<u32>,
    pub page_token: Option<String>,
}

impl ListWebhookDeliveries {
    /// The listing a page token is bound to: the filters.
    fn listing(&self) -> String {
        format!(
            "{}:{}:{}:{}:{}",
            Self::NAME,
            self.status.as_deref().unwrap_or(""),
            self.event_type.map_or("", WebhookEvent::name),
            self.since.map(|ms| ms.to_string()).unwrap_or_default(),
            self.until.map(|ms| ms.to_string()).unwrap_or_default(),
        )
    }
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Deliveries {
    pub deliveries: Vec<DeliveryView>,
    pub page_token: String,
}

impl Operation for ListWebhookDeliveries {
    const NAME: &'static str = "list-webhook-deliveries";
    const PATHS: &'static [&'static str] = &["/v4/ext/webhook/delivery/list"];
    const CONSOLE_PATHS: &'static [&'static str] = &["/console/v1/webhooks/deliveries"];
    type Response = Deliveries;
    const READ_ONLY: bool = true;

    fn validate(&self) -> Result<(), ApiError> {
        if let Some(status) = &self.status
            && ![PENDING, DELIVERED, FAILED].contains(&status.as_str())
        {
            return Err(ApiError::invalid(
                "status",
                "must be pending, delivered or failed",
            ));
        }
        if let (Some(since), Some(until)) = (self.since, self.until)
            && since > until
        {
            return Err(ApiError::invalid("until", "must not be before since"));
        }
        paging::check_page_size(self.page_size, MAX_PAGE_SIZE)
    }

    async fn run(self, call: Call) -> Result<Deliveries, ApiError> {
        let secret = call.state.token_secret.get().await?;
        let app_key = &call.app.app_key;
        let listing = self.listing();
        let start = page_token::decode(secret, app_key, &listing, self.page_token.as_deref())?;
        let size = self.page_size.map_or(DEFAULT_PAGE_SIZE, |s| s as usize);
        let filter = deliveries::Filter {
            status: self.status.as_deref(),
            event_type: self.event_type.map(WebhookEvent::name),
            since: self.since,
            until: self.until,
        };
        let (page, next) =
            deliveries::list(&call.state, app_key, filter, size, start, call.now_ms).await?;
        Ok(Deliveries {
            deliveries: page,
            page_token: page_token::encode(secret, app_key, &listing, next.as_ref())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(status: Option<&str>, page_size: Option<u32>) -> ListWebhookDeliveries {
        ListWebhookDeliveries {
            status: status.map(str::to_owned),
            event_type: None,
            since: None,
            until: None,
            page_size,
            page_token: None,
        }
    }

    #[test]
    fn a_time_range_must_run_forward_and_page_tokens_are_bound_to_the_filters() {
        let ranged = |since, until| ListWebhookDeliveries {
            since,
            until,
            ..list(None, None)
        };
        assert!(ranged(Some(5), Some(5)).validate().is_ok());
        assert_eq!(
            ranged(Some(6), Some(5)).validate().unwrap_err().code(),
            1002
        );
        let typed = ListWebhookDeliveries {
            event_type: Some(WebhookEvent::Friendship),
            ..list(None, None)
        };
        let listings = [
            list(None, None).listing(),
            typed.listing(),
            ranged(Some(1), None).listing(),
        ];
        assert!(
            listings[0] != listings[1] && listings[0] != listings[2] && listings[1] != listings[2]
        );
    }

    #[test]
    fn status_and_page_size_are_checked() {
        assert!(list(None, None).validate().is_ok());
        assert!(list(Some("failed"), Some(100)).validate().is_ok());
        assert_eq!(
            list(Some("lost"), None).validate().unwrap_err().code(),
            1002
        );
        assert_eq!(list(None, Some(101)).validate().unwrap_err().code(), 1005);
        assert_eq!(list(None, Some(0)).validate().unwrap_err().code(), 1002);
    }
}
