//! Extension `POST /v4/ext/operation/get`: the per-user results of a soft delete or restore
//! (Nexconn only offers a callback for these).

use serde::Deserialize;
use shared::{ApiError, Call, Operation, operations};

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct GetOperation {
    pub operation_id: String,
}

impl Operation for GetOperation {
    const NAME: &'static str = "get-operation";
    const PATHS: &'static [&'static str] = &["/v4/ext/operation/get"];
    type Response = operations::Operation;
    const READ_ONLY: bool = true;

    fn validate(&self) -> Result<(), ApiError> {
        let id = &self.operation_id;
        if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ApiError::invalid("operationId", "is not an operation ID"));
        }
        Ok(())
    }

    async fn run(self, call: Call) -> Result<operations::Operation, ApiError> {
        operations::get_operation(&call.state, &call.app.app_key, &self.operation_id).await
    }
}
