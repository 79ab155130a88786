//! `POST /v4/ext/friend/request/accept` (extension): `userId` (the target) accepts the pending
//! request of `requesterId`; they become friends. No such request: 404/1015.

use serde::Deserialize;
use shared::{ApiError, Call, Operation, friends, validate};

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AcceptFriendRequest {
    pub user_id: String,
    pub requester_id: String,
}

impl Operation for AcceptFriendRequest {
    const NAME: &'static str = "accept-friend-request";
    const PATHS: &'static [&'static str] = &["/v4/ext/friend/request/accept"];
    // Every write is a transaction: the nonce joins the first.
    const NONCE: shared::replay::Placement = shared::replay::Placement::InFirstTransaction;
    type Response = ();

    fn validate(&self) -> Result<(), ApiError> {
        validate::user_id("userId", &self.user_id)?;
        validate::user_id("requesterId", &self.requester_id)?;
        if self.user_id == self.requester_id {
            return Err(ApiError::invalid("requesterId", "must not be userId"));
        }
        Ok(())
    }

    async fn run(self, call: Call) -> Result<(), ApiError> {
        friends::accept(
            &call.state,
            &call.app,
            &self.user_id,
            &self.requester_id,
            call.now_ms,
        )
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked() {
        let request = |user: &str, requester: &str| AcceptFriendRequest {
            user_id: user.into(),
            requester_id: requester.into(),
        };
        assert!(request("alice", "bob").validate().is_ok());
        let err = request("alice", "alice").validate().unwrap_err();
        assert_eq!(err.code(), 1002);
        assert!(err.to_string().starts_with("requesterId"), "{err}");
        assert_eq!(request("alice", "").validate().unwrap_err().code(), 1002);
    }
}
