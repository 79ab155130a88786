//! The console's audit log: who changed what, when, with the state before and after.
//!
//! An entry is written after its change commits, by the function that made it. If that write
//! fails, the call answers 504/1050 though the change stands; the console's changes are safe to
//! send again (the same settings, the same ban), and the retry writes the entry. Entries live in
//! the app's audit partition, newest first by sort key (read strongly consistent), and in the
//! stack-wide `AUDIT` list of `GSI1` for the log of every app (an index: eventually consistent,
//! a second or so behind). Kept for [`RETENTION_DAYS`].

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::db::{self, n, s};
use crate::error::ApiError;
use crate::state::State;
use crate::table;

/// How long entries are kept (DynamoDB TTL; hidden at read time after it too).
pub const RETENTION_DAYS: i64 = 400;

/// The `GSI1PK` of every entry: the log of all apps.
const LIST_ALL: &str = "AUDIT";

/// The partition of an app's entries (`-` for changes of no app).
pub fn pk(app_key: Option<&str>) -> String {
    format!("AUDIT#{}", app_key.unwrap_or("-"))
}

/// Fields whose values are secrets: never written to the log, at any depth.
const SECRET_FIELDS: [&str; 3] = ["appSecret", "webhookSecret", "previousWebhookSecret"];

/// A change to record.
#[derive(Debug, Clone, Default)]
pub struct Change {
    /// What was done, as the console route names it (`apps/update`, `users/ban`).
    pub action: &'static str,
    pub app_key: Option<String>,
    /// Whom it concerned (a user id, several joined by commas), if not the app itself.
    pub target: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl Change {
    pub fn of(action: &'static str, app_key: &str) -> Self {
        Self {
            action,
            app_key: Some(app_key.to_owned()),
            ..Self::default()
        }
    }

    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    pub fn before(mut self, before: impl Serialize) -> Self {
        self.before = serde_json::to_value(before).ok().map(redact);
        self
    }

    pub fn after(mut self, after: impl Serialize) -> Self {
        self.after = serde_json::to_value(after).ok().map(redact);
        self
    }
}

/// Whom a call's fields concern: its `userIds` joined by commas, or its `userId`.
pub fn target_of(fields: &serde_json::Map<String, Value>) -> Option<String> {
    match (fields.get("userIds"), fields.get("userId")) {
        (Some(Value::Array(ids)), _) => {
            let ids: Vec<&str> = ids.iter().filter_map(Value::as_str).collect();
            (!ids.is_empty()).then(|| ids.join(","))
        }
        (_, Some(Value::String(id))) => Some(id.clone()),
        _ => None,
    }
}

/// `value` without any secret field, at any depth.
pub fn redact(value: Value) -> Value {
    match value {
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .filter(|(name, _)| !SECRET_FIELDS.contains(&name.as_str()))
                .map(|(name, value)| (name, redact(value)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(redact).collect()),
        other => other,
    }
}

/// One entry as the console lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = AuditEntry))]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// Unix ms.
    pub at: i64,
    pub actor: String,
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
    /// The request that made the change (its `X-Request-ID`), to find its log lines.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub request_id: String,
}

/// Who made a change, and when: the console call's.
pub struct Made<'a> {
    pub actor: &'a str,
    pub request_id: &'a str,
    pub at: i64,
}

/// Writes `change` as made by `made`.
pub async fn record(state: &State, made: Made<'_>, change: Change) -> Result<(), ApiError> {
    let entry = Entry {
        at: made.at,
        actor: made.actor.to_owned(),
        action: change.action.to_owned(),
        app_key: change.app_key,
        target: change.target,
        before: change.before,
        after: change.after,
        request_id: made.request_id.to_owned(),
    };
    let item = to_item(&entry)?;
    // The SDK retries throttling and timeouts; what still fails answers 504/1050.
    db::put_item(state).set_item(Some(item)).send().await?;
    Ok(())
}

fn to_item(entry: &Entry) -> Result<db::Item, ApiError> {
    let sort_key = table::time_sort_key(entry.at, &uuid::Uuid::new_v4().simple().to_string());
    let json = |value: &Option<Value>| value.as_ref().map(|v| s(v.to_string()));
    let mut item = db::key(pk(entry.app_key.as_deref()), sort_key.clone());
    item.insert(table::GSI1PK.into(), s(LIST_ALL));
    item.insert(table::GSI1SK.into(), s(sort_key));
    item.insert("at".into(), n(entry.at));
    item.insert("actor".into(), s(&entry.actor));
    item.insert("action".into(), s(&entry.action));
    item.insert(
        table::TTL.into(),
        n(entry.at.div_euclid(1000) + RETENTION_DAYS * 86_400),
    );
    let optional = [
        ("appKey", entry.app_key.clone().map(s)),
        ("target", entry.target.clone().map(s)),
        ("before", json(&entry.before)),
        ("after", json(&entry.after)),
        (
            "requestId",
            Some(&entry.request_id)
                .filter(|id| !id.is_empty())
                .map(|id| s(id.as_str())),
        ),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            item.insert(name.into(), value);
        }
    }
    Ok(item)
}

fn from_item(item: &db::Item) -> Entry {
    let json = |name: &str| db::text(item, name).and_then(|t| serde_json::from_str(t).ok());
    let text = |name: &str| db::text(item, name).map(str::to_owned);
    Entry {
        at: db::number(item, "at").unwrap_or_default(),
        actor: text("actor").unwrap_or_default(),
        action: text("action").unwrap_or_default(),
        app_key: text("appKey"),
        target: text("target"),
        before: json("before"),
        after: json("after"),
        request_id: text("requestId").unwrap_or_default(),
    }
}

/// One page of the log, newest first: of one app (strongly consistent), or of every app
/// (`GSI1`). Returns the entries and where the next page starts.
pub async fn page(
    state: &State,
    app_key: Option<&str>,
    page_size: usize,
    start: Option<db::Item>,
    now_ms: i64,
) -> Result<(Vec<Entry>, Option<db::Item>), ApiError> {
    let query = db::query(state)
        .scan_index_forward(false)
        .limit(i32::try_from(page_size).unwrap_or(i32::MAX))
        .set_exclusive_start_key(start)
        .filter_expression("#ttl > :now")
        .expression_attribute_names("#ttl", table::TTL)
        .expression_attribute_values(":now", n(now_ms.div_euclid(1000)));
    let query = match app_key {
        Some(app_key) => query
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(":pk", s(pk(Some(app_key))))
            .consistent_read(true),
        None => query
            .index_name(table::GSI1)
            .key_condition_expression("GSI1PK = :pk")
            .expression_attribute_values(":pk", s(LIST_ALL)),
    };
    let out = query.send().await?;
    let entries = out.items().iter().map(from_item).collect();
    Ok((entries, out.last_evaluated_key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_secret_reaches_the_log_at_any_depth() {
        let change = Change::of("apps/update", "k")
            .before(serde_json::json!({"appSecret": "s1", "settings": {"webhookSecret": "whsec_a", "previousWebhookSecret": "whsec_b", "webhookUrl": "https://h"}}))
            .after(serde_json::json!([{"appSecret": "s2", "plan": "pro"}]));
        let logged = format!("{:?} {:?}", change.before, change.after);
        for secret in ["s1", "s2", "whsec_a", "whsec_b"] {
            assert!(!logged.contains(secret), "{secret} in {logged}");
        }
        assert!(
            logged.contains("https://h") && logged.contains("pro"),
            "{logged}"
        );
    }

    #[test]
    fn an_entry_survives_its_item_and_sorts_by_time() {
        let entry = Entry {
            at: 1_700_000_000_123,
            actor: "ops@example.com".into(),
            action: "users/ban".into(),
            app_key: Some("k".into()),
            target: Some("alice,bob".into()),
            before: None,
            after: Some(serde_json::json!({"durationMinutes": 60})),
            request_id: "r-1".into(),
        };
        let item = to_item(&entry).expect("item");
        assert_eq!(from_item(&item), entry);
        assert_eq!(db::text(&item, "PK"), Some("AUDIT#k"));
        let sort_key = db::text(&item, "SK").expect("SK");
        assert!(sort_key.starts_with("1700000000123#"), "{sort_key}");
        assert_eq!(db::text(&item, "GSI1SK"), Some(sort_key));
    }
}
