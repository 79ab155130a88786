//! `POST /v4/user/profile/set`: sets keys of a user's hosted profile. Merge: keys not sent keep
//! their values, `null` (or `""` for a string key) removes one; every write bumps `version`. A
//! rejected key answers 400/1002 or 400/1005 with `profileKey` naming it, and changes nothing.

use serde::Deserialize;
use serde_json::{Map, Value};
use shared::profiles::{self, Changes};
use shared::{ApiError, Call, Operation, validate};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetUserProfile {
    pub user_id: String,
    pub user_profile: Option<Map<String, Value>>,
    pub user_ext_profile: Option<Map<String, Value>>,
}

impl SetUserProfile {
    fn changes(&self) -> Changes {
        Changes {
            user_profile: self.user_profile.clone().unwrap_or_default(),
            user_ext_profile: self.user_ext_profile.clone().unwrap_or_default(),
        }
    }
}

impl Operation for SetUserProfile {
    const NAME: &'static str = "set-user-profile";
    const PATHS: &'static [&'static str] = &["/v4/user/profile/set"];
    // Every write is a transaction: the nonce joins the first.
    const NONCE: shared::replay::Placement = shared::replay::Placement::InFirstTransaction;
    type Response = ();

    fn validate(&self) -> Result<(), ApiError> {
        validate::user_id("userId", &self.user_id)?;
        if self.user_profile.is_none() && self.user_ext_profile.is_none() {
            return Err(ApiError::invalid(
                "userProfile",
                "userProfile or userExtProfile is required",
            ));
        }
        self.changes().validate()
    }

    async fn run(self, call: Call) -> Result<(), ApiError> {
        profiles::set(
            &call.state,
            &call.app,
            &self.user_id,
            &self.changes(),
            call.now_ms,
        )
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(body: Value) -> Result<SetUserProfile, ApiError> {
        shared::http::parse_body(body.to_string().as_bytes())
    }

    #[test]
    fn one_part_is_required_and_keys_are_checked() {
        let missing = request(serde_json::json!({"userId": "a"})).unwrap();
        assert_eq!(missing.validate().unwrap_err().code(), 1002);
        let nulls = request(serde_json::json!({"userId": "a", "userProfile": null})).unwrap();
        assert_eq!(nulls.validate().unwrap_err().code(), 1002);
        let ok = request(serde_json::json!({"userId": "a", "userExtProfile": {"ext_a": "b"}}));
        assert!(ok.unwrap().validate().is_ok());
        let bad = request(serde_json::json!({"userId": "a", "userProfile": {"gender": 9}}));
        let err = bad.unwrap().validate().unwrap_err();
        assert_eq!(err.body()["profileKey"], "gender");
        let wrong_type = request(serde_json::json!({"userId": "a", "userProfile": "name"}));
        assert_eq!(wrong_type.unwrap_err().code(), 1002);
    }
}
