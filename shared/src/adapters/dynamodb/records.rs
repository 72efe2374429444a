//! Item shapes: the domain value under one attribute, plus the key and index attributes the
//! access patterns need (see docs/dynamodb.md).

use super::keys;
use crate::domain::{AccountId, MarketplaceAccount, Package, PackageState, SalesOrder};
use crate::ports::{FeedPosition, RejectedOrder, StoreError};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_dynamo::aws_sdk_dynamodb_1::{from_item, to_item};
use std::collections::HashMap;

type Item = HashMap<String, AttributeValue>;

pub const UNREPORTED: &str = "Unreported";
pub const SENDING: &str = "Sending";
pub const CONFIRMED: &str = "Confirmed";

/// A time as a fixed-width UTC string, so the table can compare times as strings (leases).
pub fn sortable_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn encode<T: Serialize>(what: &str, record: &T) -> Result<Item, StoreError> {
    to_item(record).map_err(|e| StoreError::Corrupt { what: what.to_string(), message: e.to_string() })
}

fn decode<T: DeserializeOwned>(what: &str, item: Item) -> Result<T, StoreError> {
    let pk = item.get("pk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
    from_item(item).map_err(|e| StoreError::Corrupt { what: format!("{what} {pk}"), message: e.to_string() })
}

/// The shape of the `order` attribute written by this version. Items without `schema` were
/// written before prices moved out of the lines and are read through [`super::legacy`];
/// schema 2 lines had no cancelled quantities (see [`super::legacy::upgrade_schema_2`]).
const ORDER_SCHEMA: u32 = 3;

#[derive(Serialize, Deserialize)]
pub struct OrderRecord {
    pk: String,
    sk: String,
    gsi1pk: String,
    gsi1sk: String,
    status: String,
    account_id: String,
    version: u64,
    schema: u32,
    /// Present only while a settled order still holds buyer data (the buyer_data_held index).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    gsi3pk: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    gsi3sk: Option<String>,
    order: SalesOrder,
}

#[derive(Deserialize)]
struct LegacyOrderRecord {
    version: u64,
    order: super::legacy::SalesOrderV1,
}

impl OrderRecord {
    pub fn item(order: &SalesOrder, version: u64) -> Result<Item, StoreError> {
        let pk = keys::order_pk(&order.key);
        let mut order = order.clone();
        order.version = version;
        let held_since = order.settled_at().filter(|_| order.holds_buyer_data());
        let record = OrderRecord {
            gsi3pk: held_since.map(|_| keys::BUYER_DATA_HELD_PK.to_string()),
            gsi3sk: held_since.map(|at| format!("{}#{pk}", sortable_time(at))),
            gsi1pk: keys::status_pk(order.status()),
            gsi1sk: keys::status_sk(&order.created_at.to_rfc3339(), &pk),
            sk: keys::ORDER_SK.to_string(),
            pk,
            status: order.status().to_string(),
            account_id: order.key.account_id.to_string(),
            version,
            schema: ORDER_SCHEMA,
            order,
        };
        encode("order", &record)
    }

    pub fn order(item: Item) -> Result<SalesOrder, StoreError> {
        if !item.contains_key("schema") {
            let pk = item.get("pk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
            let record: LegacyOrderRecord = decode("order", item)?;
            let mut order = record
                .order
                .upgrade()
                .map_err(|message| StoreError::Corrupt { what: format!("order {pk}"), message })?;
            super::legacy::upgrade_schema_2(&mut order);
            order.version = record.version;
            return Ok(order);
        }
        let record: OrderRecord = decode("order", item)?;
        let mut order = record.order;
        if record.schema < 3 {
            super::legacy::upgrade_schema_2(&mut order);
        }
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
    /// The claiming run and its lease while the package is being sent; guards read these.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    claim_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    lease_until: Option<String>,
    package: Package,
}

impl PackageRecord {
    pub fn item(package: &Package) -> Result<Item, StoreError> {
        let pk = keys::order_pk(&package.order);
        let sk = keys::package_sk(package.id);
        // A package being sent stays in the unreported partition, so that a later run finds and
        // takes it over should the claiming run die before its lease runs out.
        let (partition, state) = match package.state {
            PackageState::Unreported { .. } => (Some(keys::UNREPORTED_PACKAGES_PK), UNREPORTED),
            PackageState::Sending { .. } => (Some(keys::UNREPORTED_PACKAGES_PK), SENDING),
            PackageState::Failed { .. } => (Some(keys::FAILED_PACKAGES_PK), "Failed"),
            PackageState::Confirmed { .. } => (None, CONFIRMED),
        };
        let (claim_id, lease_until) = match &package.state {
            PackageState::Sending { claim, lease_until, .. } => {
                (Some(claim.clone()), Some(sortable_time(*lease_until)))
            }
            _ => (None, None),
        };
        let record = PackageRecord {
            claim_id,
            lease_until,
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
    /// Top-level copies of the times, for the guard that resolves exactly the rejection read.
    rejected_at: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    resolved_at: Option<String>,
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
            rejected_at: sortable_time(rejection.rejected_at),
            resolved_at: rejection.resolved_at.map(sortable_time),
            rejection: rejection.clone(),
        };
        encode("rejected order", &record)
    }

    pub fn rejection(item: Item) -> Result<RejectedOrder, StoreError> {
        decode::<RejectionRecord>("rejected order", item).map(|r| r.rejection)
    }
}

/// A delivery kept for replay. `expires_at` (epoch seconds) is the table's time-to-live
/// attribute: DynamoDB deletes the item once the buyer-data retention has passed.
#[derive(Serialize, Deserialize)]
pub struct DeliveryRecord {
    pk: String,
    sk: String,
    expires_at: i64,
    delivery: crate::ports::RawDelivery,
}

impl DeliveryRecord {
    pub fn item(
        account: &crate::domain::AccountId,
        delivery: &crate::ports::RawDelivery,
        keep_until: DateTime<Utc>,
    ) -> Result<Item, StoreError> {
        let record = DeliveryRecord {
            pk: keys::deliveries_pk(account),
            sk: keys::delivery_sk(
                delivery.marketplace_order_id.as_deref(),
                &sortable_time(delivery.created_at),
                &delivery.id,
            ),
            expires_at: keep_until.timestamp(),
            delivery: delivery.clone(),
        };
        encode("kept delivery", &record)
    }

    /// The delivery, unless its retention ended at or before `now`: DynamoDB deletes expired
    /// items only eventually, and until then they must not be read (their buyer data is past
    /// its retention).
    pub fn delivery_kept_at(
        item: Item,
        now: DateTime<Utc>,
    ) -> Result<Option<crate::ports::RawDelivery>, StoreError> {
        let record = decode::<DeliveryRecord>("kept delivery", item)?;
        Ok((record.expires_at > now.timestamp()).then_some(record.delivery))
    }
}
