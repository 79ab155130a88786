//! What the local stack reads of `template.yaml` besides the table: each function's binary, its
//! routes (HTTP API, WebSocket API, stream), its own environment variables and its IAM policy
//! statements. The template is the source of truth; the local API, the tests and
//! `scripts/invoke-functions` obey it the way AWS does.

use std::collections::BTreeMap;

use serde_yaml::Value;

use crate::table::BoxError;

/// One `Allow` or `Deny` statement, its resources kept as written, with intrinsic functions
/// turned into `${...}` variables (`!GetAtt Table.Arn` → `${Table.Arn}`), resolved per stack by
/// [`crate::iam`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub allow: bool,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
    /// All must hold for the statement to apply.
    pub conditions: Vec<Condition>,
}

/// One condition of a statement: `operator: {key: values}`. Only what [`crate::iam`] evaluates
/// is accepted: `ForAllValues:StringLike` or `ForAllValues:StringEquals` on
/// `dynamodb:LeadingKeys` (the partition keys a request touches).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub operator: String,
    pub key: String,
    pub values: Vec<String>,
}

/// The condition operators and keys the local stack evaluates.
pub const CONDITION_OPERATORS: &[&str] = &["ForAllValues:StringLike", "ForAllValues:StringEquals"];
pub const CONDITION_KEYS: &[&str] = &["dynamodb:LeadingKeys"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRoute {
    pub path: String,
    pub method: String,
}

/// An `AWS::Serverless::Function` of the template.
#[derive(Debug, Clone)]
pub struct Function {
    pub logical_id: String,
    /// `Metadata.BuildProperties.Binary`: the package and binary in `functions/`.
    pub binary: String,
    pub handler: Option<String>,
    pub http_routes: Vec<HttpRoute>,
    /// Route keys of the WebSocket API integrated with this function (`$connect`, ...).
    pub websocket_routes: Vec<String>,
    /// `Properties` of each `Type: DynamoDB` event (the stream mapping).
    pub stream_events: Vec<Value>,
    /// Its `SQS` events' properties.
    pub queue_events: Vec<Value>,
    /// The expression of each `Type: Schedule` event (EventBridge), e.g. `rate(5 minutes)`.
    pub schedules: Vec<String>,
    /// The function's own `Timeout` in seconds (`None`: the `Globals` one).
    pub timeout_seconds: Option<u64>,
    /// The function's own `Environment.Variables` (the template's `Globals` apply to all).
    pub environment: BTreeMap<String, Value>,
    pub statements: Vec<Statement>,
}

impl Function {
    pub fn has_env(&self, name: &str) -> bool {
        self.environment.contains_key(name)
    }
}

#[derive(Debug, Clone)]
pub struct Template {
    pub functions: Vec<Function>,
    /// `Globals.Function.Timeout`.
    pub global_timeout_seconds: Option<u64>,
}

impl Template {
    /// The `Timeout` function `binary` runs with: its own, else the `Globals` one, else Lambda's
    /// default of 3 s.
    pub fn timeout(&self, binary: &str) -> std::time::Duration {
        let seconds = self
            .function(binary)
            .and_then(|f| f.timeout_seconds)
            .or(self.global_timeout_seconds)
            .unwrap_or(3);
        std::time::Duration::from_secs(seconds)
    }

    pub fn parse(text: &str) -> Result<Template, BoxError> {
        let doc: Value = serde_yaml::from_str(text)?;
        let resources = doc
            .get("Resources")
            .and_then(Value::as_mapping)
            .ok_or("template has no Resources")?;
        let mut functions = Vec::new();
        for (id, resource) in resources {
            if resource.get("Type").and_then(Value::as_str) != Some("AWS::Serverless::Function") {
                continue;
            }
            let id = id.as_str().ok_or("a resource id is not a string")?;
            functions.push(function(id, resource, resources)?);
        }
        let global_timeout_seconds = doc
            .get("Globals")
            .and_then(|g| g.get("Function"))
            .and_then(|f| f.get("Timeout"))
            .and_then(Value::as_u64);
        Ok(Template {
            functions,
            global_timeout_seconds,
        })
    }

    /// The shipped template (compiled in).
    pub fn shipped() -> Result<Template, BoxError> {
        Template::parse(crate::table::TEMPLATE)
    }

    pub fn function(&self, binary: &str) -> Option<&Function> {
        self.functions.iter().find(|f| f.binary == binary)
    }
}

fn function(
    id: &str,
    resource: &Value,
    resources: &serde_yaml::Mapping,
) -> Result<Function, BoxError> {
    let properties = resource
        .get("Properties")
        .ok_or(format!("{id}: no Properties"))?;
    let binary = resource
        .get("Metadata")
        .and_then(|m| m.get("BuildProperties"))
        .and_then(|b| b.get("Binary"))
        .and_then(Value::as_str)
        .ok_or(format!("{id}: no Metadata.BuildProperties.Binary"))?
        .to_owned();
    let mut http_routes = Vec::new();
    let mut stream_events = Vec::new();
    let mut schedules = Vec::new();
    let mut queue_events = Vec::new();
    if let Some(events) = properties.get("Events").and_then(Value::as_mapping) {
        for (name, event) in events {
            let props = event.get("Properties").cloned().unwrap_or(Value::Null);
            match event.get("Type").and_then(Value::as_str) {
                Some("HttpApi") => http_routes.push(HttpRoute {
                    path: props
                        .get("Path")
                        .and_then(Value::as_str)
                        .ok_or(format!("{id}: event {name:?} has no Path"))?
                        .to_owned(),
                    method: props
                        .get("Method")
                        .and_then(Value::as_str)
                        .unwrap_or("ANY")
                        .to_owned(),
                }),
                Some("DynamoDB") => stream_events.push(props),
                // Emulated by `crate::queue` (the webhook queue).
                Some("SQS") => queue_events.push(props),
                Some("Schedule") => schedules.push(
                    props
                        .get("Schedule")
                        .and_then(Value::as_str)
                        .ok_or(format!("{id}: event {name:?} has no Schedule"))?
                        .to_owned(),
                ),
                other => return Err(format!("{id}: event type {other:?} is not emulated").into()),
            }
        }
    }
    let environment = properties
        .get("Environment")
        .and_then(|e| e.get("Variables"))
        .and_then(Value::as_mapping)
        .map(|vars| {
            vars.iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), v.clone())))
                .collect()
        })
        .unwrap_or_default();
    let mut statements = Vec::new();
    for policy in properties
        .get("Policies")
        .and_then(Value::as_sequence)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        // Only inline statements: a SAM policy template or managed policy name could grant
        // anything, and the local stack could not enforce it faithfully.
        let list = policy
            .get("Statement")
            .and_then(Value::as_sequence)
            .ok_or(format!("{id}: a policy that is not {{Statement: [...]}}"))?;
        for statement in list {
            statements.push(parse_statement(id, statement)?);
        }
    }
    Ok(Function {
        logical_id: id.to_owned(),
        binary,
        handler: properties
            .get("Handler")
            .and_then(Value::as_str)
            .map(str::to_owned),
        http_routes,
        websocket_routes: websocket_routes(id, resources),
        stream_events,
        queue_events,
        schedules,
        timeout_seconds: properties.get("Timeout").and_then(Value::as_u64),
        environment,
        statements,
    })
}

fn one_or_many(value: Option<&Value>) -> Vec<Value> {
    match value {
        Some(Value::Sequence(items)) => items.clone(),
        Some(other) => vec![other.clone()],
        None => vec![],
    }
}

fn parse_statement(id: &str, statement: &Value) -> Result<Statement, BoxError> {
    let allow = match statement.get("Effect").and_then(Value::as_str) {
        Some("Allow") => true,
        Some("Deny") => false,
        other => return Err(format!("{id}: statement Effect {other:?}").into()),
    };
    if statement.get("NotAction").is_some() || statement.get("NotResource").is_some() {
        return Err(format!("{id}: NotAction/NotResource are not emulated").into());
    }
    let conditions = match statement.get("Condition") {
        None => Vec::new(),
        Some(condition) => parse_conditions(id, condition)?,
    };
    let actions = one_or_many(statement.get("Action"))
        .iter()
        .map(|a| a.as_str().map(str::to_owned))
        .collect::<Option<Vec<_>>>()
        .ok_or(format!("{id}: an Action is not a string"))?;
    let resources = one_or_many(statement.get("Resource"))
        .iter()
        .map(intrinsic_text)
        .collect::<Option<Vec<_>>>()
        .ok_or(format!(
            "{id}: a Resource is not a string, !Ref, !GetAtt or !Sub"
        ))?;
    Ok(Statement {
        allow,
        actions,
        resources,
        conditions,
    })
}

fn parse_conditions(id: &str, condition: &Value) -> Result<Vec<Condition>, BoxError> {
    let not_emulated = || -> BoxError {
        format!(
            "{id}: only {CONDITION_OPERATORS:?} on {CONDITION_KEYS:?} with string values are emulated"
        )
        .into()
    };
    let mut conditions = Vec::new();
    for (operator, keys) in condition.as_mapping().ok_or_else(not_emulated)? {
        let operator = operator.as_str().ok_or_else(not_emulated)?;
        if !CONDITION_OPERATORS.contains(&operator) {
            return Err(not_emulated());
        }
        for (key, values) in keys.as_mapping().ok_or_else(not_emulated)? {
            let key = key.as_str().ok_or_else(not_emulated)?;
            if !CONDITION_KEYS.contains(&key) {
                return Err(not_emulated());
            }
            let values = one_or_many(Some(values))
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(not_emulated)?;
            conditions.push(Condition {
                operator: operator.to_owned(),
                key: key.to_owned(),
                values,
            });
        }
    }
    Ok(conditions)
}

/// A value as text with `${...}` variables: `!Ref X` → `${X}`, `!GetAtt X.Y` → `${X.Y}`,
/// `!Sub "..."` → the string as written.
pub fn intrinsic_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let inner = &tagged.value;
            match tag.trim_start_matches('!') {
                "Ref" => Some(format!("${{{}}}", inner.as_str()?)),
                "GetAtt" => match inner {
                    Value::String(s) => Some(format!("${{{s}}}")),
                    Value::Sequence(parts) => Some(format!(
                        "${{{}}}",
                        parts
                            .iter()
                            .map(Value::as_str)
                            .collect::<Option<Vec<_>>>()?
                            .join(".")
                    )),
                    _ => None,
                },
                "Sub" => match inner {
                    Value::String(s) => Some(s.clone()),
                    Value::Sequence(parts) => parts.first()?.as_str().map(str::to_owned),
                    _ => None,
                },
                _ => None,
            }
        }
        _ => None,
    }
}

/// The WebSocket route keys whose integration invokes function `id`: Route → `Target:
/// integrations/${Integration}` → Integration `IntegrationUri` naming `${id.Arn}`.
fn websocket_routes(id: &str, resources: &serde_yaml::Mapping) -> Vec<String> {
    let of_type = |kind: &'static str| {
        resources
            .iter()
            .filter(move |(_, r)| r.get("Type").and_then(Value::as_str) == Some(kind))
            .filter_map(|(name, r)| Some((name.as_str()?, r.get("Properties")?)))
    };
    let arn = format!("${{{id}.Arn}}");
    let integrations: Vec<&str> = of_type("AWS::ApiGatewayV2::Integration")
        .filter(|(_, p)| {
            p.get("IntegrationUri")
                .and_then(intrinsic_text)
                .is_some_and(|uri| uri.contains(&arn))
        })
        .map(|(name, _)| name)
        .collect();
    let mut routes: Vec<String> = of_type("AWS::ApiGatewayV2::Route")
        .filter(|(_, p)| {
            p.get("Target")
                .and_then(intrinsic_text)
                .is_some_and(|target| {
                    integrations
                        .iter()
                        .any(|i| target == format!("integrations/${{{i}}}"))
                })
        })
        .filter_map(|(_, p)| p.get("RouteKey")?.as_str().map(str::to_owned))
        .collect();
    routes.sort();
    routes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_functions_routes_and_policies_of_the_shipped_template() {
        let template = Template::shipped().unwrap();
        let get_user = template.function("get-user").unwrap();
        assert_eq!(get_user.logical_id, "GetUserFunction");
        assert_eq!(
            get_user.http_routes,
            [HttpRoute {
                path: "/v4/user/get".into(),
                method: "ANY".into()
            }]
        );
        assert!(
            get_user
                .statements
                .iter()
                .any(|s| s.allow && s.resources.contains(&"${Table.Arn}".to_owned()))
        );
        let connect = template.function("connect").unwrap();
        assert_eq!(connect.websocket_routes, ["$connect"]);
        let purge = template.function("purge-soft-deleted-users").unwrap();
        assert_eq!(purge.stream_events.len(), 1);
    }

    #[test]
    fn intrinsics_become_variables() {
        let doc: Value =
            serde_yaml::from_str("[!GetAtt Table.Arn, !Sub \"${Table.Arn}/index/*\", !Ref X]")
                .unwrap();
        let texts: Vec<_> = doc
            .as_sequence()
            .unwrap()
            .iter()
            .map(|v| intrinsic_text(v).unwrap())
            .collect();
        assert_eq!(texts, ["${Table.Arn}", "${Table.Arn}/index/*", "${X}"]);
    }

    #[test]
    fn refuses_what_it_cannot_enforce() {
        let text = "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Metadata: {BuildProperties: {Binary: f}}\n    Properties:\n      Policies: [DynamoDBCrudPolicy: {TableName: t}]\n";
        assert!(Template::parse(text).is_err());
        let with_condition = |condition: &str| {
            format!(
                "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Metadata: {{BuildProperties: {{Binary: f}}}}\n    Properties:\n      Policies: [{{Statement: [{{Effect: Allow, Action: dynamodb:UpdateItem, Resource: '*', Condition: {condition}}}]}}]\n"
            )
        };
        let leading = with_condition("{ForAllValues:StringLike: {dynamodb:LeadingKeys: [RATE#*]}}");
        let template = Template::parse(&leading).unwrap();
        assert_eq!(
            template.functions[0].statements[0].conditions,
            [Condition {
                operator: "ForAllValues:StringLike".into(),
                key: "dynamodb:LeadingKeys".into(),
                values: vec!["RATE#*".into()],
            }]
        );
        for unknown in [
            "{StringLike: {dynamodb:LeadingKeys: [RATE#*]}}",
            "{ForAllValues:StringLike: {dynamodb:Attributes: [count]}}",
            "{Bool: {aws:SecureTransport: 'true'}}",
        ] {
            assert!(
                Template::parse(&with_condition(unknown)).is_err(),
                "{unknown}"
            );
        }
    }
}
