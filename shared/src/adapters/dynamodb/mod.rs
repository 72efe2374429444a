//! The order store and account store on one DynamoDB table. Key design: `docs/dynamodb.md`.

mod errors;
mod keys;
mod legacy;
mod pacing;
mod records;
pub mod schema;

use crate::domain::{AccountId, MarketplaceAccount, OrderKey, OrderStatus, Package, SalesOrder};
use crate::ports::{
    AccountStore, FeedPosition, OrderStore, PackageGuard, Page, RawDelivery, RejectedOrder, StoreError,
};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};
use errors::{classify, transaction_error};
use records::{AccountRecord, DeliveryRecord, OrderRecord, PackageRecord, PositionRecord, RejectionRecord};
use std::collections::HashMap;

pub use keys::{BY_STATUS_INDEX, UNREPORTED_PACKAGES_INDEX};

type Item = HashMap<String, AttributeValue>;

#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    async fn get(&self, pk: String, sk: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify("GetItem", e))?;
        Ok(out.item)
    }

    /// Runs a key-condition query to the end (or `limit` items), following LastEvaluatedKey.
    async fn query_all(
        &self,
        index: Option<&str>,
        key_condition: &str,
        values: Vec<(&str, AttributeValue)>,
        limit: Option<u32>,
    ) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(index.map(str::to_string))
                .key_condition_expression(key_condition)
                .set_exclusive_start_key(start.take());
            if index.is_none() {
                query = query.consistent_read(true);
            }
            for (name, value) in &values {
                query = query.expression_attribute_values(*name, value.clone());
            }
            let out = query.send().await.map_err(|e| classify("Query", e))?;
            items.extend(out.items.unwrap_or_default());
            if limit.is_some_and(|l| items.len() >= l as usize) {
                items.truncate(limit.unwrap_or(u32::MAX) as usize);
                return Ok(items);
            }
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(items),
            }
        }
    }

    /// Sends one guarded put on its own; a failed guard is `NotInExpectedState { what }`.
    async fn put_guarded(&self, put: Put, what: String) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(put.item))
            .set_condition_expression(put.condition_expression)
            .set_expression_attribute_names(put.expression_attribute_names)
            .set_expression_attribute_values(put.expression_attribute_values)
            .send()
            .await
            .map_err(|e| match classify("PutItem", e) {
                StoreError::NotInExpectedState { .. } => StoreError::NotInExpectedState { what },
                other => other,
            })?;
        Ok(())
    }

    async fn transact(
        &self,
        operation: &'static str,
        puts: Vec<Put>,
        what: &[String],
    ) -> Result<(), StoreError> {
        let items = puts.into_iter().map(|p| TransactWriteItem::builder().put(p).build()).collect();
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| transaction_error(operation, e, what))
    }

    /// The order put guarded by its version: only writes over the version that was read.
    fn versioned_order_put(&self, order: &SalesOrder) -> Result<Put, StoreError> {
        Ok(Put::builder()
            .table_name(&self.table)
            .set_item(Some(OrderRecord::item(order, order.version + 1)?))
            .condition_expression("version = :expected")
            .expression_attribute_values(":expected", AttributeValue::N(order.version.to_string()))
            .build()
            .expect("table name and item are set"))
    }

    /// A package put guarded by what the stored package must be (None: it must not exist yet).
    fn package_put(&self, package: &Package, guard: Option<&PackageGuard>) -> Result<Put, StoreError> {
        let item = PackageRecord::item(package)?;
        let builder = Put::builder().table_name(&self.table).set_item(Some(item));
        let builder = match guard {
            None => builder.condition_expression("attribute_not_exists(pk)"),
            Some(PackageGuard::Claimable { now }) => builder
                .condition_expression(
                    "report_state = :unreported OR (report_state = :sending AND lease_until <= :now)",
                )
                .expression_attribute_values(":unreported", s(records::UNREPORTED))
                .expression_attribute_values(":sending", s(records::SENDING))
                .expression_attribute_values(":now", s(records::sortable_time(*now))),
            Some(PackageGuard::ClaimedBy(claim)) => builder
                .condition_expression("report_state = :sending AND claim_id = :claim")
                .expression_attribute_values(":sending", s(records::SENDING))
                .expression_attribute_values(":claim", s(claim.clone())),
            Some(PackageGuard::NotConfirmed) => builder
                .condition_expression("attribute_exists(pk) AND report_state <> :confirmed")
                .expression_attribute_values(":confirmed", s(records::CONFIRMED)),
        };
        Ok(builder.build().expect("table name and item are set"))
    }
}

#[async_trait]
impl AccountStore for DynamoStore {
    async fn put_account(&self, account: &MarketplaceAccount) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(AccountRecord::item(account)?))
            .send()
            .await
            .map_err(|e| classify("PutItem", e))?;
        Ok(())
    }

    async fn get_account(&self, id: &AccountId) -> Result<Option<MarketplaceAccount>, StoreError> {
        let (pk, sk) = keys::account(id);
        self.get(pk, &sk).await?.map(AccountRecord::account).transpose()
    }

    async fn list_accounts(&self) -> Result<Vec<MarketplaceAccount>, StoreError> {
        let items = self.query_all(None, "pk = :pk", vec![(":pk", s(keys::ACCOUNTS_PK))], None).await?;
        items.into_iter().map(AccountRecord::account).collect()
    }

    async fn load_position(&self, id: &AccountId) -> Result<Option<FeedPosition>, StoreError> {
        let (pk, sk) = keys::position(id);
        self.get(pk, sk).await?.map(PositionRecord::position).transpose()
    }

    async fn save_position(
        &self,
        id: &AccountId,
        expected: Option<&FeedPosition>,
        new: &FeedPosition,
    ) -> Result<(), StoreError> {
        let put = Put::builder().table_name(&self.table).set_item(Some(PositionRecord::item(id, new)?));
        let put = match expected {
            None => put.condition_expression("attribute_not_exists(pk)"),
            Some(expected) => put
                .condition_expression("#position = :expected")
                .expression_attribute_names("#position", "position")
                .expression_attribute_values(":expected", s(expected.0.clone())),
        };
        let what = format!("import position of account {id}");
        self.put_guarded(put.build().expect("table name and item are set"), what).await.map_err(|e| match e {
            StoreError::NotInExpectedState { what } => StoreError::Conflict { what },
            other => other,
        })
    }
}

#[async_trait]
impl OrderStore for DynamoStore {
    async fn get_order(&self, key: &OrderKey) -> Result<Option<SalesOrder>, StoreError> {
        self.get(keys::order_pk(key), keys::ORDER_SK).await?.map(OrderRecord::order).transpose()
    }

    async fn insert_order(&self, order: &SalesOrder) -> Result<(), StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(OrderRecord::item(order, 1)?))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .expect("table name and item are set");
        self.put_guarded(put, format!("order {}", order.key)).await.map_err(|e| match e {
            StoreError::NotInExpectedState { what } => StoreError::AlreadyExists { what },
            other => other,
        })
    }

    async fn update_order(&self, order: &SalesOrder) -> Result<(), StoreError> {
        let put = self.versioned_order_put(order)?;
        self.put_guarded(put, format!("order {}", order.key)).await.map_err(|e| match e {
            StoreError::NotInExpectedState { what } => StoreError::Conflict { what },
            other => other,
        })
    }

    async fn orders_by_status(
        &self,
        status: OrderStatus,
        limit: u32,
        start: Option<String>,
    ) -> Result<Page<SalesOrder>, StoreError> {
        let start_key = start.map(|token| keys::decode_page_token(&token)).transpose()?;
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(BY_STATUS_INDEX)
            .key_condition_expression("gsi1pk = :status")
            .expression_attribute_values(":status", s(keys::status_pk(status)))
            .limit(limit.clamp(1, 1000) as i32)
            .set_exclusive_start_key(start_key)
            .send()
            .await
            .map_err(|e| classify("Query", e))?;
        let items =
            out.items.unwrap_or_default().into_iter().map(OrderRecord::order).collect::<Result<_, _>>()?;
        let next = out.last_evaluated_key.filter(|k| !k.is_empty()).map(|k| keys::encode_page_token(&k));
        Ok(Page { items, next })
    }

    async fn record_package(&self, order: &SalesOrder, package: &Package) -> Result<(), StoreError> {
        let puts = vec![self.versioned_order_put(order)?, self.package_put(package, None)?];
        self.transact(
            "record package",
            puts,
            &[format!("order {}", order.key), format!("package {} of order {}", package.id, order.key)],
        )
        .await
        .map_err(|e| match e {
            // The order's guard failing is a Conflict (changed meanwhile); the package's guard
            // failing means that package number is taken.
            StoreError::NotInExpectedState { what } => StoreError::AlreadyExists { what },
            other => other,
        })
    }

    async fn packages(&self, key: &OrderKey) -> Result<Vec<Package>, StoreError> {
        let items = self
            .query_all(
                None,
                "pk = :pk AND begins_with(sk, :prefix)",
                vec![(":pk", s(keys::order_pk(key))), (":prefix", s(keys::PACKAGE_SK_PREFIX))],
                None,
            )
            .await?;
        items.into_iter().map(PackageRecord::package).collect()
    }

    async fn unreported_packages(&self, limit: u32) -> Result<Vec<Package>, StoreError> {
        self.packages_in(keys::UNREPORTED_PACKAGES_PK, limit).await
    }

    async fn failed_packages(&self, limit: u32) -> Result<Vec<Package>, StoreError> {
        self.packages_in(keys::FAILED_PACKAGES_PK, limit).await
    }

    async fn update_package(
        &self,
        package: &Package,
        order: Option<&SalesOrder>,
        guard: PackageGuard,
    ) -> Result<(), StoreError> {
        let what = format!("package {} of order {}", package.id, package.order);
        let put = self.package_put(package, Some(&guard))?;
        match order {
            Some(order) => {
                let puts = vec![self.versioned_order_put(order)?, put];
                self.transact("save confirmed package", puts, &[format!("order {}", order.key), what]).await
            }
            None => self.put_guarded(put, what).await,
        }
    }

    async fn orders_holding_buyer_data(
        &self,
        settled_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<SalesOrder>, StoreError> {
        let items = self
            .query_all(
                Some(keys::BUYER_DATA_HELD_INDEX),
                "gsi3pk = :held AND gsi3sk < :before",
                vec![
                    (":held", s(keys::BUYER_DATA_HELD_PK)),
                    (":before", s(records::sortable_time(settled_before))),
                ],
                Some(limit),
            )
            .await?;
        items.into_iter().map(OrderRecord::order).collect()
    }

    async fn record_rejection(&self, rejection: &RejectedOrder) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(RejectionRecord::item(rejection)?))
            .send()
            .await
            .map_err(|e| classify("PutItem", e))?;
        Ok(())
    }

    async fn resolve_rejection(
        &self,
        account: &AccountId,
        marketplace_order_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let pk = keys::account_pk(account);
        let sk = keys::rejection_sk(Some(marketplace_order_id), "");
        let Some(item) = self.get(pk, &sk).await? else {
            return Ok(());
        };
        let mut rejection = RejectionRecord::rejection(item)?;
        if rejection.resolved_at.is_some() {
            return Ok(());
        }
        rejection.resolved_at = Some(at);
        // Only over the open rejection that was read: a newer rejection of the same order
        // recorded meanwhile stays open.
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(RejectionRecord::item(&rejection)?))
            .condition_expression("attribute_not_exists(resolved_at) AND rejected_at = :rejected_at")
            .expression_attribute_values(":rejected_at", s(records::sortable_time(rejection.rejected_at)))
            .build()
            .expect("table name and item are set");
        match self.put_guarded(put, format!("rejection of order {marketplace_order_id}")).await {
            Ok(()) | Err(StoreError::NotInExpectedState { .. }) => Ok(()),
            Err(error) => Err(error),
        }
    }

    async fn keep_delivery(
        &self,
        account: &AccountId,
        delivery: &RawDelivery,
        keep_until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        // A redelivered event overwrites its own copy with the same content.
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(DeliveryRecord::item(account, delivery, keep_until)?))
            .send()
            .await
            .map_err(|e| classify("PutItem", e))?;
        Ok(())
    }

    async fn kept_deliveries(
        &self,
        account: &AccountId,
        marketplace_order_id: Option<&str>,
    ) -> Result<Vec<RawDelivery>, StoreError> {
        let items = self.delivery_items(account, marketplace_order_id).await?;
        let now = chrono::Utc::now();
        let mut kept = Vec::new();
        for item in items {
            kept.extend(DeliveryRecord::delivery_kept_at(item, now)?);
        }
        kept.sort_by_key(|d| d.created_at);
        Ok(kept)
    }

    async fn forget_deliveries(
        &self,
        account: &AccountId,
        marketplace_order_id: &str,
    ) -> Result<u32, StoreError> {
        let pk = keys::deliveries_pk(account);
        let items = self.delivery_items(account, Some(marketplace_order_id)).await?;
        let mut forgotten = 0;
        for item in items {
            let Some(sk) = item.get("sk").cloned() else { continue };
            self.client
                .delete_item()
                .table_name(&self.table)
                .key("pk", s(pk.clone()))
                .key("sk", sk)
                .send()
                .await
                .map_err(|e| classify("DeleteItem", e))?;
            forgotten += 1;
        }
        Ok(forgotten)
    }

    async fn rejections(
        &self,
        account: &AccountId,
        include_resolved: bool,
    ) -> Result<Vec<RejectedOrder>, StoreError> {
        let items = self
            .query_all(
                None,
                "pk = :pk AND begins_with(sk, :prefix)",
                vec![(":pk", s(keys::account_pk(account))), (":prefix", s(keys::REJECTION_SK_PREFIX))],
                None,
            )
            .await?;
        let all = items.into_iter().map(RejectionRecord::rejection).collect::<Result<Vec<_>, _>>()?;
        Ok(all.into_iter().filter(|r| include_resolved || r.resolved_at.is_none()).collect())
    }
}

impl DynamoStore {
    /// The kept-delivery items of an account (of one order, or all).
    async fn delivery_items(
        &self,
        account: &AccountId,
        marketplace_order_id: Option<&str>,
    ) -> Result<Vec<Item>, StoreError> {
        let pk = (":pk", s(keys::deliveries_pk(account)));
        // DynamoDB refuses an empty prefix: the whole partition is queried without one.
        match marketplace_order_id {
            Some(id) => {
                let prefix = (":prefix", s(format!("{id}#")));
                self.query_all(None, "pk = :pk AND begins_with(sk, :prefix)", vec![pk, prefix], None).await
            }
            None => self.query_all(None, "pk = :pk", vec![pk], None).await,
        }
    }

    async fn packages_in(&self, partition: &str, limit: u32) -> Result<Vec<Package>, StoreError> {
        let items = self
            .query_all(
                Some(UNREPORTED_PACKAGES_INDEX),
                "gsi2pk = :pk",
                vec![(":pk", s(partition))],
                Some(limit),
            )
            .await?;
        items.into_iter().map(PackageRecord::package).collect()
    }
}
