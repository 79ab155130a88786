//! The two OpenAPI documents answers are checked against, and the check.
//! - Nexconn's official file (`tests/reference/nexconn-openapi.yaml`, MIT, the file the official
//!   SDKs are generated from): a success of an official operation must fit its schema; fields it
//!   does not declare are allowed, as the SDKs' models ignore them.
//! - Ours (`local_api::openapi`, served at `/openapi.json`, generated from the code's types):
//!   every answer of a route of ours, success or error, must fit the schema of its status, and
//!   strictly: a field the schema does not declare is a violation (our answers are ours), and an
//!   integer must fit its `format` and bounds.
//!
//! Understood: `$ref`, `allOf`/`oneOf`/`anyOf`, `type` (a name or a list, `"null"` included,
//! and 3.0's `nullable`), `required`, `properties`, `additionalProperties`, `items`,
//! `prefixItems` and `enum`.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use serde_json::Value;

pub struct Spec {
    document: Value,
    /// Refuse undeclared fields and out-of-range integers (our own document).
    strict: bool,
}

impl Spec {
    /// Nexconn's official file.
    pub fn load() -> Spec {
        let text = include_str!("../reference/nexconn-openapi.yaml");
        Spec {
            document: serde_yaml::from_str(text).expect("the OpenAPI file is YAML"),
            strict: false,
        }
    }

    /// A document of our own, checked strictly.
    pub fn strict(document: Value) -> Spec {
        Spec {
            document,
            strict: true,
        }
    }

    /// Our document, as the local API serves it at `/openapi.json`.
    pub fn ours() -> &'static Spec {
        static OURS: LazyLock<Spec> = LazyLock::new(|| match local_api::openapi::json() {
            Ok(document) => Spec::strict(document.clone()),
            Err(why) => panic!("our OpenAPI document does not assemble: {why}"),
        });
        &OURS
    }

    /// The schema of `path`'s `POST` 200 JSON response, if the document has the path.
    pub fn success_schema(&self, path: &str) -> Option<&Value> {
        let schema = &self.document["paths"][path]["post"]["responses"]["200"]["content"]["application/json"]
            ["schema"];
        (!schema.is_null()).then_some(schema)
    }

    /// The schema of `path`'s `POST` JSON answer with HTTP `status`: the status's own, else its
    /// range's (`4XX`), else the default; `None` if the document has none.
    pub fn answer_schema(&self, path: &str, status: u16) -> Option<&Value> {
        let responses = &self.document["paths"][path]["post"]["responses"];
        [
            status.to_string(),
            format!("{}XX", status / 100),
            "default".to_owned(),
        ]
        .iter()
        .map(|key| &responses[key]["content"]["application/json"]["schema"])
        .find(|schema| !schema.is_null())
    }

    /// Where `value` breaks `schema` (empty: it conforms).
    pub fn violations(&self, schema: &Value, value: &Value) -> Vec<String> {
        let mut found = Vec::new();
        self.check(schema, value, "$", true, &mut found);
        found
    }

    fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        match schema["$ref"].as_str() {
            Some(reference) => {
                let mut target = &self.document;
                for part in reference.trim_start_matches("#/").split('/') {
                    target = &target[part];
                }
                self.resolve(target)
            }
            None => schema,
        }
    }

    /// The field names `schema` declares for an object, across `$ref` and `allOf`; `None` when
    /// it takes fields it does not name (a map, or a schema that names none).
    fn declared<'a>(&'a self, schema: &'a Value) -> Option<BTreeSet<&'a str>> {
        let schema = self.resolve(schema);
        if schema
            .get("additionalProperties")
            .is_some_and(|extra| extra != &Value::Bool(false))
        {
            return None;
        }
        let mut names: Option<BTreeSet<&str>> = schema["properties"]
            .as_object()
            .map(|properties| properties.keys().map(String::as_str).collect());
        for part in schema["allOf"].as_array().into_iter().flatten() {
            names.get_or_insert_default().extend(self.declared(part)?);
        }
        names
    }

    /// `whole`: `schema` is the value's whole schema, not one part of an `allOf` (a part alone
    /// does not say which fields the value may have).
    fn check(&self, schema: &Value, value: &Value, at: &str, whole: bool, found: &mut Vec<String>) {
        let schema = self.resolve(schema);
        if let Some(all) = schema["allOf"].as_array() {
            for part in all {
                self.check(part, value, at, false, found);
            }
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(options) = schema[key].as_array()
                && !options.iter().any(|o| self.violations(o, value).is_empty())
            {
                found.push(format!("{at}: matches none of its {key} options"));
            }
        }
        let types: Vec<&str> = match &schema["type"] {
            Value::String(name) => vec![name.as_str()],
            Value::Array(names) => names.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if value.is_null() {
            let nullable = schema["nullable"] == Value::Bool(true) || types.contains(&"null");
            if !nullable && !types.is_empty() {
                found.push(format!("{at}: null"));
            }
            return;
        }
        if let Some(allowed) = schema["enum"].as_array()
            && !allowed.contains(value)
        {
            found.push(format!("{at}: {value} is not one of {allowed:?}"));
        }
        if !types.is_empty() && !types.iter().any(|name| fits(name, value)) {
            found.push(format!("{at}: {value} is not of type {}", schema["type"]));
            return;
        }
        if self.strict {
            self.check_bounds(schema, value, at, found);
        }
        for name in schema["required"].as_array().into_iter().flatten() {
            if let Some(name) = name.as_str()
                && value.get(name).is_none()
            {
                found.push(format!("{at}: missing required {name}"));
            }
        }
        if let Some(object) = value.as_object() {
            let properties = schema["properties"].as_object();
            for (name, inner) in object {
                let at = format!("{at}.{name}");
                match properties.and_then(|properties| properties.get(name)) {
                    Some(property) => self.check(property, inner, &at, true, found),
                    None => match schema.get("additionalProperties") {
                        Some(extra) if extra.is_object() => {
                            self.check(extra, inner, &at, true, found)
                        }
                        _ => {}
                    },
                }
            }
            if self.strict
                && whole
                && let Some(declared) = self.declared(schema)
            {
                for name in object
                    .keys()
                    .filter(|name| !declared.contains(name.as_str()))
                {
                    found.push(format!("{at}: {name} is not a field of the schema"));
                }
            }
        }
        if let Some(values) = value.as_array() {
            // A tuple: `prefixItems` describe the first items, `items` the rest (`false`: none).
            let prefix = schema["prefixItems"]
                .as_array()
                .map_or(&[][..], Vec::as_slice);
            for (i, inner) in values.iter().enumerate() {
                let at = format!("{at}[{i}]");
                match (prefix.get(i), schema.get("items")) {
                    (Some(item), _) => self.check(item, inner, &at, true, found),
                    (None, Some(Value::Bool(false))) => {
                        found.push(format!("{at}: beyond the items the schema allows"))
                    }
                    (None, Some(items)) => self.check(items, inner, &at, true, found),
                    (None, None) => {}
                }
            }
        }
    }

    /// An integer's `format` (`int32`, `int64`), `minimum`/`maximum` of any number, and
    /// `minItems`/`maxItems` of an array.
    fn check_bounds(&self, schema: &Value, value: &Value, at: &str, found: &mut Vec<String>) {
        if let Some(items) = value.as_array() {
            let count = items.len() as u64;
            if schema["minItems"].as_u64().is_some_and(|min| count < min)
                || schema["maxItems"].as_u64().is_some_and(|max| count > max)
            {
                found.push(format!(
                    "{at}: {count} items, not within [{}, {}]",
                    schema["minItems"], schema["maxItems"]
                ));
            }
        }
        let Some(number) = value.as_f64() else {
            return;
        };
        let fits_format = match schema["format"].as_str() {
            Some("int32") => value.as_i64().is_some_and(|n| i32::try_from(n).is_ok()),
            Some("int64") => value.as_i64().is_some(),
            _ => true,
        };
        if !fits_format {
            found.push(format!("{at}: {value} is outside {}", schema["format"]));
        }
        if let Some(minimum) = schema["minimum"].as_f64()
            && number < minimum
        {
            found.push(format!("{at}: {value} is below the minimum {minimum}"));
        }
        if let Some(maximum) = schema["maximum"].as_f64()
            && number > maximum
        {
            found.push(format!("{at}: {value} is above the maximum {maximum}"));
        }
    }
}

fn fits(type_name: &str, value: &Value) -> bool {
    match type_name {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        _ => true,
    }
}

/// Panics with the violations when `body`, answered with HTTP `status` on `path`, breaks our
/// document. Paths that are not ours, or that the router does not serve (answered 404 before
/// any function runs), are not checked.
pub fn assert_answer_fits_ours(path: &str, status: u16, body: &Value) {
    if !local_api::openapi::is_ours(path) {
        return;
    }
    let spec = Spec::ours();
    let Some(schema) = spec.answer_schema(path, status) else {
        return;
    };
    let violations = spec.violations(schema, body);
    assert!(
        violations.is_empty(),
        "{path} answered {status} outside our OpenAPI document (/openapi.json): {violations:?}\n{body}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_response_is_checked_against_its_schema() {
        let spec = Spec::load();
        let schema = spec
            .success_schema("/v4/user/get")
            .expect("get-user is in the contract");
        let good = json!({"code": 0, "result": {"name": "n", "avatarUrl": "", "createdAt": "t"}});
        assert_eq!(spec.violations(schema, &good), Vec::<String>::new());
        assert!(
            !spec.violations(schema, &json!({"result": {}})).is_empty(),
            "code is required"
        );
        assert!(
            !spec.violations(schema, &json!({"code": "0"})).is_empty(),
            "code is an integer"
        );
        assert!(spec.success_schema("/v4/ext/operation/get").is_none());
    }

    #[test]
    fn our_answers_are_checked_strictly_by_status() {
        let spec = Spec::ours();
        let path = "/console/v1/apps/rotate-secret";
        let check = |status, body: Value| {
            let schema = spec.answer_schema(path, status).expect("a schema");
            spec.violations(schema, &body)
        };
        let rotated = json!({"code": 0, "result": {"appKey": "k", "appSecret": "s"}});
        assert_eq!(check(200, rotated.clone()), Vec::<String>::new());
        let mut extra = rotated.clone();
        extra["result"]["previousSecret"] = json!("s0");
        assert_eq!(
            check(200, extra),
            ["$.result: previousSecret is not a field of the schema"]
        );
        assert!(!check(200, json!({"code": 1, "result": rotated["result"]})).is_empty());
        assert!(!check(200, json!({"code": 0, "result": {"appKey": "k"}})).is_empty());
        assert!(
            !check(
                200,
                json!({"code": 0, "result": {"appKey": "k", "appSecret": null}})
            )
            .is_empty()
        );
        let refused = json!({"code": 1002, "errorMessage": "appKey: is required"});
        assert_eq!(check(400, refused.clone()), Vec::<String>::new());
        assert_eq!(check(504, refused.clone()), Vec::<String>::new());
        assert!(!check(400, json!({"code": 1002})).is_empty());
        assert!(
            !check(
                400,
                json!({"code": 1002, "errorMessage": "m", "detail": "x"})
            )
            .is_empty()
        );
        // The console's authorizer answers for API Gateway, before any function.
        assert_eq!(
            check(401, json!({"message": "Unauthorized"})),
            Vec::<String>::new()
        );
        assert!(!check(401, refused).is_empty());
    }

    #[test]
    fn fields_of_every_part_of_an_all_of_are_declared_and_numbers_and_arrays_fit_their_bounds() {
        let spec = Spec::strict(json!({"components": {"schemas": {
            "Paging": {"type": "object", "properties": {"pageToken": {"type": ["string", "null"]}}},
            "Counts": {"type": "object", "additionalProperties": {"type": "integer", "format": "int32", "minimum": 0}},
        }}}));
        let page = json!({"allOf": [
            {"$ref": "#/components/schemas/Paging"},
            {"type": "object", "required": ["size"], "properties": {
                "size": {"type": "integer", "format": "int32", "minimum": 0},
                "counts": {"$ref": "#/components/schemas/Counts"},
            }},
        ]});
        let good = json!({"pageToken": null, "size": 3, "counts": {"a": 1}});
        assert_eq!(spec.violations(&page, &good), Vec::<String>::new());
        assert_eq!(
            spec.violations(&page, &json!({"size": 3, "other": 1})),
            ["$: other is not a field of the schema"]
        );
        assert_eq!(
            spec.violations(&page, &json!({"size": 2_147_483_648_i64})),
            ["$.size: 2147483648 is outside \"int32\""]
        );
        assert_eq!(
            spec.violations(&page, &json!({"size": 1, "counts": {"a": -1}})),
            ["$.counts.a: -1 is below the minimum 0"]
        );
        let pair = json!({"type": "array", "minItems": 2, "maxItems": 2, "items": false,
            "prefixItems": [{"type": "integer", "format": "int64"}, {"type": "number"}]});
        assert_eq!(
            spec.violations(&pair, &json!([1, 0.5])),
            Vec::<String>::new()
        );
        assert_eq!(
            spec.violations(&pair, &json!([0.5, 1, 2])),
            [
                "$: 3 items, not within [2, 2]",
                "$[0]: 0.5 is not of type \"integer\"",
                "$[2]: beyond the items the schema allows"
            ]
        );
        // Nexconn's file is read leniently: its models ignore fields they do not name.
        let lenient = Spec {
            document: spec.document.clone(),
            strict: false,
        };
        assert!(
            lenient
                .violations(&page, &json!({"size": 3, "other": 1}))
                .is_empty()
        );
    }
}
