//! The app setting `rateLimits`: each Server API operation's limit per second, as Nexconn sets
//! them unless the console changes them. Types and rules only; `crate::rate` enforces them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ApiError;

/// Nexconn's documented limits per app and second, for the operations that do not get
/// [`NEXCONN_DEFAULT`].
const NEXCONN_LIMITS: &[(&str, u32)] = &[
    ("/v4/auth/access-token/issue", 200),
    ("/v4/user/tag/batch/set", 10),
    // Users per second: a call counts its users (`Operation::rate_units`).
    ("/v4/user/soft-delete", 100),
    ("/v4/user/restore", 100),
];
/// Every other operation's limit per app and second.
pub const NEXCONN_DEFAULT: u32 = 100;
/// The highest limit the console accepts (per second); 0 means unlimited.
pub const MAX_LIMIT: u32 = 100_000;
/// The key of `rateLimits` that sets every operation the object does not name.
pub const DEFAULT_KEY: &str = "default";

/// Every path of the Server API (aliases included): the keys `rateLimits` may name. A template
/// test keeps it equal to the signed routes.
pub const SERVER_API_PATHS: &[&str] = &[
    "/v4/auth/access-token/expire",
    "/v4/auth/access-token/issue",
    "/v4/channel-type/mute/list",
    "/v4/channel-type/mute/set",
    "/v4/ext/dm/permission/check",
    "/v4/ext/friend/request/accept",
    "/v4/ext/friend/request/list",
    "/v4/ext/friend/request/reject",
    "/v4/ext/operation/get",
    "/v4/ext/webhook/delivery/list",
    "/v4/ext/webhook/replay",
    "/v4/friend/add",
    "/v4/friend/delete",
    "/v4/friend/list",
    "/v4/friend/permission/get",
    "/v4/friend/permission/set",
    "/v4/friend/profile/set",
    "/v4/friend/relationship/get",
    "/v4/friend/remove",
    "/v4/friend/remove-all",
    "/v4/user/ban",
    "/v4/user/ban/list",
    "/v4/user/blocklist/add",
    "/v4/user/blocklist/get",
    "/v4/user/blocklist/remove",
    "/v4/user/connection-status/get",
    "/v4/user/get",
    "/v4/user/online-status/get",
    "/v4/user/profile/batch/get",
    "/v4/user/profile/delete",
    "/v4/user/profile/list",
    "/v4/user/profile/set",
    "/v4/user/restore",
    "/v4/user/soft-delete",
    "/v4/user/soft-deleted/list",
    "/v4/user/tag/batch/get",
    "/v4/user/tag/batch/set",
    "/v4/user/unban",
    "/v4/user/update",
];

/// `rateLimits` as stored: `"off"`, or limits per second by path (and [`DEFAULT_KEY`]); the
/// empty object (the default) is Nexconn's limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum RateLimits {
    Off(Off),
    Limits(BTreeMap<String, u32>),
}

/// The string `"off"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = RateLimitsOff))]
pub enum Off {
    #[serde(rename = "off")]
    Off,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self::Limits(BTreeMap::new())
    }
}

impl RateLimits {
    /// The limit per second of the operation served at `paths` (the canonical path first, then
    /// its aliases), or `None` when it is unlimited. A path the object names wins, then its
    /// `default`, then Nexconn's limit; 0 is unlimited.
    pub fn limit_for(&self, paths: &[&str]) -> Option<u32> {
        let Self::Limits(limits) = self else {
            return None;
        };
        let limit = paths
            .iter()
            .find_map(|path| limits.get(*path))
            .or_else(|| limits.get(DEFAULT_KEY))
            .copied()
            .unwrap_or_else(|| nexconn_limit(paths.first().copied().unwrap_or_default()));
        (limit > 0).then_some(limit)
    }

    /// The setting as the console sends it: `"off"` or an object of whole numbers from 0 to
    /// [`MAX_LIMIT`] keyed by [`DEFAULT_KEY`] or a path of the Server API.
    pub fn parse(value: &Value) -> Result<Self, ApiError> {
        const FIELD: &str = "rateLimits";
        let limits = match value {
            Value::String(text) if text == "off" => return Ok(Self::Off(Off::Off)),
            Value::Object(limits) => limits,
            _ => {
                return Err(ApiError::invalid(
                    FIELD,
                    "must be \"off\" or an object of limits per second by path (and \"default\")",
                ));
            }
        };
        let mut parsed = BTreeMap::new();
        for (key, limit) in limits {
            if key != DEFAULT_KEY && !SERVER_API_PATHS.contains(&key.as_str()) {
                return Err(ApiError::invalid(
                    FIELD,
                    format!("{key:?} is neither \"default\" nor a path of the Server API"),
                ));
            }
            let limit = limit
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| *n <= MAX_LIMIT)
                .ok_or_else(|| {
                    ApiError::invalid(
                        &format!("{FIELD}.{key}"),
                        format!("must be a whole number from 0 (unlimited) to {MAX_LIMIT}"),
                    )
                })?;
            parsed.insert(key.clone(), limit);
        }
        Ok(Self::Limits(parsed))
    }
}

fn nexconn_limit(path: &str) -> u32 {
    NEXCONN_LIMITS
        .iter()
        .find(|(limited, _)| *limited == path)
        .map_or(NEXCONN_DEFAULT, |(_, limit)| *limit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const GET: &[&str] = &["/v4/user/get"];
    const ISSUE: &[&str] = &["/v4/auth/access-token/issue"];
    const TAGS: &[&str] = &["/v4/user/tag/batch/set"];
    const REMOVE: &[&str] = &["/v4/friend/remove", "/v4/friend/delete"];

    fn parsed(value: Value) -> RateLimits {
        RateLimits::parse(&value).unwrap()
    }

    #[test]
    fn nexconn_limits_apply_unless_changed() {
        let defaults = RateLimits::default();
        assert_eq!(defaults.limit_for(ISSUE), Some(200));
        assert_eq!(defaults.limit_for(TAGS), Some(10));
        assert_eq!(defaults.limit_for(&["/v4/user/soft-delete"]), Some(100));
        assert_eq!(defaults.limit_for(&["/v4/user/restore"]), Some(100));
        assert_eq!(defaults.limit_for(GET), Some(100));
    }

    #[test]
    fn a_named_path_wins_then_default_then_nexconn() {
        let limits = parsed(json!({"default": 5, "/v4/user/get": 0, "/v4/friend/delete": 7}));
        assert_eq!(limits.limit_for(GET), None, "0 is unlimited");
        assert_eq!(limits.limit_for(ISSUE), Some(5), "default covers the rest");
        assert_eq!(
            limits.limit_for(REMOVE),
            Some(7),
            "an alias names its operation"
        );
        let limits = parsed(json!({"/v4/user/get": 1000}));
        assert_eq!(limits.limit_for(GET), Some(1000));
        assert_eq!(limits.limit_for(TAGS), Some(10));
        assert_eq!(parsed(json!("off")).limit_for(ISSUE), None);
    }

    #[test]
    fn bad_settings_are_refused_with_the_field() {
        for bad in [
            json!("on"),
            json!(5),
            json!(null),
            json!({"/v4/user/gett": 5}),
            json!({"default": -1}),
            json!({"default": 1.5}),
            json!({"default": "5"}),
            json!({"default": MAX_LIMIT + 1}),
        ] {
            let err = RateLimits::parse(&bad).unwrap_err();
            assert_eq!(err.code(), 1002, "{bad}");
            assert!(err.to_string().starts_with("rateLimits"), "{err}");
        }
        assert!(RateLimits::parse(&json!({"default": MAX_LIMIT})).is_ok());
    }

    #[test]
    fn stored_forms_round_trip() {
        for value in [
            json!("off"),
            json!({}),
            json!({"default": 3, "/v4/user/get": 9}),
        ] {
            let limits = parsed(value.clone());
            assert_eq!(serde_json::to_value(&limits).unwrap(), value);
            let item =
                serde_dynamo::to_attribute_value::<_, aws_sdk_dynamodb::types::AttributeValue>(
                    &limits,
                )
                .unwrap();
            let back: RateLimits = serde_dynamo::from_attribute_value(item).unwrap();
            assert_eq!(back, limits);
        }
    }
}
