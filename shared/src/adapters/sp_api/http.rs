//! The HTTP side of the SP-API client, on the marketplace-neutral [`outbound`] layer. What is
//! Amazon's here: Login with Amazon tokens sent as `x-amz-access-token`, rate limits reported
//! as `x-amzn-RateLimit-Limit`, and the usage plans of [`quotas`].

use super::lwa::{Grant, LwaTokens};
use super::quotas;
use crate::adapters::outbound::{
    ApiCaller, ApiRequest, Connection, Pacing, PacingPlan, RateLimit, TokenCache, TokenPlacement,
};
use crate::domain::account::AmazonSettings;
use crate::domain::AccountId;
use crate::ports::MarketplaceError;
use crate::Deadline;
use reqwest::header::{HeaderMap, HeaderName};
use reqwest::Method;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

pub(super) use crate::adapters::outbound::ApiResponse;

/// The scope of the only grantless operations Orderbridge calls: the Notifications API's
/// destination operations.
const GRANTLESS_SCOPE: &str = "sellingpartnerapi::notifications";

pub struct SpApiClient {
    pub(super) account: AccountId,
    pub(super) settings: AmazonSettings,
    seller: ApiCaller,
    grantless: ApiCaller,
}

/// Which access token an operation needs: the seller's (refresh-token grant), or a grantless
/// one for the application (client-credentials grant), as the Notifications API's destination
/// operations require.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TokenKind {
    Seller,
    Grantless,
}

impl SpApiClient {
    pub fn new(account: AccountId, settings: AmazonSettings, connection: &Connection) -> Self {
        let Connection { http, secrets, timeout: request_timeout, pacer } = connection.clone();
        let pacing = Pacing { pacer, plan: pacing_plan(&account, &settings) };
        let caller = |grant: Grant| {
            let tokens = LwaTokens {
                account: account.clone(),
                settings: settings.clone(),
                grant,
                http: http.clone(),
                secrets: secrets.clone(),
                request_timeout,
            };
            ApiCaller::new(
                account.clone(),
                http.clone(),
                TokenCache::new(Arc::new(tokens)),
                TokenPlacement::Header(HeaderName::from_static("x-amz-access-token")),
                pacing.clone(),
            )
            .with_request_timeout(request_timeout)
            .with_rate_limit_headers(amzn_rate_limit)
        };
        Self {
            seller: caller(Grant::Seller),
            grantless: caller(Grant::Grantless(GRANTLESS_SCOPE)),
            account,
            settings,
        }
    }

    pub(super) fn url(&self, segments: &[&str]) -> Result<reqwest::Url, MarketplaceError> {
        let mut url =
            reqwest::Url::parse(&self.settings.api_base_url).map_err(|e| MarketplaceError::Credentials {
                account: self.account.clone(),
                message: format!("api_base_url: {e}"),
            })?;
        url.path_segments_mut()
            .map_err(|_| MarketplaceError::Credentials {
                account: self.account.clone(),
                message: "api_base_url cannot take a path".into(),
            })?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// Sends `request` with the seller's token; see [`ApiCaller::send`] for pacing, retries
    /// and what comes back.
    pub(super) async fn call(
        &self,
        operation: &'static str,
        method: Method,
        url: reqwest::Url,
        query: &[(&str, String)],
        body: Option<&Value>,
        deadline: Deadline,
    ) -> Result<ApiResponse, MarketplaceError> {
        self.call_as(TokenKind::Seller, operation, method, url, query, body, deadline).await
    }

    /// [`Self::call`] with the given kind of access token.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn call_as(
        &self,
        kind: TokenKind,
        operation: &'static str,
        method: Method,
        url: reqwest::Url,
        query: &[(&str, String)],
        body: Option<&Value>,
        deadline: Deadline,
    ) -> Result<ApiResponse, MarketplaceError> {
        let mut request = ApiRequest::new(operation, method, url);
        request.query = query.iter().map(|(name, value)| (name.to_string(), value.clone())).collect();
        if let Some(body) = body {
            request = request.json(body.clone());
        }
        self.send(kind, &request, deadline).await
    }

    /// Sends `request` with the given kind of access token.
    pub(super) async fn send(
        &self,
        kind: TokenKind,
        request: &ApiRequest,
        deadline: Deadline,
    ) -> Result<ApiResponse, MarketplaceError> {
        let caller = match kind {
            TokenKind::Seller => &self.seller,
            TokenKind::Grantless => &self.grantless,
        };
        caller.send(request, deadline).await
    }
}

/// Paces every call at the account's usage plan of its operation (see [`quotas`]).
fn pacing_plan(account: &AccountId, settings: &AmazonSettings) -> PacingPlan {
    let (account, settings) = (account.clone(), settings.clone());
    Arc::new(move |operation| {
        let plan = quotas::pacing_plan(&settings, operation);
        if plan.is_none() {
            debug_assert!(false, "no usage plan for SP-API operation {operation}");
            tracing::warn!(account = %account, operation, "no usage plan known; call not paced");
        }
        plan
    })
}

/// Amazon's `x-amzn-RateLimit-Limit`: the operation's rate in requests per second, so a
/// throttled call waits for one request's worth of it.
fn amzn_rate_limit(headers: &HeaderMap) -> Option<RateLimit> {
    let rate = headers.get("x-amzn-ratelimit-limit")?.to_str().ok()?.trim().parse::<f64>().ok()?;
    (rate.is_finite() && rate > 0.0).then_some(RateLimit {
        limit: rate,
        remaining: None,
        interval: Duration::from_secs(1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::outbound;

    #[test]
    fn a_throttled_call_waits_for_one_request_at_amazons_rate_unless_told_otherwise() {
        let mut headers = HeaderMap::new();
        headers.insert("x-amzn-RateLimit-Limit", "0.5".parse().unwrap());
        let limit = amzn_rate_limit(&headers);
        assert_eq!(limit, Some(RateLimit { limit: 0.5, remaining: None, interval: Duration::from_secs(1) }));
        let from_rate = outbound::throttle_hint(&headers, limit).unwrap();
        assert!(from_rate >= Duration::from_secs(2) && from_rate <= Duration::from_millis(2500));
        headers.insert("Retry-After", "7".parse().unwrap());
        assert_eq!(outbound::throttle_hint(&headers, limit), Some(Duration::from_secs(7)));
    }

    #[test]
    fn a_rate_of_zero_or_garbage_says_nothing() {
        for value in ["0", "-1", "fast", "NaN"] {
            let mut headers = HeaderMap::new();
            headers.insert("x-amzn-RateLimit-Limit", value.parse().unwrap());
            assert_eq!(amzn_rate_limit(&headers), None, "{value}");
        }
    }
}
