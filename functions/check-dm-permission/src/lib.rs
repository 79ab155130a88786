//! `POST /v4/ext/dm/permission/check` (extension): may `fromUserId` send a direct message to
//! `toUserId`? `{"allowed","reason"}`; the rules and their precedence are in
//! `shared::moderation::decide`.

use serde::{Deserialize, Serialize};
use shared::{ApiError, Call, Operation, moderation, validate};

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CheckDmPermission {
    pub from_user_id: String,
    pub to_user_id: String,
}

/// Whether `fromUserId` may send `toUserId` a direct message, and the reason if not.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DmPermission {
    pub allowed: bool,
    pub reason: &'static str,
}

impl Operation for CheckDmPermission {
    const NAME: &'static str = "check-dm-permission";
    const PATHS: &'static [&'static str] = &["/v4/ext/dm/permission/check"];
    type Response = DmPermission;
    const READ_ONLY: bool = true;

    fn validate(&self) -> Result<(), ApiError> {
        validate::user_id("fromUserId", &self.from_user_id)?;
        validate::user_id("toUserId", &self.to_user_id)?;
        if self.from_user_id == self.to_user_id {
            return Err(ApiError::invalid("toUserId", "must differ from fromUserId"));
        }
        Ok(())
    }

    async fn run(self, call: Call) -> Result<DmPermission, ApiError> {
        let verdict = moderation::check_dm(
            &call.state,
            &call.app,
            &self.from_user_id,
            &self.to_user_id,
            call.now_ms,
        )
        .await?;
        Ok(DmPermission {
            allowed: verdict.allowed(),
            reason: verdict.reason(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_users_are_checked_and_must_differ() {
        let check = |from: &str, to: &str| {
            CheckDmPermission {
                from_user_id: from.into(),
                to_user_id: to.into(),
            }
            .validate()
        };
        assert!(check("alice", "bob").is_ok());
        let err = check("al-ice", "bob").unwrap_err();
        assert!(err.to_string().starts_with("fromUserId:"), "{err}");
        let err = check("alice", "").unwrap_err();
        assert!(err.to_string().starts_with("toUserId:"), "{err}");
        assert_eq!(check("alice", "alice").unwrap_err().code(), 1002);
    }
}
