//! `POST /v4/user/connection-status/get` (alias `/v4/user/online-status/get`): `"1"` while the
//! user has at least one connection whose TTL has not passed, else `"0"`.

use serde::{Deserialize, Serialize};
use shared::{ApiError, Call, Operation, connections, validate};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetUserConnectionStatus {
    pub user_id: String,
}

/// `"1"` online, `"0"` offline (strings, as the contract has them).
#[derive(Debug, Serialize)]
pub struct ConnectionStatus {
    pub status: &'static str,
}

impl Operation for GetUserConnectionStatus {
    const NAME: &'static str = "get-user-connection-status";
    const PATHS: &'static [&'static str] = &[
        "/v4/user/connection-status/get",
        "/v4/user/online-status/get",
    ];
    type Response = ConnectionStatus;
    const READ_ONLY: bool = true;

    fn validate(&self) -> Result<(), ApiError> {
        validate::user_id("userId", &self.user_id)
    }

    async fn run(self, call: Call) -> Result<ConnectionStatus, ApiError> {
        let online = connections::is_online(&call.state, &call.app.app_key, &self.user_id).await?;
        Ok(ConnectionStatus {
            status: if online { "1" } else { "0" },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_id_is_checked() {
        let ok = GetUserConnectionStatus {
            user_id: "alice1".into(),
        };
        assert!(ok.validate().is_ok());
        let bad = GetUserConnectionStatus {
            user_id: "a#b".into(),
        };
        assert_eq!(bad.validate().unwrap_err().code(), 1002);
    }
}
