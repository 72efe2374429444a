//! The marketplace call pacer kept in the orders table, shared by every concurrent invocation of
//! every function (and the command line): an Amazon account's usage plan is one, however many
//! processes call on its behalf.
//!
//! One small item per (account, operation), a token bucket in GCRA form (see
//! [`crate::adapters::pacing`]):
//!
//! | `pk` | `sk` | attributes |
//! |---|---|---|
//! | `PACING#<account id>` | `<operation>` (e.g. `getOrder`) | `tat_us` (N): the bucket's theoretical arrival time, microseconds since the Unix epoch — when it is full again; `rate_per_second` (N) and `burst` (N) of the last reservation; `updated_at` (S) |
//!
//! A reservation reads the item (consistently), computes the new TAT from `max(tat, now)` and
//! writes the whole item back under `attribute_not_exists(pk)` (first use) or `tat_us = :read`,
//! so two invocations never take the same slot; a lost race re-reads and tries again. Items
//! carry no GSI attributes (no index sees them) and nothing about buyers or orders. Times are
//! the wall clock: Lambda hosts are NTP-synchronised, and the quotas leave headroom for skew.

use super::errors::classify;
use super::{s, DynamoStore};
use crate::adapters::pacing::schedule;
use crate::domain::AccountId;
use crate::ports::{CallPacer, Quota, StoreError};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const PACING_PK_PREFIX: &str = "PACING#";
const TAT: &str = "tat_us";
/// Attempts before a reservation gives up under contention (`Conflict`, retryable).
const MAX_ATTEMPTS: u32 = 20;
/// Pauses after a lost race grow from about this…
const BASE_PAUSE: Duration = Duration::from_millis(2);
/// …up to this (full jitter below it), so many contenders spread out quickly.
const MAX_PAUSE: Duration = Duration::from_millis(100);

fn pacing_pk(account: &AccountId) -> String {
    format!("{PACING_PK_PREFIX}{account}")
}

fn since_epoch() -> Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default()
}

#[async_trait]
impl CallPacer for DynamoStore {
    async fn reserve(
        &self,
        account: &AccountId,
        operation: &str,
        quota: Quota,
    ) -> Result<Duration, StoreError> {
        let pk = pacing_pk(account);
        let what = || format!("call pacing of {operation} for account {account}");
        for attempt in 1..=MAX_ATTEMPTS {
            let stored = match self.get(pk.clone(), operation).await? {
                None => None,
                Some(item) => Some(read_tat(&item).ok_or_else(|| StoreError::Corrupt {
                    what: what(),
                    message: format!("{TAT} is missing or not a whole number"),
                })?),
            };
            let now = since_epoch();
            let slot = schedule(stored.map(Duration::from_micros), now, quota);
            let new_tat = u64::try_from(slot.tat.as_micros()).unwrap_or(u64::MAX);
            let put = self
                .client
                .put_item()
                .table_name(&self.table)
                .item("pk", s(pk.clone()))
                .item("sk", s(operation))
                .item(TAT, AttributeValue::N(new_tat.to_string()))
                .item("rate_per_second", AttributeValue::N(quota.rate_per_second.to_string()))
                .item("burst", AttributeValue::N(quota.burst.to_string()))
                .item("updated_at", s(super::records::sortable_time(chrono::Utc::now())));
            let put = match stored {
                None => put.condition_expression("attribute_not_exists(pk)"),
                Some(read) => put
                    .condition_expression("#tat = :read")
                    .expression_attribute_names("#tat", TAT)
                    .expression_attribute_values(":read", AttributeValue::N(read.to_string())),
            };
            match put.send().await.map_err(|e| classify("PutItem", e)) {
                Ok(_) => return Ok(slot.wait),
                // Another invocation reserved meanwhile: read its TAT and try again, a little
                // apart so that contenders don't keep colliding.
                Err(StoreError::NotInExpectedState { .. } | StoreError::Conflict { .. }) => {
                    tracing::debug!(%account, operation, attempt, "call pacing contended; retrying");
                    tokio::time::sleep(spread(attempt)).await;
                }
                Err(error) => return Err(error),
            }
        }
        Err(StoreError::Conflict { what: what() })
    }
}

fn read_tat(item: &super::Item) -> Option<u64> {
    item.get(TAT)?.as_n().ok()?.parse().ok()
}

/// A pause after the `attempt`-th lost race: exponential backoff with full jitter. The jitter
/// comes from std's per-process random hasher keys, without a random-number dependency.
fn spread(attempt: u32) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let ceiling = BASE_PAUSE.saturating_mul(1 << attempt.min(16)).min(MAX_PAUSE);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(since_epoch().as_nanos());
    ceiling.mul_f64((hasher.finish() % 10_000) as f64 / 10_000.0)
}
