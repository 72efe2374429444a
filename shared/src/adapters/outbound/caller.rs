//! [`ApiCaller`]: sends one account's requests to a marketplace API, paced at its usage plans,
//! with an access token, retried within the invocation's time.

use super::classify::{classify, is_token_rejection, transport_failure};
use super::request::{time_for_request, ApiRequest, ApiResponse};
use super::retry::{throttle_hint, x_ratelimit_headers, RateLimitHeaders, RetryPolicy};
use super::token::{AccessToken, TokenCache};
use crate::domain::AccountId;
use crate::ports::{CallPacer, MarketplaceError, Quota};
use crate::Deadline;
use reqwest::header::{HeaderName, HeaderValue, AUTHORIZATION};
use std::sync::Arc;
use std::time::Duration;

/// Time a request needs after waiting, for the deadline checks before a wait.
const MIN_REQUEST_TIME: Duration = Duration::from_secs(1);

/// How a request carries the access token.
#[derive(Debug, Clone)]
pub enum TokenPlacement {
    /// `Authorization: Bearer <token>` (JTL SCX).
    Bearer,
    /// The bare token in a header of its own (Amazon: `x-amz-access-token`).
    Header(HeaderName),
}

/// The usage plan a call of an operation is paced at; None: not paced.
pub type PacingPlan = Arc<dyn Fn(&str) -> Option<Quota> + Send + Sync>;

/// Where calls wait for their slot, and at which plan.
#[derive(Clone)]
pub struct Pacing {
    pub pacer: Arc<dyn CallPacer>,
    pub plan: PacingPlan,
}

pub struct ApiCaller {
    account: AccountId,
    http: reqwest::Client,
    tokens: TokenCache,
    token_placement: TokenPlacement,
    pacing: Pacing,
    request_timeout: Duration,
    rate_limit_headers: RateLimitHeaders,
    policy: RetryPolicy,
}

impl ApiCaller {
    pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

    /// A caller with the default request timeout and retry policy, reading `X-RateLimit-*`
    /// headers.
    pub fn new(
        account: AccountId,
        http: reqwest::Client,
        tokens: TokenCache,
        token_placement: TokenPlacement,
        pacing: Pacing,
    ) -> Self {
        Self {
            account,
            http,
            tokens,
            token_placement,
            pacing,
            request_timeout: Self::DEFAULT_REQUEST_TIMEOUT,
            rate_limit_headers: x_ratelimit_headers,
            policy: RetryPolicy::default(),
        }
    }

    /// The longest one request may take; a slow marketplace is retried within the deadline.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// How this marketplace reports its rate limits.
    pub fn with_rate_limit_headers(mut self, read: RateLimitHeaders) -> Self {
        self.rate_limit_headers = read;
        self
    }

    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    pub fn account(&self) -> &AccountId {
        &self.account
    }

    /// Sends `request`, every attempt paced (see [`Self::pace`]). Throttling (waiting as the
    /// answer asks), server errors, timeouts, unreadable answers and a rejected token (after
    /// fetching a new one) are retried while attempts remain and the deadline allows the wait;
    /// then the last outcome is returned. See [`classify`] for what comes back.
    pub async fn send(
        &self,
        request: &ApiRequest,
        deadline: Deadline,
    ) -> Result<ApiResponse, MarketplaceError> {
        let operation = request.operation;
        let mut attempt = 0;
        let mut token_rejections = 0;
        loop {
            attempt += 1;
            self.pace(operation, deadline).await?;
            let result = self.attempt(request, deadline).await;
            let wait = match &result {
                Ok(response) if is_token_rejection(response.status) => {
                    token_rejections += 1;
                    if token_rejections > self.policy.max_token_renewals {
                        return Err(MarketplaceError::Credentials {
                            account: self.account.clone(),
                            message: format!(
                                "the marketplace rejected {token_rejections} fresh access tokens for {operation}"
                            ),
                        });
                    }
                    Duration::ZERO
                }
                Err(MarketplaceError::Throttled { retry_after, .. }) => *retry_after,
                Err(MarketplaceError::Unavailable { .. } | MarketplaceError::BadResponse { .. }) => {
                    self.policy.backoff(attempt)
                }
                _ => return result,
            };
            if attempt >= self.policy.max_attempts || !deadline.allows_wait(wait + MIN_REQUEST_TIME) {
                return result;
            }
            let wait_ms = wait.as_millis() as u64;
            match &result {
                Ok(response) => {
                    tracing::warn!(account = %self.account, operation, attempt, status = response.status.as_u16(), "the marketplace rejected the access token; retrying with a new one")
                }
                // The errors' messages carry statuses and error codes, no order data.
                Err(e) => {
                    tracing::warn!(account = %self.account, operation, attempt, wait_ms, error = %e, "marketplace call failed; retrying")
                }
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// Waits for this account's next slot of `operation` under its plan, shared through the
    /// pacer with every other invocation. When the slot comes later than the deadline allows,
    /// the call is not made: `Throttled` with the wait, for the caller to try again then. The
    /// slot stays taken either way.
    async fn pace(&self, operation: &'static str, deadline: Deadline) -> Result<(), MarketplaceError> {
        let Some(quota) = (self.pacing.plan)(operation) else {
            return Ok(());
        };
        let wait = self.pacing.pacer.reserve(&self.account, operation, quota).await.map_err(|e| {
            MarketplaceError::Unavailable {
                account: self.account.clone(),
                operation,
                message: format!("call pacing: {e}"),
            }
        })?;
        if wait.is_zero() {
            return Ok(());
        }
        let wait_ms = wait.as_millis() as u64;
        if !deadline.allows_wait(wait + MIN_REQUEST_TIME) {
            tracing::info!(account = %self.account, operation, wait_ms, "the usage plan allows the call only after the deadline; not sent");
            return Err(MarketplaceError::Throttled {
                account: self.account.clone(),
                operation,
                retry_after: wait,
            });
        }
        tracing::debug!(account = %self.account, operation, wait_ms, "pacing the call");
        tokio::time::sleep(wait).await;
        Ok(())
    }

    /// One request with the current token; a token the marketplace rejects (or that can't be
    /// sent) is forgotten, so the next attempt fetches a new one.
    async fn attempt(
        &self,
        request: &ApiRequest,
        deadline: Deadline,
    ) -> Result<ApiResponse, MarketplaceError> {
        let token = self.tokens.get(deadline).await?;
        let token_header = match self.token_header(request.operation, &token) {
            Ok(token_header) => token_header,
            Err(e) => {
                self.tokens.forget(&token).await;
                return Err(e);
            }
        };
        let result = self.send_once(request, token_header, deadline).await;
        if matches!(&result, Ok(response) if is_token_rejection(response.status)) {
            self.tokens.forget(&token).await;
        }
        result
    }

    async fn send_once(
        &self,
        request: &ApiRequest,
        (name, value): (HeaderName, HeaderValue),
        deadline: Deadline,
    ) -> Result<ApiResponse, MarketplaceError> {
        let operation = request.operation;
        let timeout = time_for_request(deadline, self.request_timeout);
        if timeout.is_zero() {
            return Err(MarketplaceError::Unavailable {
                account: self.account.clone(),
                operation,
                message: "no invocation time left for the request".into(),
            });
        }
        let response = request
            .build(&self.http)
            .header(name, value)
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| transport_failure(&self.account, operation, e))?;
        let status = response.status();
        let rate_limit = (self.rate_limit_headers)(response.headers());
        let throttle_wait = self.policy.throttle_wait(throttle_hint(response.headers(), rate_limit));
        let body = response.text().await.map_err(|e| transport_failure(&self.account, operation, e))?;
        classify(&self.account, operation, status, &body, throttle_wait)
            .map(|response| ApiResponse { rate_limit, ..response })
    }

    fn token_header(
        &self,
        operation: &'static str,
        token: &AccessToken,
    ) -> Result<(HeaderName, HeaderValue), MarketplaceError> {
        let (name, value) = match &self.token_placement {
            TokenPlacement::Bearer => (AUTHORIZATION, format!("Bearer {}", token.value())),
            TokenPlacement::Header(name) => (name.clone(), token.value().to_string()),
        };
        let mut value = HeaderValue::try_from(value).map_err(|_| MarketplaceError::BadResponse {
            account: self.account.clone(),
            operation,
            message: "the access token is not a valid header value".into(),
        })?;
        // Kept out of debug output and HTTP/2 header compression tables.
        value.set_sensitive(true);
        Ok((name, value))
    }
}
