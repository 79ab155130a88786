//! IAM, locally: each function may send only what its `Policies` in `template.yaml` allow, and a
//! request they deny gets what AWS answers (`AccessDeniedException`, HTTP 400), so the handler's
//! real error path runs. Enforced in the SDK's HTTP layer ([`EnforcingClient`]) for handlers run
//! in-process, and by the local API's DynamoDB proxy for the real binaries
//! (`scripts/invoke-functions`).
//!
//! What a request needs, as AWS evaluates it: the operation's own action on the table ARN, or
//! on `<table>/index/<name>` for a `Query`/`Scan` of an index; `BatchGetItem`/`BatchWriteItem` on
//! each table; for `TransactWriteItems` the per-item action (`PutItem`, `UpdateItem`,
//! `DeleteItem`, `ConditionCheckItem`) and for `TransactGetItems` `GetItem`, on each item's table;
//! the stream reads on the stream ARN; `execute-api:ManageConnections` on the connection.

use std::collections::HashMap;
use std::sync::Arc;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use serde_json::Value;

use crate::faults::Faults;
use crate::template::{Condition, Function, Statement};

/// Where the local stack lives, for ARNs.
pub const REGION: &str = "us-east-1";
pub const ACCOUNT: &str = "000000000000";
/// The WebSocket API's id in local ARNs.
pub const WEBSOCKET_API_ID: &str = "local";

/// The webhook queue's ARN in local policies (`!GetAtt WebhookQueue.Arn`).
pub fn webhook_queue_arn() -> String {
    format!("arn:aws:sqs:{REGION}:{ACCOUNT}:webhooks")
}

/// The token-signing secret's ARN as the local policies name it (`!Ref TokenSigningSecret`).
pub fn token_secret_arn() -> String {
    format!("arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:TokenSigningSecret")
}

pub fn table_arn(table: &str) -> String {
    format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}")
}

/// The ARN `DeleteConnection` of `connection_id` is authorised against.
pub fn connection_arn(connection_id: &str) -> String {
    format!(
        "arn:aws:execute-api:{REGION}:{ACCOUNT}:{WEBSOCKET_API_ID}/live/DELETE/@connections/{connection_id}"
    )
}

/// One thing a request needs allowed: an action on a resource, and for a DynamoDB item request
/// the partition keys it touches (`dynamodb:LeadingKeys`; `None` when the request names none
/// this emulation reads, e.g. a `Query`: a statement conditioned on them then does not apply,
/// stricter than AWS, never looser).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    pub action: String,
    pub resource: String,
    pub leading_keys: Option<Vec<String>>,
}

impl Need {
    pub fn new(action: impl Into<String>, resource: impl Into<String>) -> Self {
        Self {
            action: action.into(),
            resource: resource.into(),
            leading_keys: None,
        }
    }
}

/// One function's policy, resolved for a table.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The function's logical id (the principal in denial messages).
    pub function: String,
    statements: Vec<Statement>,
}

/// What AWS says when a policy does not allow a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    pub principal: String,
    pub action: String,
    pub resource: String,
}

impl std::fmt::Display for Denied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "User: {} is not authorized to perform: {} on resource: {} because no identity-based policy allows the {} action",
            self.principal, self.action, self.resource, self.action
        )
    }
}

impl Denied {
    /// The HTTP status AWS answers a denied DynamoDB request with.
    pub const STATUS: u16 = 400;

    /// The JSON 1.0 error body DynamoDB (and DynamoDB Streams) answer.
    pub fn body(&self) -> String {
        serde_json::json!({
            "__type": "com.amazon.coral.service#AccessDeniedException",
            "Message": self.to_string(),
        })
        .to_string()
    }
}

impl Policy {
    /// The policy of `function`, with its `${...}` variables resolved for the local `table`.
    pub fn of(function: &Function, table: &str) -> Policy {
        let table_arn = table_arn(table);
        let vars: HashMap<&str, String> = HashMap::from([
            ("Table.Arn", table_arn.clone()),
            ("Table.StreamArn", format!("{table_arn}/stream/*")),
            ("Table", table.to_owned()),
            ("AWS::Partition", "aws".to_owned()),
            ("AWS::Region", REGION.to_owned()),
            ("AWS::AccountId", ACCOUNT.to_owned()),
            ("WebSocketApi", WEBSOCKET_API_ID.to_owned()),
            ("WebhookQueue.Arn", webhook_queue_arn()),
            ("TokenSigningSecret", token_secret_arn()),
        ]);
        let statements = function
            .statements
            .iter()
            .map(|s| Statement {
                allow: s.allow,
                actions: s.actions.clone(),
                resources: s.resources.iter().map(|r| substitute(r, &vars)).collect(),
                conditions: s.conditions.clone(),
            })
            .collect();
        Policy {
            function: function.logical_id.clone(),
            statements,
        }
    }

    fn principal(&self) -> String {
        format!(
            "arn:aws:sts::{ACCOUNT}:assumed-role/{}Role/{}",
            self.function, self.function
        )
    }

    /// IAM's evaluation for one action on one resource, with no condition keys.
    pub fn allows(&self, action: &str, resource: &str) -> bool {
        self.allows_need(&Need::new(action, resource))
    }

    /// IAM's evaluation of one need: an explicit deny wins, else any allow whose conditions
    /// hold.
    pub fn allows_need(&self, need: &Need) -> bool {
        let action = need.action.to_ascii_lowercase();
        let matching = |s: &&Statement| {
            s.actions
                .iter()
                .any(|a| wildcard_match(&a.to_ascii_lowercase(), &action))
                && s.resources
                    .iter()
                    .any(|r| wildcard_match(r, &need.resource))
                && s.conditions.iter().all(|c| condition_holds(c, need))
        };
        let mut matched = self.statements.iter().filter(matching).peekable();
        matched.peek().is_some() && matched.all(|s| s.allow)
    }

    /// Checks every need of a request.
    pub fn check(&self, needs: &[Need]) -> Result<(), Denied> {
        match needs.iter().find(|need| !self.allows_need(need)) {
            None => {
                record_usage(&self.function, needs);
                Ok(())
            }
            Some(need) => Err(Denied {
                principal: self.principal(),
                action: need.action.clone(),
                resource: need.resource.clone(),
            }),
        }
    }

    /// Checks one DynamoDB or DynamoDB Streams request (its `X-Amz-Target` and JSON body).
    pub fn check_request(&self, target: &str, body: &[u8]) -> Result<(), Denied> {
        let needs = requirements(target, body).unwrap_or_else(|why| {
            // A request we cannot read is refused rather than waved through.
            vec![Need::new(format!("unreadable request ({why})"), "*")]
        });
        self.check(&needs)
    }
}

/// `ForAllValues:StringLike` / `StringEquals` on `dynamodb:LeadingKeys`: every partition key the
/// request touches matches one of the values (the only conditions `crate::template` accepts).
fn condition_holds(condition: &Condition, need: &Need) -> bool {
    let Some(keys) = need.leading_keys.as_ref().filter(|keys| !keys.is_empty()) else {
        return false;
    };
    let matches = |key: &String| match condition.operator.as_str() {
        "ForAllValues:StringLike" => condition.values.iter().any(|v| wildcard_match(v, key)),
        "ForAllValues:StringEquals" => condition.values.iter().any(|v| v == key),
        _ => false,
    };
    condition.key == "dynamodb:LeadingKeys" && keys.iter().all(matches)
}

/// With `LOCAL_IAM_USAGE_LOG=<file>`, every allowed (function, action, resource) is appended to
/// that file: run the suites with it to find grants no scenario uses (least privilege).
fn record_usage(function: &str, needs: &[Need]) {
    use std::io::Write;
    let Some(path) = std::env::var_os("LOCAL_IAM_USAGE_LOG") else {
        return;
    };
    let lines: String = needs
        .iter()
        .map(|need| {
            let kinds: Vec<String> = need
                .leading_keys
                .iter()
                .flatten()
                .map(|pk| partition_kind(pk))
                .collect();
            format!(
                "{function} {} {} {}\n",
                need.action,
                need.resource,
                kinds.join(",")
            )
        })
        .collect();
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = file.write_all(lines.as_bytes());
    }
}

/// A partition key with its values (app keys, user and other IDs, numbers) replaced by `*`: the
/// `dynamodb:LeadingKeys` pattern that admits it (`APP#k1#U#alice` -> `APP#*#U#*`).
pub fn partition_kind(pk: &str) -> String {
    let parts: Vec<&str> = pk.split('#').collect();
    match parts.as_slice() {
        ["APP", _] => "APP#*".to_owned(),
        ["APP", _, kind] => format!("APP#*#{kind}"),
        ["APP", _, kind, ..] => format!("APP#*#{kind}#*"),
        [kind, ..] => format!("{kind}#*"),
        [] => "*".to_owned(),
    }
}

fn substitute(text: &str, vars: &HashMap<&str, String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        match rest[start..].find('}') {
            Some(end) => {
                let name = &rest[start + 2..start + end];
                match vars.get(name) {
                    Some(value) => out.push_str(value),
                    None => out.push_str(&rest[start..=start + end]),
                }
                rest = &rest[start + end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// IAM's glob: `*` any run of characters, `?` one character.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// The (action, resource) pairs a DynamoDB or DynamoDB Streams request needs.
pub fn requirements(target: &str, body: &[u8]) -> Result<Vec<Need>, String> {
    let (service, operation) = target.split_once('.').ok_or("no X-Amz-Target")?;
    let body: Value = if body.is_empty() {
        Value::Object(Default::default())
    } else {
        serde_json::from_slice(body).map_err(|e| e.to_string())?
    };
    let need = |action: &str, resource: String, leading_keys: Option<Vec<String>>| Need {
        action: format!("dynamodb:{action}"),
        resource,
        leading_keys,
    };
    let table = |v: &Value| v["TableName"].as_str().map(table_arn).ok_or("no TableName");
    if service.starts_with("DynamoDBStreams") {
        // Streams name a stream ARN; rebuilt on the local account and region.
        // GetRecords names only its iterator, which carries the stream's ARN.
        let arn = body["StreamArn"]
            .as_str()
            .or_else(|| {
                let iterator = body["ShardIterator"].as_str()?;
                let start = iterator.find("arn:")?;
                iterator[start..].split('|').next()
            })
            .ok_or("no stream ARN")?;
        let resource = match arn.split_once(":table/") {
            Some((_, rest)) => format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{rest}"),
            None => return Err(format!("odd stream ARN {arn}")),
        };
        return Ok(vec![need(operation, resource, None)]);
    }
    let needs = match operation {
        "BatchGetItem" | "BatchWriteItem" => body["RequestItems"]
            .as_object()
            .ok_or("no RequestItems")?
            .iter()
            .map(|(t, requests)| need(operation, table_arn(t), batch_leading_keys(requests)))
            .collect(),
        "TransactWriteItems" | "TransactGetItems" => {
            let mut needs = Vec::new();
            for item in body["TransactItems"].as_array().ok_or("no TransactItems")? {
                let (kind, inner) = item
                    .as_object()
                    .and_then(|o| o.iter().next())
                    .ok_or("empty transaction item")?;
                let action = match kind.as_str() {
                    "Put" => "PutItem",
                    "Update" => "UpdateItem",
                    "Delete" => "DeleteItem",
                    "ConditionCheck" => "ConditionCheckItem",
                    "Get" => "GetItem",
                    other => return Err(format!("transaction item {other}")),
                };
                needs.push(need(action, table(inner)?, item_leading_key(inner)));
            }
            needs
        }
        "Query" | "Scan" => {
            let arn = table(&body)?;
            match body["IndexName"].as_str() {
                Some(index) => vec![need(operation, format!("{arn}/index/{index}"), None)],
                None => vec![need(operation, arn, query_leading_key(&body))],
            }
        }
        "ListTables" => vec![need(operation, "*".to_owned(), None)],
        _ => vec![need(operation, table(&body)?, item_leading_key(&body))],
    };
    Ok(needs)
}

/// The partition key a table `Query` reads: the value its key condition gives `PK`
/// (`PK = :pk AND ...`, the name perhaps behind a `#placeholder`), as AWS evaluates
/// `dynamodb:LeadingKeys` for a `Query`. `None` for a `Scan` or an unrecognised condition.
fn query_leading_key(request: &Value) -> Option<Vec<String>> {
    let condition = request["KeyConditionExpression"].as_str()?;
    let first = condition.split(" AND ").next()?;
    let (name, placeholder) = first.split_once('=')?;
    let name = name.trim();
    let name = match name.starts_with('#') {
        true => request["ExpressionAttributeNames"][name].as_str()?,
        false => name,
    };
    if name != shared::table::PK {
        return None;
    }
    let value = request["ExpressionAttributeValues"][placeholder.trim()]["S"].as_str()?;
    Some(vec![value.to_owned()])
}

/// The partition key of a request (or transaction item) that names one item by `Key` or `Item`.
fn item_leading_key(request: &Value) -> Option<Vec<String>> {
    let item = request.get("Key").or_else(|| request.get("Item"))?;
    Some(vec![item[shared::table::PK]["S"].as_str()?.to_owned()])
}

/// The partition keys of one table's requests in a `BatchGetItem` (`{"Keys": [...]}`) or a
/// `BatchWriteItem` (`[{"PutRequest": {"Item"}} | {"DeleteRequest": {"Key"}}]`).
fn batch_leading_keys(requests: &Value) -> Option<Vec<String>> {
    let keys: Vec<&Value> = match requests {
        Value::Object(get) => get.get("Keys")?.as_array()?.iter().collect(),
        Value::Array(writes) => writes
            .iter()
            .map(|w| w.as_object().and_then(|o| o.values().next()))
            .collect::<Option<_>>()?,
        _ => return None,
    };
    keys.into_iter()
        .map(|key| {
            let key = key.get("Key").or_else(|| key.get("Item")).unwrap_or(key);
            key[shared::table::PK]["S"].as_str().map(str::to_owned)
        })
        .collect()
}

/// The SDK's HTTP client with one function's policy in front: a denied request never leaves the
/// process and comes back as AWS's `AccessDeniedException`.
#[derive(Debug, Clone)]
pub struct EnforcingClient {
    inner: SharedHttpClient,
    policy: Arc<Policy>,
    faults: Arc<Faults>,
}

impl EnforcingClient {
    /// `inner` behind `policy`; an allowed request may still meet one of `faults`.
    pub fn shared(
        inner: SharedHttpClient,
        policy: Arc<Policy>,
        faults: Arc<Faults>,
    ) -> SharedHttpClient {
        SharedHttpClient::new(EnforcingClient {
            inner,
            policy,
            faults,
        })
    }
}

impl HttpClient for EnforcingClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(EnforcingConnector {
            inner: self.inner.http_connector(settings, components),
            policy: self.policy.clone(),
            faults: self.faults.clone(),
        })
    }
}

#[derive(Debug)]
struct EnforcingConnector {
    inner: SharedHttpConnector,
    policy: Arc<Policy>,
    faults: Arc<Faults>,
}

fn json_response(status: u16, body: String) -> HttpResponse {
    let mut response = HttpResponse::new(
        status
            .try_into()
            .unwrap_or_else(|_| unreachable!("a valid status")),
        SdkBody::from(body),
    );
    response
        .headers_mut()
        .insert("content-type", "application/x-amz-json-1.0");
    response
        .headers_mut()
        .insert("x-amzn-requestid", uuid::Uuid::new_v4().to_string());
    response
}

impl HttpConnector for EnforcingConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let target = request
            .headers()
            .get("x-amz-target")
            .unwrap_or_default()
            .to_owned();
        let body = request.body().bytes().unwrap_or_default();
        match self.policy.check_request(&target, body) {
            Ok(()) => match self.faults.answer(&target, body) {
                Some(answer) => HttpConnectorFuture::ready(Ok(json_response(200, answer))),
                None => self.inner.call(request),
            },
            Err(denied) => {
                tracing::warn!(%denied, "IAM (local): request denied");
                HttpConnectorFuture::ready(Ok(json_response(Denied::STATUS, denied.body())))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::Template;

    fn policy(binary: &str) -> Policy {
        let template = Template::shipped().unwrap();
        Policy::of(template.function(binary).unwrap(), "t")
    }

    #[test]
    fn globs_match_like_iam() {
        assert!(wildcard_match(
            "arn:x:table/t/index/*",
            "arn:x:table/t/index/GSI1"
        ));
        assert!(!wildcard_match("arn:x:table/t", "arn:x:table/t/index/GSI1"));
        assert!(wildcard_match("a?c*", "abcdef"));
        assert!(!wildcard_match("a?c", "ac"));
    }

    #[test]
    fn transactions_need_each_items_action() {
        let body = br#"{"TransactItems":[{"Put":{"TableName":"t"}},{"ConditionCheck":{"TableName":"t"}}]}"#;
        let needs = requirements("DynamoDB_20120810.TransactWriteItems", body).unwrap();
        let actions: Vec<_> = needs.iter().map(|n| n.action.as_str()).collect();
        assert_eq!(actions, ["dynamodb:PutItem", "dynamodb:ConditionCheckItem"]);
        assert_eq!(needs[0].resource, table_arn("t"));
    }

    #[test]
    fn index_queries_need_the_index_arn() {
        let body = br#"{"TableName":"t","IndexName":"GSI1"}"#;
        let needs = requirements("DynamoDB_20120810.Query", body).unwrap();
        assert_eq!(needs[0].resource, format!("{}/index/GSI1", table_arn("t")));
    }

    #[test]
    fn the_shipped_policies_are_enforced() {
        let get_user = policy("get-user");
        let get = br#"{"TableName":"t","Key":{}}"#;
        assert!(
            get_user
                .check_request("DynamoDB_20120810.GetItem", get)
                .is_ok()
        );
        let denied = get_user
            .check_request("DynamoDB_20120810.DeleteItem", get)
            .unwrap_err();
        assert_eq!(denied.action, "dynamodb:DeleteItem");
        assert!(denied.body().contains("AccessDeniedException"));
        // Another table is not this stack's.
        let other = br#"{"TableName":"other","Key":{}}"#;
        assert!(
            get_user
                .check_request("DynamoDB_20120810.GetItem", other)
                .is_err()
        );
        assert!(get_user.check_request("nonsense", b"{}").is_err());
    }

    #[test]
    fn a_read_may_update_rate_counters_and_nothing_else() {
        let get_user = policy("get-user");
        let update = |pk: &str| {
            format!(r#"{{"TableName":"t","Key":{{"PK":{{"S":"{pk}"}},"SK":{{"S":"RATE"}}}}}}"#)
        };
        let counter = update("RATE#app#get-user#1764000000#0");
        assert!(
            get_user
                .check_request("DynamoDB_20120810.UpdateItem", counter.as_bytes())
                .is_ok()
        );
        let user = update("APP#app#U#alice");
        let denied = get_user
            .check_request("DynamoDB_20120810.UpdateItem", user.as_bytes())
            .unwrap_err();
        assert_eq!(denied.action, "dynamodb:UpdateItem");
        // The condition covers every item of a transaction, and an unkeyed request not at all.
        let transaction = |pk: &str| {
            format!(
                r#"{{"TransactItems":[{{"Update":{{"TableName":"t","Key":{{"PK":{{"S":"RATE#a"}}}}}}}},{{"Update":{{"TableName":"t","Key":{{"PK":{{"S":"{pk}"}}}}}}}}]}}"#
            )
        };
        let write = "DynamoDB_20120810.TransactWriteItems";
        assert!(
            get_user
                .check_request(write, transaction("RATE#b").as_bytes())
                .is_ok()
        );
        assert!(
            get_user
                .check_request(write, transaction("APP#a").as_bytes())
                .is_err()
        );
        assert!(!get_user.allows("dynamodb:UpdateItem", &table_arn("t")));
    }

    #[test]
    fn batch_requests_name_every_partition_key() {
        let write = br#"{"RequestItems":{"t":[{"PutRequest":{"Item":{"PK":{"S":"A"}}}},{"DeleteRequest":{"Key":{"PK":{"S":"B"}}}}]}}"#;
        let needs = requirements("DynamoDB_20120810.BatchWriteItem", write).unwrap();
        assert_eq!(needs[0].leading_keys, Some(vec!["A".into(), "B".into()]));
        let get = br#"{"RequestItems":{"t":{"Keys":[{"PK":{"S":"C"}}]}}}"#;
        let needs = requirements("DynamoDB_20120810.BatchGetItem", get).unwrap();
        assert_eq!(needs[0].leading_keys, Some(vec!["C".into()]));
    }

    #[test]
    fn a_table_query_touches_the_partition_its_key_condition_names() {
        let query = |body: serde_json::Value| {
            requirements("DynamoDB_20120810.Query", body.to_string().as_bytes())
                .expect("a query")
                .remove(0)
        };
        let plain = query(
            serde_json::json!({"TableName": "t", "KeyConditionExpression": "PK = :pk AND begins_with(SK, :c)",
            "ExpressionAttributeValues": {":pk": {"S": "AUDIT#k"}, ":c": {"S": "C"}}}),
        );
        assert_eq!(plain.leading_keys, Some(vec!["AUDIT#k".to_owned()]));
        let named = query(
            serde_json::json!({"TableName": "t", "KeyConditionExpression": "#p = :v",
            "ExpressionAttributeNames": {"#p": "PK"}, "ExpressionAttributeValues": {":v": {"S": "APP#k"}}}),
        );
        assert_eq!(named.leading_keys, Some(vec!["APP#k".to_owned()]));
        let index = query(
            serde_json::json!({"TableName": "t", "IndexName": "GSI1", "KeyConditionExpression": "GSI1PK = :v",
            "ExpressionAttributeValues": {":v": {"S": "AUDIT"}}}),
        );
        assert_eq!(
            (index.leading_keys, index.resource.ends_with("/index/GSI1")),
            (None, true)
        );
    }

    #[test]
    fn deny_wins_over_allow() {
        let function = Function {
            logical_id: "F".into(),
            binary: "f".into(),
            handler: None,
            http_routes: vec![],
            websocket_routes: vec![],
            stream_events: vec![],
            queue_events: vec![],
            schedules: vec![],
            timeout_seconds: None,
            environment: Default::default(),
            statements: vec![
                Statement {
                    allow: true,
                    actions: vec!["dynamodb:*".into()],
                    resources: vec!["*".into()],
                    conditions: vec![],
                },
                Statement {
                    allow: false,
                    actions: vec!["dynamodb:DeleteItem".into()],
                    resources: vec!["${Table.Arn}".into()],
                    conditions: vec![],
                },
            ],
        };
        let policy = Policy::of(&function, "t");
        assert!(policy.allows("dynamodb:GetItem", &table_arn("t")));
        assert!(!policy.allows("dynamodb:DeleteItem", &table_arn("t")));
    }
}
