//! The official OpenAPI file (`tests/reference/nexconn-openapi.yaml`, MIT, the file the official
//! SDKs are generated from) and a check of a response body against an operation's success
//! schema: `$ref`, `allOf`/`oneOf`/`anyOf`, `type` (with `nullable`), `required`, `properties`,
//! `items` and `enum`. Extra fields are allowed, as the SDKs' models ignore them.

use serde_json::Value;

pub struct Spec(Value);

impl Spec {
    pub fn load() -> Spec {
        let text = include_str!("../reference/nexconn-openapi.yaml");
        Spec(serde_yaml::from_str(text).expect("the OpenAPI file is YAML"))
    }

    /// The schema of `path`'s `POST` 200 JSON response, if the contract has the path.
    pub fn success_schema(&self, path: &str) -> Option<&Value> {
        let schema = &self.0["paths"][path]["post"]["responses"]["200"]["content"]["application/json"]
            ["schema"];
        (!schema.is_null()).then_some(schema)
    }

    /// Where `value` breaks `schema` (empty: it conforms).
    pub fn violations(&self, schema: &Value, value: &Value) -> Vec<String> {
        let mut found = Vec::new();
        self.check(schema, value, "$", &mut found);
        found
    }

    fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        match schema["$ref"].as_str() {
            Some(reference) => {
                let mut target = &self.0;
                for part in reference.trim_start_matches("#/").split('/') {
                    target = &target[part];
                }
                self.resolve(target)
            }
            None => schema,
        }
    }

    fn check(&self, schema: &Value, value: &Value, at: &str, found: &mut Vec<String>) {
        let schema = self.resolve(schema);
        if let Some(all) = schema["allOf"].as_array() {
            for part in all {
                self.check(part, value, at, found);
            }
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(options) = schema[key].as_array()
                && !options.iter().any(|o| self.violations(o, value).is_empty())
            {
                found.push(format!("{at}: matches none of its {key} options"));
            }
        }
        if value.is_null() {
            if schema["nullable"] != Value::Bool(true) && schema.get("type").is_some() {
                found.push(format!("{at}: null"));
            }
            return;
        }
        if let Some(allowed) = schema["enum"].as_array()
            && !allowed.contains(value)
        {
            found.push(format!("{at}: {value} is not one of {allowed:?}"));
        }
        let fits = match schema["type"].as_str() {
            Some("object") => value.is_object(),
            Some("array") => value.is_array(),
            Some("string") => value.is_string(),
            Some("integer") => value.is_i64() || value.is_u64(),
            Some("number") => value.is_number(),
            Some("boolean") => value.is_boolean(),
            _ => true,
        };
        if !fits {
            found.push(format!("{at}: {value} is not of type {}", schema["type"]));
            return;
        }
        for name in schema["required"].as_array().into_iter().flatten() {
            if let Some(name) = name.as_str()
                && value.get(name).is_none()
            {
                found.push(format!("{at}: missing required {name}"));
            }
        }
        if let (Some(properties), Some(object)) =
            (schema["properties"].as_object(), value.as_object())
        {
            for (name, property) in properties {
                if let Some(inner) = object.get(name) {
                    self.check(property, inner, &format!("{at}.{name}"), found);
                }
            }
        }
        if let (Some(items), Some(values)) = (schema.get("items"), value.as_array()) {
            for (i, inner) in values.iter().enumerate() {
                self.check(items, inner, &format!("{at}[{i}]"), found);
            }
        }
    }
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
}
