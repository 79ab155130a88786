//! `POST /v4/friend/add`: `action` 1 (default) follows the target's friend permission (1: friends
//! at once, 2: a pending request answered with HTTP 200 `{"code":25461}`, 3: 403/20104); `action`
//! 2 adds directly. Already friends: `{"code":0}`.

use serde::Deserialize;
use shared::friends::{self, Added};
use shared::{ApiError, Call, Operation, validate};

pub const MAX_EXTRA_CHARS: usize = 128;
pub const ACTION_VERIFY: i64 = 1;
pub const ACTION_DIRECT: i64 = 2;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddFriend {
    pub user_id: String,
    pub target_id: String,
    pub action: Option<i64>,
    pub extra: Option<String>,
}

/// What adding a friend did. No `result`: the code alone tells it (0, or pending).
#[derive(Debug)]
pub struct Outcome(pub Added);

impl serde::Serialize for Outcome {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_unit()
    }
}

impl Operation for AddFriend {
    const NAME: &'static str = "add-friend";
    const PATHS: &'static [&'static str] = &["/v4/friend/add"];
    // Every write is a transaction: the nonce joins the first.
    const NONCE: shared::replay::Placement = shared::replay::Placement::InFirstTransaction;
    type Response = Outcome;

    fn validate(&self) -> Result<(), ApiError> {
        validate::user_id("userId", &self.user_id)?;
        validate::user_id("targetId", &self.target_id)?;
        if self.user_id == self.target_id {
            return Err(ApiError::invalid(
                "targetId",
                "a user cannot befriend themselves",
            ));
        }
        if let Some(action) = self.action
            && action != ACTION_VERIFY
            && action != ACTION_DIRECT
        {
            return Err(ApiError::invalid("action", "must be 1 or 2"));
        }
        if let Some(extra) = &self.extra {
            validate::max_chars("extra", extra, MAX_EXTRA_CHARS)?;
        }
        Ok(())
    }

    fn code(outcome: &Outcome) -> i64 {
        match outcome.0 {
            Added::Friends | Added::AlreadyFriends => 0,
            Added::Requested => friends::CODE_REQUEST_PENDING,
        }
    }

    async fn run(self, call: Call) -> Result<Outcome, ApiError> {
        let added = friends::add(
            &call.state,
            &call.app,
            &self.user_id,
            &self.target_id,
            self.action == Some(ACTION_DIRECT),
            self.extra.as_deref().unwrap_or_default(),
            call.now_ms,
        )
        .await?;
        Ok(Outcome(added))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(target: &str, action: Option<i64>, extra: Option<String>) -> AddFriend {
        AddFriend {
            user_id: "alice".into(),
            target_id: target.into(),
            action,
            extra,
        }
    }

    #[test]
    fn shape_and_limits_follow_the_contract() {
        assert!(add("bob", None, None).validate().is_ok());
        assert!(
            add("bob", Some(2), Some("é".repeat(128)))
                .validate()
                .is_ok()
        );
        let cases = [
            (add("alice", None, None), 1002, "targetId"),
            (add("bob", Some(0), None), 1002, "action"),
            (add("bob", Some(3), None), 1002, "action"),
            (add("bob", None, Some("x".repeat(129))), 1005, "extra"),
            (add("b-b", None, None), 1002, "targetId"),
        ];
        for (request, code, field) in cases {
            let err = request.validate().unwrap_err();
            assert_eq!(err.code(), code, "{err}");
            assert!(err.to_string().starts_with(field), "{err}");
        }
    }
}
