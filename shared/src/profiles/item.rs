//! The profile item: its attributes and their JSON values.

use super::*;

/// A hosted profile as the API answers it; an empty part is left out.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub user_id: String,
    pub version: i64,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub user_profile: Map<String, Value>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub user_ext_profile: Map<String, Value>,
}

impl Profile {
    /// The two parts with their attribute names.
    pub(super) fn parts(&self) -> [(&'static str, &Map<String, Value>); 2] {
        [
            ("userProfile", &self.user_profile),
            ("userExtProfile", &self.user_ext_profile),
        ]
    }
}

/// A stored profile item.
#[derive(Debug, Clone)]
pub(super) struct Stored {
    pub(super) profile: Profile,
    pub(super) registered_at: i64,
    pub(super) sort_key: String,
}

pub(super) fn value_attribute(value: &Value) -> Option<AttributeValue> {
    match value {
        Value::String(text) => Some(s(text.clone())),
        Value::Number(number) => Some(n(number)),
        _ => None,
    }
}

pub(super) fn attribute_value(attribute: &AttributeValue) -> Option<Value> {
    match attribute {
        AttributeValue::S(text) => Some(Value::String(text.clone())),
        AttributeValue::N(text) => text.parse::<i64>().ok().map(Value::from).or_else(|| {
            text.parse::<f64>()
                .ok()
                .and_then(Number::from_f64)
                .map(Value::Number)
        }),
        _ => None,
    }
}

pub(super) fn map_attribute(map: &Map<String, Value>) -> AttributeValue {
    AttributeValue::M(
        map.iter()
            .filter_map(|(k, v)| Some((k.clone(), value_attribute(v)?)))
            .collect(),
    )
}

pub(super) fn attribute_map(attribute: Option<&AttributeValue>) -> Map<String, Value> {
    match attribute {
        Some(AttributeValue::M(map)) => map
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), attribute_value(v)?)))
            .collect(),
        _ => Map::new(),
    }
}

pub(super) fn stored_from_item(item: &Item) -> Option<Stored> {
    if db::text(item, table::SK)? != table::SK_PROFILE {
        return None;
    }
    Some(Stored {
        profile: Profile {
            user_id: db::text(item, "userId")?.to_owned(),
            version: number(item, "version")?,
            user_profile: attribute_map(item.get("userProfile")),
            user_ext_profile: attribute_map(item.get("userExtProfile")),
        },
        registered_at: number(item, "registeredAt")?,
        sort_key: db::text(item, table::GSI1SK)?.to_owned(),
    })
}

pub(super) fn profile_key(app_key: &str, user_id: &str) -> Item {
    users::item_key(app_key, user_id, table::SK_PROFILE)
}
