//! Per-seller, per-operation token buckets, like SP-API usage plans.

use std::collections::HashMap;
use std::time::Instant;

use crate::api::Op;
use crate::config::Quota;

struct Bucket {
    tokens: f64,
    last: Instant,
}

#[derive(Default)]
pub(crate) struct Buckets(HashMap<(String, Op), Bucket>);

impl Buckets {
    /// Takes one token if available; buckets start full (`burst`).
    pub(crate) fn try_take(&mut self, seller_id: &str, op: Op, quota: Quota, now: Instant) -> bool {
        let bucket = self
            .0
            .entry((seller_id.to_string(), op))
            .or_insert(Bucket { tokens: f64::from(quota.burst), last: now });
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * quota.rate).min(f64::from(quota.burst));
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}
