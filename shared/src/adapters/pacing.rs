//! Call pacing as a token bucket in its GCRA ("virtual scheduling") form: one timestamp per
//! bucket, the *theoretical arrival time* (TAT) — when the bucket is full again if nothing else is
//! taken. Reserving a call moves it on by one emission interval (`1 / rate`); the call may go
//! once the TAT is no more than `burst` intervals ahead of now. That is exactly a bucket of
//! `burst` tokens refilled at `rate`, starting full, with nothing to refill in the background.
//!
//! [`schedule`] is the arithmetic, shared by the in-memory pacer here and the one kept in the
//! DynamoDB table (`adapters::dynamodb`, shared by every concurrent invocation).

use crate::domain::AccountId;
use crate::ports::{CallPacer, Quota, StoreError};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// The longest emission interval: a plan of at least one request per hour. Guards against a
/// zero, negative or NaN rate, which would otherwise never let a call go.
const MAX_INTERVAL: Duration = Duration::from_secs(3600);

/// Time between two calls at the quota's rate, rounded up to whole microseconds (never faster
/// than the plan).
pub(crate) fn interval(quota: Quota) -> Duration {
    let rate = quota.rate_per_second;
    if !(rate.is_finite() && rate > 0.0) {
        return MAX_INTERVAL;
    }
    let micros = (1e6 / rate).ceil().min(MAX_INTERVAL.as_micros() as f64);
    Duration::from_micros(micros as u64).max(Duration::from_micros(1))
}

/// One reservation: the bucket's new TAT, and how long the caller waits before calling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Slot {
    pub tat: Duration,
    pub wait: Duration,
}

/// Reserves one call at `now` on a bucket whose TAT is `tat` (None: never used, i.e. full).
/// Times are durations since any fixed origin (the Unix epoch for the table).
pub(crate) fn schedule(tat: Option<Duration>, now: Duration, quota: Quota) -> Slot {
    let interval = interval(quota);
    let start = tat.map_or(now, |tat| tat.max(now));
    let tat = start + interval;
    let tolerance = interval.saturating_mul(quota.burst.max(1));
    Slot { tat, wait: tat.saturating_sub(tolerance).saturating_sub(now) }
}

/// Buckets in this process's memory: enough for the command line and tests; Lambda functions
/// pace through the table instead, which every concurrent invocation shares.
pub struct InMemoryPacer {
    origin: Instant,
    buckets: Mutex<HashMap<(AccountId, String), Duration>>,
}

impl InMemoryPacer {
    pub fn new() -> Self {
        Self { origin: Instant::now(), buckets: Mutex::new(HashMap::new()) }
    }
}

impl Default for InMemoryPacer {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl CallPacer for InMemoryPacer {
    async fn reserve(
        &self,
        account: &AccountId,
        operation: &str,
        quota: Quota,
    ) -> Result<Duration, StoreError> {
        let key = (account.clone(), operation.to_string());
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let slot = schedule(buckets.get(&key).copied(), self.origin.elapsed(), quota);
        buckets.insert(key, slot.tat);
        Ok(slot.wait)
    }
}

/// Paces nothing: for a marketplace that enforces no usage plan (the sandbox without rate
/// limits, in tests and the local run). Never wired for a real marketplace.
pub struct Unpaced;

#[async_trait]
impl CallPacer for Unpaced {
    async fn reserve(&self, _: &AccountId, _: &str, _: Quota) -> Result<Duration, StoreError> {
        Ok(Duration::ZERO)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    fn quota(rate_per_second: f64, burst: u32) -> Quota {
        Quota { rate_per_second, burst }
    }

    #[test]
    fn a_full_bucket_lets_burst_calls_go_at_once_then_spaces_them_at_the_rate() {
        let plan = quota(2.0, 3);
        let now = 100 * SECOND;
        let mut tat = None;
        let waits: Vec<Duration> = (0..6)
            .map(|_| {
                let slot = schedule(tat, now, plan);
                tat = Some(slot.tat);
                slot.wait
            })
            .collect();
        let ms = Duration::from_millis;
        assert_eq!(waits, [Duration::ZERO, Duration::ZERO, Duration::ZERO, ms(500), ms(1000), ms(1500)]);
    }

    #[test]
    fn the_bucket_refills_at_the_rate_and_never_beyond_burst() {
        let plan = quota(1.0, 2);
        let first = schedule(None, 10 * SECOND, plan);
        let second = schedule(Some(first.tat), 10 * SECOND, plan);
        let third = schedule(Some(second.tat), 10 * SECOND, plan);
        assert_eq!(third.wait, SECOND);
        // The third went at 11 s; one interval after that exactly one token is back.
        let later = schedule(Some(third.tat), 12 * SECOND, plan);
        assert_eq!(later.wait, Duration::ZERO);
        let next = schedule(Some(later.tat), 12 * SECOND, plan);
        assert_eq!(next.wait, SECOND);
        // Long idle: full again, but no more than burst.
        let idle = 1000 * SECOND;
        let a = schedule(Some(next.tat), idle, plan);
        let b = schedule(Some(a.tat), idle, plan);
        let c = schedule(Some(b.tat), idle, plan);
        assert_eq!((a.wait, b.wait, c.wait), (Duration::ZERO, Duration::ZERO, SECOND));
    }

    #[test]
    fn interval_is_rounded_up_and_bounded() {
        assert_eq!(interval(quota(0.5, 1)), 2 * SECOND);
        assert_eq!(interval(quota(3.0, 1)), Duration::from_micros(333_334));
        assert_eq!(interval(quota(0.0056, 20)), Duration::from_micros(178_571_429));
        assert_eq!(interval(quota(0.0, 1)), MAX_INTERVAL);
        assert_eq!(interval(quota(-1.0, 1)), MAX_INTERVAL);
        assert_eq!(interval(quota(f64::NAN, 1)), MAX_INTERVAL);
        assert_eq!(interval(quota(1e9, 1)), Duration::from_micros(1));
    }

    #[test]
    fn a_zero_burst_counts_as_one() {
        let slot = schedule(None, SECOND, quota(1.0, 0));
        assert_eq!(slot.wait, Duration::ZERO);
        assert_eq!(schedule(Some(slot.tat), SECOND, quota(1.0, 0)).wait, SECOND);
    }

    #[tokio::test]
    async fn in_memory_buckets_are_per_account_and_operation() {
        let pacer = InMemoryPacer::new();
        let plan = quota(0.01, 2);
        let (a, b) = (AccountId::parse("amazon-a").unwrap(), AccountId::parse("amazon-b").unwrap());
        for _ in 0..2 {
            assert_eq!(pacer.reserve(&a, "getOrder", plan).await.unwrap(), Duration::ZERO);
        }
        let third = pacer.reserve(&a, "getOrder", plan).await.unwrap();
        assert!(third > 99 * SECOND && third <= 100 * SECOND, "{third:?}");
        assert_eq!(pacer.reserve(&a, "searchOrders", plan).await.unwrap(), Duration::ZERO);
        assert_eq!(pacer.reserve(&b, "getOrder", plan).await.unwrap(), Duration::ZERO);
    }
}
