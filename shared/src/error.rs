//! One error type for every operation. It renders as `{"code","errorMessage"}` with the HTTP
//! status each code has (README, "Endpoints"); the official SDK picks its exception class from the
//! status alone.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use serde_json::{Value, json};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400/1002: invalid or missing parameter, bad JSON, wrong type. The message names the field.
    #[error("{0}")]
    InvalidParameter(String),
    /// 400/1005: a value too long or an array with too many items. Names the field and limit.
    #[error("{0}")]
    TooLong(String),
    /// 401/1004: missing or malformed signing header, bad signature, stale timestamp, replay.
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// 401/1001
    #[error("unknown App-Key")]
    UnknownApp,
    /// 403/1006
    #[error("the app is offline")]
    AppDisabled,
    /// 404/400: the user does not exist (or no longer exists).
    #[error("user {0} does not exist")]
    UserNotFound(String),
    /// 404/1015: a referenced resource (operation, pending request, app) does not exist.
    #[error("{0}")]
    NotFound(String),
    /// 404/404
    #[error("no such path")]
    UnknownPath,
    /// 405/405
    #[error("only POST is allowed")]
    MethodNotAllowed,
    /// 403/2007
    #[error("the app has reached its registered-user cap of {0}")]
    UserCapReached(u32),
    /// 403/20101
    #[error("user {0} is soft-deleted")]
    UserSoftDeleted(String),
    /// 403/20104: friend request refused, the target's permission is 3 (refuse all).
    #[error("{0}")]
    FriendRequestRefused(String),
    /// 404/20105: friend profile set on someone who is not a friend.
    #[error("{0}")]
    NotFriends(String),
    /// 403/20106: the friend limit (3,000 per user) or the app's blocklist limit is reached.
    #[error("{0}")]
    EdgeLimitReached(String),
    /// 403/1006-like refusals of the console (e.g. an operation only allowed in development).
    #[error("{0}")]
    Forbidden(String),
    /// 429/1008: the app's limit per second for this operation is reached (`crate::rate`).
    #[error("rate limit exceeded: {0}")]
    TooManyRequests(String),
    /// 504/1050: DynamoDB timed out or throttled after the SDK's retries.
    #[error("the data store is busy, try again")]
    Busy,
    /// 500/1000: the detail is logged, never sent.
    #[error("internal error")]
    Internal(String),
    /// A rejected hosted-profile key: `error` (400/1002 or 400/1005) with `"profileKey"` added
    /// to the body.
    #[error("{error}")]
    ProfileKey { key: String, error: Box<ApiError> },
}

impl ApiError {
    pub fn status(&self) -> u16 {
        match self {
            Self::InvalidParameter(_) | Self::TooLong(_) => 400,
            Self::Unauthenticated(_) | Self::UnknownApp => 401,
            Self::AppDisabled | Self::UserCapReached(_) | Self::UserSoftDeleted(_) => 403,
            Self::Forbidden(_) => 403,
            Self::FriendRequestRefused(_) | Self::EdgeLimitReached(_) => 403,
            Self::NotFriends(_) => 404,
            Self::UserNotFound(_) | Self::NotFound(_) | Self::UnknownPath => 404,
            Self::MethodNotAllowed => 405,
            Self::TooManyRequests(_) => 429,
            Self::Busy => 504,
            Self::ProfileKey { error, .. } => error.status(),
            Self::Internal(_) => 500,
        }
    }

    pub fn code(&self) -> i64 {
        match self {
            Self::InvalidParameter(_) => 1002,
            Self::TooLong(_) => 1005,
            Self::Unauthenticated(_) => 1004,
            Self::UnknownApp => 1001,
            Self::AppDisabled | Self::Forbidden(_) => 1006,
            Self::UserNotFound(_) => 400,
            Self::NotFound(_) => 1015,
            Self::UnknownPath => 404,
            Self::MethodNotAllowed => 405,
            Self::UserCapReached(_) => 2007,
            Self::UserSoftDeleted(_) => 20101,
            Self::FriendRequestRefused(_) => 20104,
            Self::NotFriends(_) => 20105,
            Self::EdgeLimitReached(_) => 20106,
            Self::TooManyRequests(_) => 1008,
            Self::Busy => 1050,
            Self::ProfileKey { error, .. } => error.code(),
            Self::Internal(_) => 1000,
        }
    }

    /// The response body. Internal details never leave the process.
    pub fn body(&self) -> Value {
        let mut body = json!({ "code": self.code(), "errorMessage": self.to_string() });
        if let Self::ProfileKey { key, .. } = self {
            body["profileKey"] = Value::String(key.clone());
        }
        body
    }

    pub fn invalid(field: &str, why: impl std::fmt::Display) -> Self {
        Self::InvalidParameter(format!("{field}: {why}"))
    }

    pub fn too_long(field: &str, limit: impl std::fmt::Display) -> Self {
        Self::TooLong(format!("{field}: exceeds the limit of {limit}"))
    }
}

/// Whether a DynamoDB failure is the store being slow or overloaded (504/1050) rather than a bug.
fn is_busy<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    match err {
        SdkError::TimeoutError(_) => true,
        SdkError::DispatchFailure(failure) => failure.is_timeout(),
        SdkError::ServiceError(service) => matches!(
            service.err().code(),
            Some(
                "ProvisionedThroughputExceededException"
                    | "ThrottlingException"
                    | "RequestLimitExceeded"
                    | "InternalServerError"
                    | "ServiceUnavailable"
                    // A single-item write that met an item inside another transaction.
                    | "TransactionConflictException"
            )
        ),
        _ => false,
    }
}

impl<E, R> From<SdkError<E, R>> for ApiError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    fn from(err: SdkError<E, R>) -> Self {
        if is_busy(&err) {
            tracing::warn!(error = %aws_smithy_types::error::display::DisplayErrorContext(&err), "dynamodb busy");
            Self::Busy
        } else {
            Self::Internal(aws_smithy_types::error::display::DisplayErrorContext(&err).to_string())
        }
    }
}

/// A request the code built wrongly (a missing required field): a bug, never the caller's.
impl From<aws_sdk_dynamodb::error::BuildError> for ApiError {
    fn from(err: aws_sdk_dynamodb::error::BuildError) -> Self {
        Self::Internal(format!("building a DynamoDB request: {err}"))
    }
}

impl From<serde_dynamo::Error> for ApiError {
    fn from(err: serde_dynamo::Error) -> Self {
        Self::Internal(format!("item (de)serialization: {err}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_codes_follow_the_contract() {
        let cases = [
            (ApiError::invalid("userId", "bad"), 400, 1002),
            (ApiError::too_long("name", 64), 400, 1005),
            (ApiError::Unauthenticated("x"), 401, 1004),
            (ApiError::UnknownApp, 401, 1001),
            (ApiError::AppDisabled, 403, 1006),
            (ApiError::UserNotFound("u".into()), 404, 400),
            (ApiError::UnknownPath, 404, 404),
            (ApiError::MethodNotAllowed, 405, 405),
            (ApiError::UserCapReached(100), 403, 2007),
            (ApiError::UserSoftDeleted("u".into()), 403, 20101),
            (ApiError::FriendRequestRefused("r".into()), 403, 20104),
            (ApiError::NotFriends("n".into()), 404, 20105),
            (ApiError::EdgeLimitReached("l".into()), 403, 20106),
            (ApiError::TooManyRequests("x".into()), 429, 1008),
            (ApiError::Busy, 504, 1050),
            (ApiError::Internal("secret detail".into()), 500, 1000),
        ];
        for (err, status, code) in cases {
            assert_eq!((err.status(), err.code()), (status, code), "{err:?}");
            assert_eq!(err.body()["code"], code);
        }
    }

    #[test]
    fn a_profile_key_error_keeps_its_status_and_code_and_names_the_key() {
        let err = ApiError::ProfileKey {
            key: "ext_x".into(),
            error: Box::new(ApiError::too_long("userExtProfile.ext_x", "256 characters")),
        };
        assert_eq!((err.status(), err.code()), (400, 1005));
        assert_eq!(
            err.body(),
            json!({"code": 1005, "errorMessage": "userExtProfile.ext_x: exceeds the limit of 256 characters", "profileKey": "ext_x"})
        );
    }

    #[test]
    fn internal_detail_is_not_rendered() {
        let body = ApiError::Internal("table xyz exploded".into())
            .body()
            .to_string();
        assert!(!body.contains("xyz"), "{body}");
    }

    #[test]
    fn messages_name_the_field_and_limit() {
        assert_eq!(
            ApiError::too_long("userIds", 20).to_string(),
            "userIds: exceeds the limit of 20"
        );
    }
}
