//! Per-seller, per-operation token buckets, like SP-API usage plans; and fixed windows per
//! caller and route pattern, like SCX's `X-RateLimit-*` limits.

use std::collections::HashMap;
use std::time::Instant;

use crate::api::Op;
use crate::config::{Quota, ScxRateLimit};

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

/// Where a caller stands in its window after a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WindowState {
    /// The request was let through (and counted).
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// The window's length, whole seconds (rounded up).
    pub interval_secs: u64,
}

struct Window {
    started: Instant,
    used: u32,
}

/// Fixed windows per (caller, route pattern): `limit.requests` per `limit.interval`, the
/// window starting with its first request.
#[derive(Default)]
pub(crate) struct FixedWindows(HashMap<(String, &'static str), Window>);

impl FixedWindows {
    /// Counts one request if the window has room.
    pub(crate) fn take(
        &mut self,
        caller: &str,
        pattern: &'static str,
        limit: ScxRateLimit,
        now: Instant,
    ) -> WindowState {
        let w = self.current(caller, pattern, limit, now);
        let allowed = w.used < limit.requests;
        if allowed {
            w.used += 1;
        }
        let remaining = limit.requests.saturating_sub(w.used);
        WindowState { allowed, limit: limit.requests, remaining, interval_secs: secs(limit) }
    }

    /// The window as it stands, counting nothing.
    pub(crate) fn peek(
        &mut self,
        caller: &str,
        pattern: &'static str,
        limit: ScxRateLimit,
        now: Instant,
    ) -> WindowState {
        let w = self.current(caller, pattern, limit, now);
        let remaining = limit.requests.saturating_sub(w.used);
        WindowState { allowed: remaining > 0, limit: limit.requests, remaining, interval_secs: secs(limit) }
    }

    fn current(
        &mut self,
        caller: &str,
        pattern: &'static str,
        limit: ScxRateLimit,
        now: Instant,
    ) -> &mut Window {
        let w = self.0.entry((caller.to_string(), pattern)).or_insert(Window { started: now, used: 0 });
        if now.saturating_duration_since(w.started) >= limit.interval {
            *w = Window { started: now, used: 0 };
        }
        w
    }
}

fn secs(limit: ScxRateLimit) -> u64 {
    limit.interval.as_secs() + u64::from(limit.interval.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn fixed_window_counts_down_and_starts_over_after_its_interval() {
        let limit = ScxRateLimit::new(2, Duration::from_secs(60));
        let mut w = FixedWindows::default();
        let t0 = Instant::now();
        let first = w.take("a", "/p", limit, t0);
        assert_eq!((first.allowed, first.remaining, first.interval_secs), (true, 1, 60));
        assert!(w.take("a", "/p", limit, t0).allowed);
        let third = w.take("a", "/p", limit, t0);
        assert_eq!((third.allowed, third.remaining), (false, 0));
        assert!(w.take("b", "/p", limit, t0).allowed, "callers have windows of their own");
        assert!(w.take("a", "/q", limit, t0).allowed, "so do route patterns");
        let later = w.take("a", "/p", limit, t0 + Duration::from_secs(60));
        assert_eq!((later.allowed, later.remaining), (true, 1));
    }
}
