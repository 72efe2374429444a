//! The HTTP side of the SCX client, on the marketplace-neutral [`outbound`] layer. What is
//! JTL's here: session tokens from `POST /v1/auth` sent as `Authorization: Bearer`, rate limits
//! reported as `X-RateLimit-Limit/-Remaining/-Interval-Length-Seconds`, and the pacing of
//! [`SELLER_ROUTE_QUOTA`].
//!
//! [`outbound`]: crate::adapters::outbound

use super::auth::{self, ScxTokens};
use crate::adapters::outbound::{
    x_ratelimit_headers, ApiCaller, ApiRequest, ApiResponse, Pacing, PacingPlan, TokenCache, TokenPlacement,
    TokenSource,
};
use crate::adapters::secrets::SecretSource;
use crate::domain::account::ScxSettings;
use crate::domain::AccountId;
use crate::ports::{CallPacer, MarketplaceError, Quota};
use crate::Deadline;
use std::sync::Arc;
use std::time::Duration;

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
    tokens: Arc<ScxTokens>,
}

impl ScxClient {
    pub fn new(
        account: AccountId,
        settings: ScxSettings,
        http: reqwest::Client,
        secrets: Arc<dyn SecretSource>,
        request_timeout: Duration,
        pacer: Arc<dyn CallPacer>,
    ) -> Self {
        let tokens = Arc::new(ScxTokens {
            account: account.clone(),
            settings: settings.clone(),
            http: http.clone(),
            secrets,
            request_timeout,
        });
        let caller = ApiCaller::new(
            account.clone(),
            http,
            TokenCache::new(tokens.clone()),
            TokenPlacement::Bearer,
            Pacing { pacer, plan: pacing_plan() },
        )
        .with_request_timeout(request_timeout)
        .with_rate_limit_headers(x_ratelimit_headers);
        Self { account, settings, caller, tokens }
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

/// Every seller route at [`SELLER_ROUTE_QUOTA`]; token calls are not seller routes and are
/// cached for an hour, so they are not paced.
fn pacing_plan() -> PacingPlan {
    Arc::new(|operation| (operation != auth::OPERATION).then_some(SELLER_ROUTE_QUOTA))
}
