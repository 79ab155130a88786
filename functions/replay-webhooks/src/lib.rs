//! `POST /v4/ext/webhook/replay` (extension): sends events again, with their IDs: those named
//! in `eventIds` (1-100), or every failed event since `since` (Unix ms), about 1,000 per call.
//! Answers `{"replayed": n}`, and for `since` a `pageToken` (empty once every event is sent
//! again) to call again with (unknown or expired IDs are not counted).

use serde::{Deserialize, Serialize};
use shared::webhooks::deliveries::{self, MAX_REPLAY_IDS, Replay};
use shared::{ApiError, Call, Operation, page_token, validate};

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ReplayWebhooks {
    pub event_ids: Option<Vec<String>>,
    pub since: Option<i64>,
    /// Where a `since` replay cut short goes on (the previous answer's `pageToken`).
    pub page_token: Option<String>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Replayed {
    pub replayed: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_token: Option<String>,
}

/// What the request names, checked.
enum Which {
    Events(Vec<String>),
    Since(i64),
}

impl ReplayWebhooks {
    fn which(&self) -> Result<Which, ApiError> {
        match (&self.event_ids, self.since) {
            (Some(_), _) if self.page_token.is_some() => Err(ApiError::invalid(
                "pageToken",
                "continues a since replay only",
            )),
            (Some(ids), None) => {
                if ids.is_empty() {
                    return Err(ApiError::invalid("eventIds", "must name 1 to 100 events"));
                }
                validate::max_items("eventIds", ids, MAX_REPLAY_IDS)?;
                for id in ids {
                    if uuid::Uuid::try_parse(id).is_err() || id.len() != 36 {
                        return Err(ApiError::invalid(
                            "eventIds",
                            format!("{id:?} is not an event ID"),
                        ));
                    }
                }
                Ok(Which::Events(validate::dedup(ids)))
            }
            (None, Some(since)) if since >= 0 => Ok(Which::Since(since)),
            (None, Some(_)) => Err(ApiError::invalid("since", "must be Unix ms, 0 or more")),
            _ => Err(ApiError::invalid(
                "eventIds",
                "give eventIds or since (one of them)",
            )),
        }
    }
}

impl Operation for ReplayWebhooks {
    const NAME: &'static str = "replay-webhooks";
    const PATHS: &'static [&'static str] = &["/v4/ext/webhook/replay"];
    const CONSOLE_PATHS: &'static [&'static str] = &["/console/v1/webhooks/replay"];
    type Response = Replayed;

    fn validate(&self) -> Result<(), ApiError> {
        self.which().map(|_| ())
    }

    async fn run(self, call: Call) -> Result<Replayed, ApiError> {
        let app_key = &call.app.app_key;
        let secret = call.state.token_secret.get().await?;
        match self.which()? {
            Which::Events(ids) => {
                let replayed =
                    deliveries::replay(&call.state, app_key, Replay::Events(ids), call.now_ms)
                        .await?;
                Ok(Replayed {
                    replayed: replayed.count,
                    page_token: None,
                })
            }
            Which::Since(since) => {
                // A token goes on with the `since` it was made for only.
                let listing = format!("{}:{since}", Self::NAME);
                let from =
                    page_token::decode(secret, app_key, &listing, self.page_token.as_deref())?;
                let which = Replay::FailedSince { since, from };
                let replayed = deliveries::replay(&call.state, app_key, which, call.now_ms).await?;
                Ok(Replayed {
                    replayed: replayed.count,
                    page_token: Some(page_token::encode(
                        secret,
                        app_key,
                        &listing,
                        replayed.next.as_ref(),
                    )?),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replay(ids: Option<Vec<&str>>, since: Option<i64>) -> ReplayWebhooks {
        ReplayWebhooks {
            event_ids: ids.map(|ids| ids.into_iter().map(str::to_owned).collect()),
            since,
            page_token: None,
        }
    }

    #[test]
    fn one_of_event_ids_or_since_is_required() {
        let id = "0190a3b4-5c6d-7e8f-9012-3456789abcde";
        assert!(replay(Some(vec![id]), None).validate().is_ok());
        assert!(replay(None, Some(0)).validate().is_ok());
        for bad in [
            replay(None, None),
            replay(Some(vec![id]), Some(5)),
            replay(Some(vec![]), None),
            replay(Some(vec!["not-an-id"]), None),
            replay(None, Some(-1)),
            ReplayWebhooks {
                page_token: Some("x".into()),
                ..replay(Some(vec![id]), None)
            },
        ] {
            assert_eq!(bad.validate().unwrap_err().code(), 1002, "{bad:?}");
        }
        let many: Vec<&str> = std::iter::repeat_n(id, 101).collect();
        assert_eq!(
            replay(Some(many), None).validate().unwrap_err().code(),
            1005
        );
    }
}
