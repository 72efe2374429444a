//! Creates the table as `template.yaml` defines it, for tests, the local run and the command
//! line's `init-table`. Keep both in step.

use super::keys::{BUYER_DATA_HELD_INDEX, BY_STATUS_INDEX, UNREPORTED_PACKAGES_INDEX};
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};
use aws_sdk_dynamodb::Client;

fn key(name: &str, key_type: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder().attribute_name(name).key_type(key_type).build().expect("name and type set")
}

fn string_attribute(name: &str) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .expect("name and type set")
}

fn index(name: &str, pk: &str, sk: &str) -> GlobalSecondaryIndex {
    GlobalSecondaryIndex::builder()
        .index_name(name)
        .key_schema(key(pk, KeyType::Hash))
        .key_schema(key(sk, KeyType::Range))
        .projection(Projection::builder().projection_type(ProjectionType::All).build())
        .build()
        .expect("index fully described")
}

/// Creates the orders table unless it exists. Returns true when it was created.
pub async fn create_table_if_missing(client: &Client, table: &str) -> Result<bool, String> {
    if client.describe_table().table_name(table).send().await.is_ok() {
        return Ok(false);
    }
    let mut request = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .global_secondary_indexes(index(BY_STATUS_INDEX, "gsi1pk", "gsi1sk"))
        .global_secondary_indexes(index(UNREPORTED_PACKAGES_INDEX, "gsi2pk", "gsi2sk"))
        .global_secondary_indexes(index(BUYER_DATA_HELD_INDEX, "gsi3pk", "gsi3sk"));
    for name in ["pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "gsi3pk", "gsi3sk"] {
        request = request.attribute_definitions(string_attribute(name));
    }
    request.send().await.map_err(|e| format!("creating table {table}: {}", DisplayErrorContext(&e)))?;
    Ok(true)
}
