//! The HTTP side of the SCX client, on the marketplace-neutral [`outbound`] layer. What is
//! JTL's here: session tokens from `POST /v1/auth` sent as `Authorization: Bearer`, rate limits
//! reported as `X-RateLimit-Limit/-Remaining/-Interval-Length-Seconds`, and the pacing of
//! [`SELLER_ROUTE_QUOTA`].
//!
//! [`outbound`]: crate::adapters::outbound

use super::auth::{self, ScxTokens};
use crate::adapters::outbound::{
    is_token_rejection, x_ratelimit_headers, ApiCaller, ApiRequest, ApiResponse, Connection, Pacing,
    PacingPlan, RetryPolicy, TokenCache, TokenPlacement, TokenSource,
};
use crate::domain::account::ScxSettings;
use crate::domain::AccountId;
use crate::ports::{MarketplaceError, Quota};
use crate::Deadline;
use std::sync::Arc;

/// JTL publishes rate limits for the channel routes only, and "Default 10/60 s" for every route
/// not listed; the seller routes are not listed, so they are assumed to fall under the default:
/// 10 requests per 60 s per route pattern and account (an assumption, unpublished). Paced as
/// one request every 6 s without a burst, which never puts more than 10 requests into any
/// 60-second window, however JTL aligns its windows.
pub(super) const SELLER_ROUTE_QUOTA: Quota = Quota { rate_per_second: 10.0 / 60.0, burst: 1 };

pub struct ScxClient {
    pub(super) account: AccountId,
    pub(super) settings: ScxSettings,
    caller: ApiCaller,
    /// For the order calls, which JTL does not document as idempotent (every shipping notice
    /// becomes an event at the channel): never retried after an attempt that may have been
    /// carried out, which the shipment outbox settles instead.
    once: ApiCaller,
    tokens: Arc<ScxTokens>,
}

impl ScxClient {
    pub fn new(account: AccountId, settings: ScxSettings, connection: &Connection) -> Self {
        let Connection { http, secrets, timeout: request_timeout, pacer } = connection.clone();
        let tokens = Arc::new(ScxTokens {
            account: account.clone(),
            settings: settings.clone(),
            http: http.clone(),
            secrets,
            request_timeout,
        });
        let plan = pacing_plan(&settings);
        let caller = |policy: RetryPolicy| {
            ApiCaller::new(
                account.clone(),
                http.clone(),
                TokenCache::new(tokens.clone()),
                TokenPlacement::Bearer,
                Pacing { pacer: pacer.clone(), plan: plan.clone() },
            )
            .with_request_timeout(request_timeout)
            .with_rate_limit_headers(x_ratelimit_headers)
            .with_retry_policy(policy)
        };
        let once = caller(RetryPolicy { max_attempts: 1, ..RetryPolicy::default() });
        Self { caller: caller(RetryPolicy::default()), once, account, settings, tokens }
    }

    /// A new session token, straight from `POST /v1/auth`: proof that the credentials work.
    pub(super) async fn new_session(&self, deadline: Deadline) -> Result<(), MarketplaceError> {
        self.tokens.fetch(deadline).await.map(drop)
    }

    pub(super) fn url(&self, segments: &[&str]) -> Result<reqwest::Url, MarketplaceError> {
        endpoint(&self.account, &self.settings, segments)
    }

    /// Sends `request` with the session token; see [`ApiCaller::send`] for pacing, retries and
    /// what comes back.
    pub(super) async fn send(
        &self,
        request: &ApiRequest,
        deadline: Deadline,
    ) -> Result<ApiResponse, MarketplaceError> {
        self.caller.send(request, deadline).await
    }

    /// Sends `request` once: only a rejected token (the request was not carried out) is
    /// answered by sending it again with a new one.
    pub(super) async fn send_once(
        &self,
        request: &ApiRequest,
        deadline: Deadline,
    ) -> Result<ApiResponse, MarketplaceError> {
        let mut renewals = 0;
        loop {
            let response = self.once.send(request, deadline).await?;
            if !is_token_rejection(response.status) || renewals >= RetryPolicy::default().max_token_renewals {
                return Ok(response);
            }
            renewals += 1;
        }
    }
}

/// `{api_base_url}/{segments…}`.
pub(super) fn endpoint(
    account: &AccountId,
    settings: &ScxSettings,
    segments: &[&str],
) -> Result<reqwest::Url, MarketplaceError> {
    let invalid = |message: String| MarketplaceError::Credentials { account: account.clone(), message };
    let mut url =
        reqwest::Url::parse(&settings.api_base_url).map_err(|e| invalid(format!("api_base_url: {e}")))?;
    url.path_segments_mut()
        .map_err(|_| invalid("api_base_url cannot take a path".into()))?
        .pop_if_empty()
        .extend(segments);
    Ok(url)
}

/// Every seller route at [`SELLER_ROUTE_QUOTA`], or at the rate JTL granted the account;
/// token calls are not seller routes and are cached for an hour, so they are not paced.
fn pacing_plan(settings: &ScxSettings) -> PacingPlan {
    let quota = match settings.requests_per_minute {
        Some(per_minute) if per_minute > 0 => {
            Quota { rate_per_second: f64::from(per_minute) / 60.0, burst: 1 }
        }
        _ => SELLER_ROUTE_QUOTA,
    };
    Arc::new(move |operation| (operation != auth::OPERATION).then_some(quota))
}
