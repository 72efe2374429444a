//! Item shapes: the domain value under one attribute, plus the key and index attributes the
//! access patterns need (see docs/dynamodb.md).

use super::keys;
use crate::domain::{AccountId, MarketplaceAccount, Package, PackageState, SalesOrder};
use crate::ports::{FeedPosition, RejectedOrder, StoreError};
use aws_sdk_dynamodb::types::AttributeValue;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_dynamo::aws_sdk_dynamodb_1::{from_item, to_item};
use std::collections::HashMap;

type Item = HashMap<String, AttributeValue>;

pub const UNREPORTED: &str = "Unreported";

fn encode<T: Serialize>(what: &str, record: &T) -> Result<Item, StoreError> {
    to_item(record).map_err(|e| StoreError::Corrupt { what: what.to_string(), message: e.to_string() })
}

fn decode<T: DeserializeOwned>(what: &str, item: Item) -> Result<T, StoreError> {
    let pk = item.get("pk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
    from_item(item).map_err(|e| StoreError::Corrupt { what: format!("{what} {pk}"), message: e.to_string() })
}

#[derive(Serialize, Deserialize)]
pub struct OrderRecord {
    pk: String,
    sk: String,
    gsi1pk: String,
    gsi1sk: String,
    status: String,
    account_id: String,
    version: u64,
    order: SalesOrder,
}

impl OrderRecord {
    pub fn item(order: &SalesOrder, version: u64) -> Result<Item, StoreError> {
        let pk = keys::order_pk(&order.key);
        let mut order = order.clone();
        order.version = version;
        let record = OrderRecord {
            gsi1pk: keys::status_pk(order.status()),
            gsi1sk: keys::status_sk(&order.created_at.to_rfc3339(), &pk),
            sk: keys::ORDER_SK.to_string(),
            pk,
            status: order.status().to_string(),
            account_id: order.key.account_id.to_string(),
            version,
            order,
        };
        encode("order", &record)
    }

    pub fn order(item: Item) -> Result<SalesOrder, StoreError> {
        let record: OrderRecord = decode("order", item)?;
        let mut order = record.order;
        order.version = record.version;
        Ok(order)
    }
}

#[derive(Serialize, Deserialize)]
pub struct PackageRecord {
    pk: String,
    sk: String,
    /// Present only while the package waits to be reported (or failed), which keeps the
    /// unreported_packages index sparse.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    gsi2pk: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    gsi2sk: Option<String>,
    report_state: String,
    package: Package,
}

impl PackageRecord {
    pub fn item(package: &Package) -> Result<Item, StoreError> {
        let pk = keys::order_pk(&package.order);
        let sk = keys::package_sk(package.id);
        let (partition, state) = match package.state {
            PackageState::Unreported { .. } => (Some(keys::UNREPORTED_PACKAGES_PK), UNREPORTED),
            PackageState::Failed { .. } => (Some(keys::FAILED_PACKAGES_PK), "Failed"),
            PackageState::Reported { .. } => (None, "Reported"),
        };
        let record = PackageRecord {
            gsi2pk: partition.map(str::to_string),
            gsi2sk: partition.map(|_| format!("{}#{pk}#{sk}", package.recorded_at.to_rfc3339())),
            pk,
            sk,
            report_state: state.to_string(),
            package: package.clone(),
        };
        encode("package", &record)
    }

    pub fn package(item: Item) -> Result<Package, StoreError> {
        decode::<PackageRecord>("package", item).map(|r| r.package)
    }
}

#[derive(Serialize, Deserialize)]
pub struct AccountRecord {
    pk: String,
    sk: String,
    account: MarketplaceAccount,
}

impl AccountRecord {
    pub fn item(account: &MarketplaceAccount) -> Result<Item, StoreError> {
        let (pk, sk) = keys::account(&account.id);
        encode("account", &AccountRecord { pk, sk, account: account.clone() })
    }

    pub fn account(item: Item) -> Result<MarketplaceAccount, StoreError> {
        decode::<AccountRecord>("account", item).map(|r| r.account)
    }
}

#[derive(Serialize, Deserialize)]
pub struct PositionRecord {
    pk: String,
    sk: String,
    position: String,
    updated_at: String,
}

impl PositionRecord {
    pub fn item(id: &AccountId, position: &FeedPosition) -> Result<Item, StoreError> {
        let (pk, sk) = keys::position(id);
        encode(
            "import position",
            &PositionRecord {
                pk,
                sk: sk.to_string(),
                position: position.0.clone(),
                updated_at: chrono::Utc::now().to_rfc3339(),
            },
        )
    }

    pub fn position(item: Item) -> Result<FeedPosition, StoreError> {
        decode::<PositionRecord>("import position", item).map(|r| FeedPosition(r.position))
    }
}

#[derive(Serialize, Deserialize)]
pub struct RejectionRecord {
    pk: String,
    sk: String,
    rejection: RejectedOrder,
}

impl RejectionRecord {
    pub fn item(rejection: &RejectedOrder) -> Result<Item, StoreError> {
        let record = RejectionRecord {
            pk: keys::account_pk(&rejection.account_id),
            sk: keys::rejection_sk(
                rejection.marketplace_order_id.as_deref(),
                &format!("unreadable#{}", rejection.rejected_at.to_rfc3339()),
            ),
            rejection: rejection.clone(),
        };
        encode("rejected order", &record)
    }

    pub fn rejection(item: Item) -> Result<RejectedOrder, StoreError> {
        decode::<RejectionRecord>("rejected order", item).map(|r| r.rejection)
    }
}
