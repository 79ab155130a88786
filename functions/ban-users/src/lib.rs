//! `POST /v4/user/ban`: bans users for 1 to 43,200 minutes; banning again replaces the expiry.
//! All the users must exist and be active, else nothing is written.

use serde::Deserialize;
use shared::moderation::{self, MAX_BAN_MINUTES};
use shared::{ApiError, Call, Operation, validate};

pub const MAX_USERS: usize = 20;

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BanUsers {
    pub user_ids: Vec<String>,
    pub duration_minutes: i64,
}

impl Operation for BanUsers {
    const NAME: &'static str = "ban-users";
    const PATHS: &'static [&'static str] = &["/v4/user/ban"];
    const CONSOLE_PATHS: &'static [&'static str] = &["/console/v1/users/ban"];
    // Every write is a transaction: the nonce joins the first.
    const NONCE: shared::replay::Placement = shared::replay::Placement::InFirstTransaction;
    type Response = ();

    fn validate(&self) -> Result<(), ApiError> {
        validate::user_ids("userIds", &self.user_ids, MAX_USERS)?;
        if !(1..=i64::from(MAX_BAN_MINUTES)).contains(&self.duration_minutes) {
            return Err(ApiError::invalid(
                "durationMinutes",
                format!("must be 1 to {MAX_BAN_MINUTES}"),
            ));
        }
        Ok(())
    }

    async fn run(self, call: Call) -> Result<(), ApiError> {
        let minutes = u32::try_from(self.duration_minutes)
            .map_err(|_| ApiError::invalid("durationMinutes", "out of range"))?;
        moderation::ban(
            &call.state,
            &call.app.app_key,
            &self.user_ids,
            minutes,
            call.now_ms,
        )
        .await?;
        // Banned users' live connections are closed at once.
        let user_ids = shared::validate::dedup(&self.user_ids);
        shared::connections::close_users(
            &call.state,
            &call.app.app_key,
            &user_ids,
            None,
            shared::connections::Closing::Kick,
        )
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::testing::{assert_id_list_limit, ids};

    fn ban(users: usize, minutes: i64) -> Result<(), ApiError> {
        BanUsers {
            user_ids: ids(users),
            duration_minutes: minutes,
        }
        .validate()
    }

    #[test]
    fn limits_follow_the_contract() {
        assert_id_list_limit(20, |user_ids| {
            BanUsers {
                user_ids,
                duration_minutes: 1,
            }
            .validate()
        });
        assert!(ban(1, 43_200).is_ok());
        for minutes in [0, 43_201, -1] {
            let err = ban(1, minutes).unwrap_err();
            assert_eq!(err.code(), 1002);
            assert!(err.to_string().starts_with("durationMinutes:"), "{err}");
        }
    }
}
