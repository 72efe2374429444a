//! Access tokens: where a marketplace's come from ([`TokenSource`]), and a cache that fetches
//! one at a time, renews early and forgets a token the marketplace rejected.

use super::classify::describe;
use super::request::{time_for_request, ApiRequest};
use super::retry::{throttle_hint, x_ratelimit_headers, RetryPolicy};
use crate::domain::AccountId;
use crate::ports::MarketplaceError;
use crate::Deadline;
use async_trait::async_trait;
use reqwest::StatusCode;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// A short-lived access token and when it expires.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    value: String,
    issued_at: Instant,
    expires_at: Instant,
}

impl AccessToken {
    /// A token issued now, valid for `lifetime`.
    pub fn new(value: impl Into<String>, lifetime: Duration) -> Self {
        let issued_at = Instant::now();
        Self { value: value.into(), issued_at, expires_at: issued_at + lifetime }
    }

    pub fn value(&self) -> &str {
        &self.value
    }

    /// Whether the token is still good for a request starting now: not within `margin` of its
    /// expiry. The margin is at most half the lifetime, so a short-lived token is still reused.
    fn is_fresh(&self, margin: Duration) -> bool {
        let margin = margin.min((self.expires_at - self.issued_at) / 2);
        Instant::now() + margin < self.expires_at
    }
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("value", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Where a marketplace's access tokens come from (a login endpoint, with credentials).
#[async_trait]
pub trait TokenSource: Send + Sync {
    async fn fetch(&self, deadline: Deadline) -> Result<AccessToken, MarketplaceError>;
}

/// One account's current token. Concurrent callers wait for one fetch instead of each
/// fetching their own.
pub struct TokenCache {
    source: Arc<dyn TokenSource>,
    renewal_margin: Duration,
    current: Mutex<Option<AccessToken>>,
}

impl TokenCache {
    /// Renewed this long before expiry, so a request never starts with a token about to expire.
    pub const DEFAULT_RENEWAL_MARGIN: Duration = Duration::from_secs(60);

    pub fn new(source: Arc<dyn TokenSource>) -> Self {
        Self { source, renewal_margin: Self::DEFAULT_RENEWAL_MARGIN, current: Mutex::new(None) }
    }

    pub fn with_renewal_margin(mut self, margin: Duration) -> Self {
        self.renewal_margin = margin;
        self
    }

    /// The current token, fetched if there is none or it is about to expire.
    pub async fn get(&self, deadline: Deadline) -> Result<AccessToken, MarketplaceError> {
        let mut current = self.current.lock().await;
        if let Some(token) = current.as_ref().filter(|t| t.is_fresh(self.renewal_margin)) {
            return Ok(token.clone());
        }
        let token = self.source.fetch(deadline).await?;
        *current = Some(token.clone());
        Ok(token)
    }

    /// Drops `rejected` after the marketplace refused it, so the next [`Self::get`] fetches a
    /// new one. A token another caller renewed meanwhile is kept.
    pub async fn forget(&self, rejected: &AccessToken) {
        let mut current = self.current.lock().await;
        if current.as_ref() == Some(rejected) {
            *current = None;
        }
    }
}

/// Calls a token endpoint once, within `request_timeout` and the deadline, and answers its JSON
/// body. Throttling (`Throttled`, as `Retry-After` or `X-RateLimit-*` ask), server errors and
/// timeouts (`Unavailable`) are for [`ApiCaller::send`](super::ApiCaller::send) to retry; any
/// other refusal means the credentials are wrong.
pub async fn request_token(
    http: &reqwest::Client,
    account: &AccountId,
    request: &ApiRequest,
    request_timeout: Duration,
    deadline: Deadline,
) -> Result<Value, MarketplaceError> {
    let operation = request.operation;
    let unavailable =
        |message: String| MarketplaceError::Unavailable { account: account.clone(), operation, message };
    let timeout = time_for_request(deadline, request_timeout);
    if timeout.is_zero() {
        return Err(unavailable("no invocation time left for the request".into()));
    }
    let response = request
        .build(http)
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| unavailable(describe(&e.without_url())))?;
    let status = response.status();
    if status == StatusCode::TOO_MANY_REQUESTS {
        let headers = response.headers();
        let asked = throttle_hint(headers, x_ratelimit_headers(headers));
        return Err(MarketplaceError::Throttled {
            account: account.clone(),
            operation,
            retry_after: RetryPolicy::default().throttle_wait(asked),
        });
    }
    if status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT {
        return Err(unavailable(format!("token endpoint answered {status}")));
    }
    if !status.is_success() {
        return Err(MarketplaceError::Credentials {
            account: account.clone(),
            message: format!("token endpoint refused the credentials ({status})"),
        });
    }
    response.json::<Value>().await.map_err(|e| MarketplaceError::BadResponse {
        account: account.clone(),
        operation,
        message: format!("token response: {}", describe(&e.without_url())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// Hands out `token-1`, `token-2`, … valid for `lifetime`, slowly enough for callers to
    /// overlap.
    struct Counting {
        fetches: AtomicU32,
        lifetime: Duration,
    }

    #[async_trait]
    impl TokenSource for Counting {
        async fn fetch(&self, _deadline: Deadline) -> Result<AccessToken, MarketplaceError> {
            let n = self.fetches.fetch_add(1, Ordering::SeqCst) + 1;
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok(AccessToken::new(format!("token-{n}"), self.lifetime))
        }
    }

    fn cache(lifetime: Duration) -> (Arc<Counting>, TokenCache) {
        let source = Arc::new(Counting { fetches: AtomicU32::new(0), lifetime });
        (source.clone(), TokenCache::new(source))
    }

    fn deadline() -> Deadline {
        Deadline::after(Duration::from_secs(600))
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_fetch_once() {
        let (source, cache) = cache(Duration::from_secs(3600));
        let (a, b, c) = tokio::join!(cache.get(deadline()), cache.get(deadline()), cache.get(deadline()));
        let tokens = [a.unwrap(), b.unwrap(), c.unwrap()];
        assert!(tokens.iter().all(|t| t.value() == "token-1"), "{tokens:?}");
        assert_eq!(source.fetches.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_token_is_renewed_before_it_expires() {
        let (source, cache) = cache(Duration::from_secs(3600));
        assert_eq!(cache.get(deadline()).await.unwrap().value(), "token-1");
        tokio::time::advance(Duration::from_secs(3600 - 61)).await;
        assert_eq!(cache.get(deadline()).await.unwrap().value(), "token-1", "still fresh");
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(cache.get(deadline()).await.unwrap().value(), "token-2", "renewed a minute early");
        assert_eq!(source.fetches.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn the_renewal_margin_is_configurable_and_at_most_half_the_lifetime() {
        let (_, ten_seconds) = cache(Duration::from_secs(100));
        let ten_seconds = ten_seconds.with_renewal_margin(Duration::from_secs(10));
        ten_seconds.get(deadline()).await.unwrap();
        tokio::time::advance(Duration::from_secs(85)).await;
        assert_eq!(ten_seconds.get(deadline()).await.unwrap().value(), "token-1");
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(ten_seconds.get(deadline()).await.unwrap().value(), "token-2");

        let (_, short_lived) = cache(Duration::from_secs(30));
        short_lived.get(deadline()).await.unwrap();
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(
            short_lived.get(deadline()).await.unwrap().value(),
            "token-1",
            "reused despite the margin"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_rejected_token_is_forgotten_but_a_renewed_one_kept() {
        let (source, cache) = cache(Duration::from_secs(3600));
        let first = cache.get(deadline()).await.unwrap();
        cache.forget(&first).await;
        let second = cache.get(deadline()).await.unwrap();
        assert_eq!(second.value(), "token-2");
        cache.forget(&first).await;
        assert_eq!(
            cache.get(deadline()).await.unwrap().value(),
            "token-2",
            "a stale rejection keeps the new one"
        );
        assert_eq!(source.fetches.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_token_never_shows_in_debug_output() {
        let token = AccessToken::new("Atza|secret", Duration::from_secs(60));
        assert!(!format!("{token:?}").contains("secret"));
    }
}
