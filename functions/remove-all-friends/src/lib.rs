//! `POST /v4/friend/remove-all`: ends every friendship of `userId`, in both directions.

use serde::Deserialize;
use shared::{ApiError, Call, Operation, friends, validate};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoveAllFriends {
    pub user_id: String,
}

impl Operation for RemoveAllFriends {
    const NAME: &'static str = "remove-all-friends";
    const PATHS: &'static [&'static str] = &["/v4/friend/remove-all"];
    type Response = ();

    fn validate(&self) -> Result<(), ApiError> {
        validate::user_id("userId", &self.user_id)
    }

    async fn run(self, call: Call) -> Result<(), ApiError> {
        friends::remove_all(&call.state, &call.app, &self.user_id, call.now_ms).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_id_is_checked() {
        let request = |id: &str| RemoveAllFriends { user_id: id.into() };
        assert!(request("alice").validate().is_ok());
        assert_eq!(request("").validate().unwrap_err().code(), 1002);
    }
}
