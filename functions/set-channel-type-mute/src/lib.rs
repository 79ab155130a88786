//! `POST /v4/channel-type/mute/set`: mutes (`muteState` 1) or unmutes (0) up to 1,000 users in
//! direct channels. Only direct channels: `channelTypes` (or `channelType`) holds `"PERSON"` or
//! `1`, alone or in a list. Unknown and soft-deleted users are skipped.

use serde::Deserialize;
use serde_json::Value;
use shared::{ApiError, Call, Operation, moderation, validate};

pub const MAX_USERS: usize = 1_000;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetChannelTypeMute {
    pub user_ids: Vec<String>,
    pub mute_state: u8,
    pub channel_types: Option<Value>,
    /// The key the Postman collection uses.
    pub channel_type: Option<Value>,
}

impl Operation for SetChannelTypeMute {
    const NAME: &'static str = "set-channel-type-mute";
    const PATHS: &'static [&'static str] = &["/v4/channel-type/mute/set"];
    // Every write is a transaction: the nonce joins the first.
    const NONCE: shared::replay::Placement = shared::replay::Placement::InFirstTransaction;
    type Response = ();

    fn validate(&self) -> Result<(), ApiError> {
        validate::user_ids("userIds", &self.user_ids, MAX_USERS)?;
        if self.mute_state > 1 {
            return Err(ApiError::invalid("muteState", "must be 0 or 1"));
        }
        match (&self.channel_types, &self.channel_type) {
            (None, None) => Err(ApiError::invalid("channelTypes", "is required")),
            (types, single) => {
                if let Some(types) = types {
                    moderation::check_person_channel_type("channelTypes", types, true)?;
                }
                if let Some(single) = single {
                    moderation::check_person_channel_type("channelType", single, true)?;
                }
                Ok(())
            }
        }
    }

    async fn run(self, call: Call) -> Result<(), ApiError> {
        let (state, app_key) = (&call.state, &call.app.app_key);
        let skipped = if self.mute_state == 1 {
            moderation::mute(state, app_key, &self.user_ids, call.now_ms).await?
        } else {
            moderation::unmute(state, app_key, &self.user_ids).await?;
            Vec::new()
        };
        if !skipped.is_empty() {
            tracing::info!(
                skipped = skipped.len(),
                "unknown or soft-deleted users skipped"
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(body: Value) -> Result<(), ApiError> {
        shared::http::parse_body::<SetChannelTypeMute>(body.to_string().as_bytes())?.validate()
    }

    #[test]
    fn only_direct_channels_under_either_key() {
        for ok in [
            json!({"userIds": ["a"], "muteState": 1, "channelTypes": ["PERSON"]}),
            json!({"userIds": ["a"], "muteState": 0, "channelTypes": [1]}),
            json!({"userIds": ["a"], "muteState": 1, "channelType": "PERSON"}),
            json!({"userIds": ["a"], "muteState": 1, "channelType": 1}),
            json!({"userIds": ["a"], "muteState": 1, "channelType": ["PERSON"]}),
            json!({"userIds": ["a"], "muteState": 1, "channelTypes": null, "channelType": 1}),
        ] {
            assert!(parse(ok.clone()).is_ok(), "{ok}");
        }
        for (bad, field) in [
            (
                json!({"userIds": ["a"], "muteState": 1, "channelTypes": ["GROUP"]}),
                "channelTypes",
            ),
            (
                json!({"userIds": ["a"], "muteState": 1, "channelTypes": []}),
                "channelTypes",
            ),
            (
                json!({"userIds": ["a"], "muteState": 1, "channelType": 3}),
                "channelType",
            ),
            (json!({"userIds": ["a"], "muteState": 1}), "channelTypes"),
            (
                json!({"userIds": ["a"], "muteState": 2, "channelTypes": [1]}),
                "muteState",
            ),
            (
                json!({"userIds": ["a"], "muteState": -1, "channelTypes": [1]}),
                "muteState",
            ),
            (json!({"userIds": ["a"], "channelTypes": [1]}), "muteState"),
            (
                json!({"userIds": [], "muteState": 1, "channelTypes": [1]}),
                "userIds",
            ),
        ] {
            let err = parse(bad.clone()).unwrap_err();
            assert_eq!(err.code(), 1002, "{bad}");
            assert!(err.to_string().contains(field), "{bad}: {err}");
        }
    }
}
