//! Partition and sort keys of the single table, in one place.

use crate::domain::{AccountId, OrderKey, OrderStatus, PackageId};
use crate::ports::StoreError;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

pub const BY_STATUS_INDEX: &str = "by_status";
pub const UNREPORTED_PACKAGES_INDEX: &str = "unreported_packages";
/// Sparse: Shipped or Cancelled orders that still hold buyer data, by when they settled.
pub const BUYER_DATA_HELD_INDEX: &str = "buyer_data_held";
pub const BUYER_DATA_HELD_PK: &str = "BUYER_DATA#HELD";

/// Every account lives in one small partition so listing them is a single query.
pub const ACCOUNTS_PK: &str = "ACCOUNTS";
pub const ORDER_SK: &str = "ORDER";
pub const PACKAGE_SK_PREFIX: &str = "PACKAGE#";
pub const POSITION_SK: &str = "POSITION";
pub const REJECTION_SK_PREFIX: &str = "REJECTED#";
pub const UNREPORTED_PACKAGES_PK: &str = "PACKAGES#UNREPORTED";
pub const FAILED_PACKAGES_PK: &str = "PACKAGES#FAILED";

pub fn account(id: &AccountId) -> (String, String) {
    (ACCOUNTS_PK.to_string(), format!("ACCOUNT#{id}"))
}

pub fn account_pk(id: &AccountId) -> String {
    format!("ACCOUNT#{id}")
}

pub fn position(id: &AccountId) -> (String, &'static str) {
    (account_pk(id), POSITION_SK)
}

pub fn rejection_sk(order_id: Option<&str>, fallback: &str) -> String {
    format!("{REJECTION_SK_PREFIX}{}", order_id.unwrap_or(fallback))
}

/// Deliveries kept for replay, one partition per account (an event feed's rate is small),
/// sorted by order, then time.
pub fn deliveries_pk(id: &AccountId) -> String {
    format!("DELIVERIES#{id}")
}

pub fn delivery_sk(order_id: Option<&str>, created_at: &str, delivery_id: &str) -> String {
    format!("{}#{created_at}#{delivery_id}", order_id.unwrap_or("-"))
}

pub fn order_pk(key: &OrderKey) -> String {
    format!("ORDER#{}#{}#{}", key.marketplace, key.account_id, key.marketplace_order_id)
}

pub fn package_sk(id: PackageId) -> String {
    // Zero-padded so packages sort by number.
    format!("{PACKAGE_SK_PREFIX}{:010}", id.number())
}

pub fn status_pk(status: OrderStatus) -> String {
    format!("STATUS#{status}")
}

/// The by_status sort key: oldest orders first, ties broken by the order's key.
pub fn status_sk(created_at: &str, order_pk: &str) -> String {
    format!("{created_at}#{order_pk}")
}

/// LastEvaluatedKey → an opaque page token. All our key attributes are strings.
pub fn encode_page_token(key: &HashMap<String, AttributeValue>) -> String {
    let plain: HashMap<&str, &str> =
        key.iter().filter_map(|(k, v)| v.as_s().ok().map(|s| (k.as_str(), s.as_str()))).collect();
    serde_json::to_string(&plain).expect("a map of strings serializes")
}

pub fn decode_page_token(token: &str) -> Result<HashMap<String, AttributeValue>, StoreError> {
    let plain: HashMap<String, String> = serde_json::from_str(token).map_err(|e| StoreError::Failed {
        operation: "Query",
        message: format!("invalid page token: {e}"),
    })?;
    Ok(plain.into_iter().map(|(k, v)| (k, AttributeValue::S(v))).collect())
}
