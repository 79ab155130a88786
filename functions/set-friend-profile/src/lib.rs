//! `POST /v4/friend/profile/set`: `userId`'s one-sided profile of friend `targetId`: `alias` (at
//! most 64 characters; absent or empty clears it) and `friendExtProfile` (at most 10 pairs, keys
//! `ext_...` of at most 32 characters, values of at most 256; replaces the stored one when sent,
//! `{}` clears it, absent keeps it). Not a friend: 404/20105.

use std::collections::HashMap;

use serde::Deserialize;
use shared::{ApiError, Call, Operation, friends, validate};

pub const MAX_ALIAS_CHARS: usize = 64;
pub const MAX_EXT_PAIRS: usize = 10;
pub const MAX_EXT_VALUE_CHARS: usize = 256;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetFriendProfile {
    pub user_id: String,
    pub target_id: String,
    pub alias: Option<String>,
    pub friend_ext_profile: Option<HashMap<String, String>>,
}

impl Operation for SetFriendProfile {
    const NAME: &'static str = "set-friend-profile";
    const PATHS: &'static [&'static str] = &["/v4/friend/profile/set"];
    // Every write is a transaction: the nonce joins the first.
    const NONCE: shared::replay::Placement = shared::replay::Placement::InFirstTransaction;
    type Response = ();

    fn validate(&self) -> Result<(), ApiError> {
        validate::user_id("userId", &self.user_id)?;
        validate::user_id("targetId", &self.target_id)?;
        if self.user_id == self.target_id {
            return Err(ApiError::invalid("targetId", "must not be userId"));
        }
        if let Some(alias) = &self.alias {
            validate::max_chars("alias", alias, MAX_ALIAS_CHARS)?;
        }
        if let Some(ext) = &self.friend_ext_profile {
            if ext.len() > MAX_EXT_PAIRS {
                return Err(ApiError::too_long(
                    "friendExtProfile",
                    format!("{MAX_EXT_PAIRS} pairs"),
                ));
            }
            let mut keys: Vec<&String> = ext.keys().collect();
            keys.sort();
            for key in keys {
                validate::ext_key("friendExtProfile", key)?;
                validate::max_chars(
                    &format!("friendExtProfile.{key}"),
                    &ext[key],
                    MAX_EXT_VALUE_CHARS,
                )?;
            }
        }
        Ok(())
    }

    async fn run(self, call: Call) -> Result<(), ApiError> {
        friends::set_profile(
            &call.state,
            &call.app,
            &self.user_id,
            &self.target_id,
            self.alias.as_deref(),
            self.friend_ext_profile.as_ref(),
        )
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(alias: Option<String>, ext: &[(&str, String)]) -> SetFriendProfile {
        SetFriendProfile {
            user_id: "alice".into(),
            target_id: "bob".into(),
            alias,
            friend_ext_profile: Some(
                ext.iter()
                    .map(|(k, v)| ((*k).to_owned(), v.clone()))
                    .collect(),
            ),
        }
    }

    #[test]
    fn limits_follow_the_contract() {
        assert!(
            set(Some("名".repeat(64)), &[("ext_a", "v".repeat(256))])
                .validate()
                .is_ok()
        );
        let eleven: Vec<(String, String)> =
            (0..11).map(|i| (format!("ext_k{i}"), "v".into())).collect();
        let eleven: Vec<(&str, String)> = eleven
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        let long_key = format!("ext_{}", "k".repeat(29));
        let cases = [
            (set(Some("a".repeat(65)), &[]), 1005, "alias"),
            (set(None, &eleven), 1005, "friendExtProfile"),
            (
                set(None, &[("color", "v".into())]),
                1002,
                "friendExtProfile",
            ),
            (
                set(None, &[(long_key.as_str(), "v".into())]),
                1005,
                "friendExtProfile",
            ),
            (
                set(None, &[("ext_a", "v".repeat(257))]),
                1005,
                "friendExtProfile.ext_a",
            ),
        ];
        for (request, code, field) in cases {
            let err = request.validate().unwrap_err();
            assert_eq!(err.code(), code, "{err}");
            assert!(err.to_string().starts_with(field), "{err}");
        }
    }
}
