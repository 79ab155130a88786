//! `POST /v4/channel-type/mute/list`: the users muted in direct channels, first muted first:
//! `totalCount` and `pageSize` (default 100, at most 200) user IDs from `offset` (default 0).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared::{ApiError, Call, Operation, moderation};

pub const DEFAULT_PAGE_SIZE: u32 = 100;
pub const MAX_PAGE_SIZE: u32 = 200;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListChannelTypeMute {
    pub channel_type: Value,
    pub page_size: Option<u32>,
    pub offset: Option<u32>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MutedUsers {
    pub total_count: u64,
    pub muted_user_ids: Vec<String>,
}

impl Operation for ListChannelTypeMute {
    const NAME: &'static str = "list-channel-type-mute";
    const PATHS: &'static [&'static str] = &["/v4/channel-type/mute/list"];
    type Response = MutedUsers;
    const READ_ONLY: bool = true;

    fn validate(&self) -> Result<(), ApiError> {
        moderation::check_person_channel_type("channelType", &self.channel_type, false)?;
        shared::paging::check_page_size(self.page_size, MAX_PAGE_SIZE)
    }

    async fn run(self, call: Call) -> Result<MutedUsers, ApiError> {
        let (total, muted, _) = moderation::list_mutes(
            &call.state,
            &call.app.app_key,
            u64::from(self.offset.unwrap_or(0)),
            self.page_size.unwrap_or(DEFAULT_PAGE_SIZE) as usize,
        )
        .await?;
        Ok(MutedUsers {
            total_count: total,
            muted_user_ids: muted,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(body: Value) -> Result<(), ApiError> {
        shared::http::parse_body::<ListChannelTypeMute>(body.to_string().as_bytes())?.validate()
    }

    #[test]
    fn person_only_and_page_limits() {
        for ok in [
            json!({"channelType": "PERSON"}),
            json!({"channelType": 1, "pageSize": 200, "offset": 5}),
        ] {
            assert!(parse(ok.clone()).is_ok(), "{ok}");
        }
        for (bad, field, code) in [
            (json!({}), "channelType", 1002),
            (json!({"channelType": "GROUP"}), "channelType", 1002),
            (json!({"channelType": ["PERSON"]}), "channelType", 1002),
            (
                json!({"channelType": "PERSON", "pageSize": 201}),
                "pageSize",
                1005,
            ),
            (
                json!({"channelType": "PERSON", "pageSize": 0}),
                "pageSize",
                1002,
            ),
            (
                json!({"channelType": "PERSON", "offset": -1}),
                "offset",
                1002,
            ),
        ] {
            let err = parse(bad.clone()).unwrap_err();
            assert_eq!(err.code(), code, "{bad}");
            assert!(err.to_string().contains(field), "{bad}: {err}");
        }
    }
}
