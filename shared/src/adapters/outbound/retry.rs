//! When to try a failed call again and how long to wait first: backoff with jitter, and what
//! a throttled answer's headers ask for (`Retry-After`, rate-limit headers).

use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts of one call, the first included.
    pub max_attempts: u32,
    /// How often one call fetches a new token after the marketplace rejected the current one.
    pub max_token_renewals: u32,
    pub base_backoff: Duration,
    /// The longest wait between attempts, for backoff and for what a throttled answer asks.
    pub max_wait: Duration,
}

/// Waiting less than this after a 429 only earns another one.
const MIN_THROTTLE_WAIT: Duration = Duration::from_millis(100);

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            max_token_renewals: 3,
            base_backoff: Duration::from_millis(250),
            max_wait: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1`: an exponential ceiling (base × 2^attempt, capped
    /// at `max_wait`), half of it fixed and half random, so waits grow and still spread apart.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let ceiling =
            self.base_backoff.saturating_mul(2u32.saturating_pow(attempt.min(16))).min(self.max_wait);
        ceiling / 2 + jitter(ceiling / 2)
    }

    /// The wait after a 429: what the answer asked for, else the base backoff, kept within
    /// reason.
    pub fn throttle_wait(&self, asked: Option<Duration>) -> Duration {
        asked.unwrap_or(self.base_backoff).clamp(MIN_THROTTLE_WAIT, self.max_wait.max(MIN_THROTTLE_WAIT))
    }
}

/// A random duration up to `max`, without a random-number dependency: std's per-process
/// random hasher keys are enough to spread retries apart.
pub fn jitter(max: Duration) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos(),
    );
    let fraction = (hasher.finish() % 1000) as u32;
    max * fraction / 1000
}

/// A marketplace's rate limit as its headers report it: `limit` requests per `interval`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    pub limit: f64,
    /// Requests left in the current interval, when the marketplace tells.
    pub remaining: Option<u32>,
    pub interval: Duration,
}

impl RateLimit {
    pub fn rate_per_second(&self) -> f64 {
        self.limit / self.interval.as_secs_f64()
    }

    /// How long a throttled caller waits: a whole interval when nothing remains (the window's
    /// start is not reported, so its end is not known sooner), else one request's share of it.
    pub fn wait_when_throttled(&self) -> Duration {
        if self.remaining == Some(0) || !(self.limit.is_finite() && self.limit > 0.0) {
            return self.interval;
        }
        Duration::try_from_secs_f64(self.interval.as_secs_f64() / self.limit).unwrap_or(self.interval)
    }
}

/// Reads a marketplace's rate-limit headers; each adapter names the one its marketplace sends.
pub type RateLimitHeaders = fn(&HeaderMap) -> Option<RateLimit>;

/// `X-RateLimit-Limit` requests per `X-RateLimit-Interval-Length-Seconds`, with
/// `X-RateLimit-Remaining` (JTL SCX's fixed windows).
pub fn x_ratelimit_headers(headers: &HeaderMap) -> Option<RateLimit> {
    let limit = header(headers, "x-ratelimit-limit")?.parse::<f64>().ok().filter(|l| *l >= 0.0)?;
    let seconds = header(headers, "x-ratelimit-interval-length-seconds")?.parse::<f64>().ok()?;
    let interval = Duration::try_from_secs_f64(seconds).ok().filter(|i| !i.is_zero())?;
    let remaining = header(headers, "x-ratelimit-remaining").and_then(|r| r.parse::<u32>().ok());
    Some(RateLimit { limit, remaining, interval })
}

/// How long a throttled answer asks the caller to wait: `Retry-After` when given, else what
/// the rate limit implies plus up to a quarter of it at random, so throttled callers don't all
/// come back at the same instant.
pub fn throttle_hint(headers: &HeaderMap, rate_limit: Option<RateLimit>) -> Option<Duration> {
    if let Some(wait) = header(headers, "retry-after").and_then(|v| parse_retry_after(v, Utc::now())) {
        return Some(wait);
    }
    let wait = rate_limit?.wait_when_throttled();
    Some(wait + jitter(wait / 4))
}

/// `Retry-After` as delay-seconds or as an HTTP-date (a date in the past: no wait).
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?.with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

pub(crate) fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        pairs.iter().map(|(name, value)| (name.parse().unwrap(), value.parse().unwrap())).collect()
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy = RetryPolicy::default();
        assert!(
            policy.backoff(1) >= Duration::from_millis(250)
                && policy.backoff(1) <= Duration::from_millis(500)
        );
        assert!(policy.backoff(3) >= Duration::from_secs(1) && policy.backoff(3) <= Duration::from_secs(2));
        for attempt in [8, 20, u32::MAX] {
            let wait = policy.backoff(attempt);
            assert!(wait >= policy.max_wait / 2 && wait <= policy.max_wait, "{attempt}: {wait:?}");
        }
    }

    #[test]
    fn a_throttle_wait_stays_within_reason() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.throttle_wait(None), policy.base_backoff);
        assert_eq!(policy.throttle_wait(Some(Duration::ZERO)), MIN_THROTTLE_WAIT);
        assert_eq!(policy.throttle_wait(Some(Duration::from_secs(3600))), policy.max_wait);
    }

    #[test]
    fn retry_after_in_seconds_and_as_a_date() {
        let now = DateTime::parse_from_rfc3339("2015-10-21T07:28:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn nothing_remaining_in_the_window_waits_the_whole_interval() {
        let h = headers(&[
            ("X-RateLimit-Limit", "60"),
            ("X-RateLimit-Remaining", "0"),
            ("X-RateLimit-Interval-Length-Seconds", "60"),
        ]);
        let limit = x_ratelimit_headers(&h).unwrap();
        assert_eq!(limit, RateLimit { limit: 60.0, remaining: Some(0), interval: Duration::from_secs(60) });
        assert_eq!(limit.wait_when_throttled(), Duration::from_secs(60));
        assert_eq!(limit.rate_per_second(), 1.0);
        let wait = throttle_hint(&h, Some(limit)).unwrap();
        assert!(wait >= Duration::from_secs(60) && wait <= Duration::from_secs(75), "{wait:?}");
    }

    #[test]
    fn requests_remaining_wait_one_requests_share_of_the_interval() {
        let h = headers(&[
            ("X-RateLimit-Limit", "10"),
            ("X-RateLimit-Remaining", "3"),
            ("X-RateLimit-Interval-Length-Seconds", "20"),
        ]);
        assert_eq!(x_ratelimit_headers(&h).unwrap().wait_when_throttled(), Duration::from_secs(2));
    }

    #[test]
    fn incomplete_rate_limit_headers_say_nothing() {
        assert_eq!(x_ratelimit_headers(&headers(&[("X-RateLimit-Remaining", "0")])), None);
        let no_interval =
            headers(&[("X-RateLimit-Limit", "10"), ("X-RateLimit-Interval-Length-Seconds", "0")]);
        assert_eq!(x_ratelimit_headers(&no_interval), None);
        assert_eq!(throttle_hint(&HeaderMap::new(), None), None);
    }

    #[test]
    fn retry_after_wins_over_the_rate_limit() {
        let h = headers(&[("Retry-After", "7")]);
        let limit = RateLimit { limit: 1.0, remaining: Some(0), interval: Duration::from_secs(60) };
        assert_eq!(throttle_hint(&h, Some(limit)), Some(Duration::from_secs(7)));
    }

    #[test]
    fn jitter_stays_below_its_bound() {
        for _ in 0..100 {
            assert!(jitter(Duration::from_millis(10)) <= Duration::from_millis(10));
        }
        assert_eq!(jitter(Duration::ZERO), Duration::ZERO);
    }
}
