//! Operation records of soft deletes and restores (`/v4/ext/operation/get`): one item per
//! operation with each user's result, and the sweeper's ticket of a soft delete.

use serde::Serialize;

use crate::error::ApiError;
use crate::items::{Kind as _, OperationRecord, StoredResult};
use crate::state::State;

pub(crate) const PURGE_PENDING: &str = "pending";
pub(crate) const PURGE_DONE: &str = "done";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationType {
    SoftDelete,
    Restore,
}

impl OperationType {
    fn as_str(self) -> &'static str {
        match self {
            Self::SoftDelete => "soft-delete",
            Self::Restore => "restore",
        }
    }
}

/// One user's result in an operation: `pending` (purge running), `done`, or `refused` + code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UserResult {
    pub user_id: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
}

impl UserResult {
    pub(crate) fn new(user_id: &str, status: &str, code: Option<i64>) -> Self {
        Self {
            user_id: user_id.to_owned(),
            status: status.to_owned(),
            code,
        }
    }

    fn stored(&self) -> StoredResult {
        StoredResult {
            status: self.status.clone(),
            code: self.code,
        }
    }
}

/// The answer of a soft delete or a restore: the operation to follow with `get-operation`.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct OperationStarted {
    pub operation_id: String,
}

/// An operation as `/v4/ext/operation/get` answers it:
/// `{"operationId","type","createdAt","requestId"?,"users":[...]}`.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = LifecycleOperation))]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    pub operation_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub created_at: String,
    /// The request id of the soft delete or restore call that started it (its `X-Request-ID`,
    /// or the one generated for it), which the operation's webhook events carry too; absent on
    /// operations recorded before it was kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    pub users: Vec<UserResult>,
}

pub(crate) async fn put_operation(
    state: &State,
    app_key: &str,
    operation_id: &str,
    kind: OperationType,
    results: &[UserResult],
    now_ms: i64,
) -> Result<(), ApiError> {
    let item = OperationRecord {
        app_key: app_key.to_owned(),
        operation_id: operation_id.to_owned(),
        kind: kind.as_str().to_owned(),
        created_at: now_ms,
        order: results.iter().map(|r| r.user_id.clone()).collect(),
        users: results
            .iter()
            .map(|r| (r.user_id.clone(), r.stored()))
            .collect(),
        request_id: crate::metrics::request_id(),
    }
    .item()?;
    if kind == OperationType::SoftDelete {
        // The sweeper's ticket goes in the same request: a purge that nothing finishes is found.
        let ticket = crate::items::PurgeTicket {
            app_key: app_key.to_owned(),
            operation_id: operation_id.to_owned(),
            created_at: now_ms,
        }
        .item()?;
        return crate::db::write_all(state, vec![crate::db::put(item)?, crate::db::put(ticket)?])
            .await;
    }
    crate::db::put_item(state)
        .set_item(Some(item))
        .send()
        .await?;
    Ok(())
}

/// Records results of some users of an operation in one `UpdateItem` (a missing record, which
/// only a console removal racing a purge can cause, has nothing to record into).
pub(crate) async fn set_results(
    state: &State,
    app_key: &str,
    operation_id: &str,
    results: &[UserResult],
) -> Result<(), ApiError> {
    if results.is_empty() {
        return Ok(());
    }
    let mut request = crate::db::update_item(state)
        .set_key(Some(OperationRecord::key_of(app_key, operation_id)))
        .condition_expression("attribute_exists(PK)")
        .expression_attribute_names("#users", "users");
    let mut sets = Vec::new();
    for (i, result) in results.iter().enumerate() {
        sets.push(format!("#users.#u{i} = :r{i}"));
        request = request
            .expression_attribute_names(format!("#u{i}"), &result.user_id)
            .expression_attribute_values(
                format!(":r{i}"),
                serde_dynamo::to_attribute_value(result.stored())?,
            );
    }
    match request
        .update_expression(format!("SET {}", sets.join(", ")))
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(err) if crate::db::condition_failed(&err) => Ok(()),
        Err(err) => Err(err.into()),
    }
}

pub async fn get_operation(
    state: &State,
    app_key: &str,
    operation_id: &str,
) -> Result<Operation, ApiError> {
    let not_found = || ApiError::NotFound(format!("operation {operation_id} does not exist"));
    let out = crate::db::get_item(state)
        .set_key(Some(OperationRecord::key_of(app_key, operation_id)))
        .consistent_read(true)
        .send()
        .await?;
    let mut record = OperationRecord::from_item(out.item.ok_or_else(not_found)?)?;
    let users = record
        .order
        .iter()
        .map(|user_id| {
            let stored = record.users.remove(user_id);
            UserResult {
                user_id: user_id.clone(),
                status: stored
                    .as_ref()
                    .map(|r| r.status.clone())
                    .unwrap_or_default(),
                code: stored.and_then(|r| r.code),
            }
        })
        .collect();
    Ok(Operation {
        operation_id: operation_id.to_owned(),
        kind: record.kind,
        created_at: crate::clock::format_utc(record.created_at),
        request_id: record.request_id,
        users,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_results_render_code_only_when_refused() {
        let done = serde_json::to_value(UserResult::new("a", "done", None)).unwrap();
        assert_eq!(done, serde_json::json!({"userId": "a", "status": "done"}));
        let refused = serde_json::to_value(UserResult::new("b", "refused", Some(20102))).unwrap();
        assert_eq!(refused["code"], 20102);
    }

    #[test]
    fn tickets_sort_by_time_within_sixteen_partitions() {
        use crate::db::s;
        use crate::items::{Kind, PurgeTicket, TICKET_SHARDS};
        use crate::table;
        let ticket = |operation_id: &str, created_at| {
            PurgeTicket {
                app_key: "app".into(),
                operation_id: operation_id.into(),
                created_at,
            }
            .item()
            .unwrap()
        };
        let early = ticket("0f3a", 5);
        let late = ticket("0b11", 1_000);
        assert_eq!(early[table::PK], s("PURGES#0"));
        assert!(early[table::SK].as_s().unwrap() < late[table::SK].as_s().unwrap());
        assert!(early[table::SK].as_s().unwrap().as_str() < format!("{:013}", 6).as_str());
        assert!(late[table::SK].as_s().unwrap().as_str() >= format!("{:013}", 1_000).as_str());
        let shards: std::collections::HashSet<String> = (0..256)
            .map(|_| {
                ticket(&uuid::Uuid::new_v4().simple().to_string(), 0)[table::PK]
                    .as_s()
                    .unwrap()
                    .clone()
            })
            .collect();
        assert_eq!(shards.len(), TICKET_SHARDS.len());
    }
}
