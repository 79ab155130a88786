//! Creates the table from the `Table` resource of `template.yaml`, so DynamoDB Local and AWS run
//! the same keys, indexes, TTL and stream.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
    LocalSecondaryIndex, Projection, ProjectionType, ScalarAttributeType, StreamSpecification,
    StreamViewType, TimeToLiveSpecification,
};
use serde::Deserialize;

/// The parts of `AWS::DynamoDB::Table` properties we create locally.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TableDefinition {
    pub attribute_definitions: Vec<AttributeDef>,
    pub key_schema: Vec<KeyDef>,
    #[serde(default)]
    pub global_secondary_indexes: Vec<IndexDef>,
    #[serde(default)]
    pub local_secondary_indexes: Vec<IndexDef>,
    pub time_to_live_specification: Option<TtlDef>,
    pub stream_specification: Option<StreamDef>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeDef {
    pub attribute_name: String,
    pub attribute_type: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyDef {
    pub attribute_name: String,
    pub key_type: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IndexDef {
    pub index_name: String,
    pub key_schema: Vec<KeyDef>,
    pub projection: ProjectionDef,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProjectionDef {
    pub projection_type: String,
    #[serde(default)]
    pub non_key_attributes: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TtlDef {
    pub attribute_name: String,
    pub enabled: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamDef {
    pub stream_view_type: String,
}

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The template the project ships, compiled in so the binary works from any directory.
pub const TEMPLATE: &str = include_str!("../../template.yaml");

/// Reads `Resources.Table.Properties` of a SAM template.
pub fn definition_from_template(template: &str) -> Result<TableDefinition, BoxError> {
    let doc: serde_yaml::Value = serde_yaml::from_str(template)?;
    let properties = doc
        .get("Resources")
        .and_then(|r| r.get("Table"))
        .and_then(|t| t.get("Properties"))
        .ok_or("template.yaml has no Resources.Table.Properties")?;
    Ok(serde_yaml::from_value(properties.clone())?)
}

fn keys(defs: &[KeyDef]) -> Result<Vec<KeySchemaElement>, BoxError> {
    defs.iter()
        .map(|k| {
            Ok(KeySchemaElement::builder()
                .attribute_name(&k.attribute_name)
                .key_type(KeyType::from(k.key_type.as_str()))
                .build()?)
        })
        .collect()
}

fn projection(def: &ProjectionDef) -> Projection {
    let non_key = (!def.non_key_attributes.is_empty()).then(|| def.non_key_attributes.clone());
    Projection::builder()
        .projection_type(ProjectionType::from(def.projection_type.as_str()))
        .set_non_key_attributes(non_key)
        .build()
}

/// Creates the table if it does not exist yet, waits until it is active, and turns TTL on.
/// Safe to call from many processes at once.
pub async fn ensure(client: &Client, name: &str, def: &TableDefinition) -> Result<(), BoxError> {
    let mut create = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest);
    for attr in &def.attribute_definitions {
        create = create.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(&attr.attribute_name)
                .attribute_type(ScalarAttributeType::from(attr.attribute_type.as_str()))
                .build()?,
        );
    }
    create = create.set_key_schema(Some(keys(&def.key_schema)?));
    for index in &def.global_secondary_indexes {
        create = create.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(&index.index_name)
                .set_key_schema(Some(keys(&index.key_schema)?))
                .projection(projection(&index.projection))
                .build()?,
        );
    }
    for index in &def.local_secondary_indexes {
        create = create.local_secondary_indexes(
            LocalSecondaryIndex::builder()
                .index_name(&index.index_name)
                .set_key_schema(Some(keys(&index.key_schema)?))
                .projection(projection(&index.projection))
                .build()?,
        );
    }
    if let Some(stream) = &def.stream_specification {
        create = create.stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(stream.stream_view_type.as_str()))
                .build()?,
        );
    }
    let created = match create.send().await {
        Ok(_) => true,
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_in_use_exception()) =>
        {
            false
        }
        Err(err) => {
            return Err(aws_sdk_dynamodb::error::DisplayErrorContext(err)
                .to_string()
                .into());
        }
    };
    for _ in 0..100 {
        let described = client.describe_table().table_name(name).send().await?;
        let active = described
            .table
            .and_then(|t| t.table_status)
            .is_some_and(|s| s == aws_sdk_dynamodb::types::TableStatus::Active);
        if active {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    if created && let Some(ttl) = &def.time_to_live_specification {
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(&ttl.attribute_name)
                    .enabled(ttl.enabled)
                    .build()?,
            )
            .send()
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_shipped_template() {
        let def = definition_from_template(TEMPLATE).unwrap();
        let names: Vec<_> = def
            .key_schema
            .iter()
            .map(|k| (k.attribute_name.as_str(), k.key_type.as_str()))
            .collect();
        assert_eq!(names, [("PK", "HASH"), ("SK", "RANGE")]);
        assert_eq!(
            def.time_to_live_specification.unwrap().attribute_name,
            shared::table::TTL
        );
        assert!(
            def.global_secondary_indexes
                .iter()
                .any(|i| i.index_name == "GSI1")
        );
        assert!(def.stream_specification.is_some());
    }
}
