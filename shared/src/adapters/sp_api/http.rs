//! The HTTP side of the SP-API client: access tokens, pacing at the account's usage plans,
//! retries with backoff and jitter within the invocation's time, and the mapping of HTTP
//! failures to marketplace errors.

use super::lwa::{AccessToken, LwaCredentials, TokenResponse};
use super::quotas;
use crate::adapters::secrets::SecretSource;
use crate::domain::account::AmazonSettings;
use crate::domain::AccountId;
use crate::ports::{CallPacer, MarketplaceError};
use crate::Deadline;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

pub struct SpApiClient {
    pub(super) account: AccountId,
    pub(super) settings: AmazonSettings,
    http: reqwest::Client,
    secrets: Arc<dyn SecretSource>,
    request_timeout: Duration,
    pacer: Arc<dyn CallPacer>,
    token: Mutex<Option<AccessToken>>,
    grantless_token: Mutex<Option<AccessToken>>,
}

/// Which access token an operation needs: the seller's (refresh-token grant), or a grantless
/// one for the application (client-credentials grant with a scope), as the Notifications API's
/// destination operations require.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TokenKind {
    Seller,
    Grantless(&'static str),
}

/// A successful response: status and parsed JSON body (Null for an empty body).
pub(super) struct ApiResponse {
    pub status: StatusCode,
    pub body: Value,
}

const MAX_ATTEMPTS: u32 = 6;
/// How often one call fetches a new token after the marketplace refused the current one.
const MAX_TOKEN_RENEWALS: u32 = 3;
const BASE_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Time a request needs after waiting, for the deadline checks before a wait.
const MIN_REQUEST_TIME: Duration = Duration::from_secs(1);

impl SpApiClient {
    pub fn new(
        account: AccountId,
        settings: AmazonSettings,
        http: reqwest::Client,
        secrets: Arc<dyn SecretSource>,
        request_timeout: Duration,
        pacer: Arc<dyn CallPacer>,
    ) -> Self {
        Self {
            account,
            settings,
            http,
            secrets,
            request_timeout,
            pacer,
            token: Mutex::new(None),
            grantless_token: Mutex::new(None),
        }
    }

    async fn access_token(
        &self,
        operation: &'static str,
        kind: TokenKind,
    ) -> Result<String, MarketplaceError> {
        let mut cached = match kind {
            TokenKind::Seller => self.token.lock().await,
            TokenKind::Grantless(_) => self.grantless_token.lock().await,
        };
        if let Some(token) = cached.as_ref().filter(|t| t.is_fresh()) {
            return Ok(token.value.clone());
        }
        let secret = self.secrets.secret(&self.settings.credentials_secret).await.map_err(|e| {
            MarketplaceError::Credentials { account: self.account.clone(), message: e.to_string() }
        })?;
        let credentials: LwaCredentials =
            serde_json::from_str(&secret).map_err(|_| MarketplaceError::Credentials {
                account: self.account.clone(),
                message: format!(
                    "secret {:?} is not JSON with client_id, client_secret and refresh_token",
                    self.settings.credentials_secret
                ),
            })?;
        let form: Vec<(&str, &str)> = match kind {
            TokenKind::Seller => vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", credentials.refresh_token.as_str()),
                ("client_id", credentials.client_id.as_str()),
                ("client_secret", credentials.client_secret.as_str()),
            ],
            TokenKind::Grantless(scope) => vec![
                ("grant_type", "client_credentials"),
                ("scope", scope),
                ("client_id", credentials.client_id.as_str()),
                ("client_secret", credentials.client_secret.as_str()),
            ],
        };
        let response = self
            .http
            .post(&self.settings.token_url)
            .form(&form)
            .send()
            .await
            .map_err(|e| self.unavailable(operation, e))?;
        let status = response.status();
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            return Err(MarketplaceError::Unavailable {
                account: self.account.clone(),
                operation,
                message: format!("token endpoint answered {status}"),
            });
        }
        if !status.is_success() {
            return Err(MarketplaceError::Credentials {
                account: self.account.clone(),
                message: format!("token endpoint refused the refresh token ({status})"),
            });
        }
        let token: TokenResponse = response.json().await.map_err(|e| MarketplaceError::BadResponse {
            account: self.account.clone(),
            operation,
            message: format!("token response: {e}"),
        })?;
        let token = AccessToken::from_response(token);
        *cached = Some(token.clone());
        Ok(token.value)
    }

    async fn forget_token(&self, kind: TokenKind) {
        match kind {
            TokenKind::Seller => *self.token.lock().await = None,
            TokenKind::Grantless(_) => *self.grantless_token.lock().await = None,
        }
    }

    fn unavailable(&self, operation: &'static str, error: reqwest::Error) -> MarketplaceError {
        // reqwest's message can include the URL but never headers or bodies: no secrets in it.
        MarketplaceError::Unavailable {
            account: self.account.clone(),
            operation,
            message: describe(&error.without_url()),
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

    /// Waits for this account's next slot of `operation` under its usage plan (see
    /// [`quotas`]), shared through the pacer with every other invocation. When the slot comes
    /// later than the deadline allows, the call is not made: `Throttled` with the wait, for the
    /// caller to try again then. The slot stays taken either way.
    async fn pace(&self, operation: &'static str, deadline: Deadline) -> Result<(), MarketplaceError> {
        let Some(quota) = quotas::pacing_plan(&self.settings, operation) else {
            debug_assert!(false, "no usage plan for SP-API operation {operation}");
            tracing::warn!(account = %self.account, operation, "no usage plan known; call not paced");
            return Ok(());
        };
        let wait = self.pacer.reserve(&self.account, operation, quota).await.map_err(|e| {
            MarketplaceError::Unavailable {
                account: self.account.clone(),
                operation,
                message: format!("call pacing: {e}"),
            }
        })?;
        if wait.is_zero() {
            return Ok(());
        }
        if !deadline.allows_wait(wait + MIN_REQUEST_TIME) {
            tracing::info!(account = %self.account, operation, wait_ms = wait.as_millis() as u64, "the usage plan allows the call only after the deadline; not sent");
            return Err(MarketplaceError::Throttled {
                account: self.account.clone(),
                operation,
                retry_after: wait,
            });
        }
        tracing::debug!(account = %self.account, operation, wait_ms = wait.as_millis() as u64, "pacing the call");
        tokio::time::sleep(wait).await;
        Ok(())
    }

    /// Sends a request at the account's usage plan (see [`Self::pace`]), retrying throttling
    /// (honouring `Retry-After` and `x-amzn-RateLimit-Limit`), server errors, timeouts and an
    /// expired token, as long as the deadline allows the wait; every attempt is paced. Other
    /// client errors come back as `Refused`; 404 as a response with status NOT_FOUND for the
    /// caller to interpret.
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
        let mut attempt = 0;
        let mut token_rejections = 0;
        loop {
            attempt += 1;
            self.pace(operation, deadline).await?;
            let result =
                self.send_once(kind, operation, method.clone(), url.clone(), query, body, deadline).await;
            let wait = match &result {
                Ok(response) if is_token_rejection(response.status) => {
                    token_rejections += 1;
                    if token_rejections > MAX_TOKEN_RENEWALS {
                        return Err(MarketplaceError::Credentials {
                            account: self.account.clone(),
                            message: format!(
                                "the marketplace rejected {token_rejections} fresh access tokens for {operation}"
                            ),
                        });
                    }
                    // Expired or revoked before we expected: fetch a new one and try again.
                    self.forget_token(kind).await;
                    Duration::ZERO
                }
                Err(MarketplaceError::Throttled { retry_after, .. }) => *retry_after,
                Err(e @ (MarketplaceError::Unavailable { .. } | MarketplaceError::BadResponse { .. })) => {
                    tracing::debug!(account = %self.account, operation, error = %e, "retrying");
                    backoff(attempt)
                }
                _ => return result,
            };
            if attempt >= MAX_ATTEMPTS || !deadline.allows_wait(wait + MIN_REQUEST_TIME) {
                return result;
            }
            tracing::warn!(account = %self.account, operation, attempt, wait_ms = wait.as_millis() as u64, "marketplace call failed; retrying");
            tokio::time::sleep(wait).await;
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn send_once(
        &self,
        kind: TokenKind,
        operation: &'static str,
        method: Method,
        url: reqwest::Url,
        query: &[(&str, String)],
        body: Option<&Value>,
        deadline: Deadline,
    ) -> Result<ApiResponse, MarketplaceError> {
        let token = self.access_token(operation, kind).await?;
        let timeout = deadline.remaining().saturating_sub(Deadline::SAFETY_MARGIN).min(self.request_timeout);
        if timeout.is_zero() {
            return Err(MarketplaceError::Unavailable {
                account: self.account.clone(),
                operation,
                message: "no invocation time left for the request".into(),
            });
        }
        let mut request = self
            .http
            .request(method, url)
            .query(query)
            .header("x-amz-access-token", token)
            .header("accept", "application/json")
            .timeout(timeout);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| self.unavailable(operation, e))?;
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let text = response.text().await.map_err(|e| self.unavailable(operation, e))?;
        let parsed =
            if text.trim().is_empty() { Ok(Value::Null) } else { serde_json::from_str::<Value>(&text) };
        match status {
            s if s.is_success() => {
                let body = parsed.map_err(|e| MarketplaceError::BadResponse {
                    account: self.account.clone(),
                    operation,
                    message: format!("body is not valid JSON: {e}"),
                })?;
                Ok(ApiResponse { status, body })
            }
            StatusCode::TOO_MANY_REQUESTS => Err(MarketplaceError::Throttled {
                account: self.account.clone(),
                operation,
                retry_after: retry_after
                    .unwrap_or(BASE_BACKOFF)
                    .clamp(Duration::from_millis(100), MAX_BACKOFF),
            }),
            // For the caller to interpret: an unknown resource, an existing one.
            s if s == StatusCode::NOT_FOUND || s == StatusCode::CONFLICT || is_token_rejection(s) => {
                Ok(ApiResponse { status, body: Value::Null })
            }
            s if s.is_server_error() || s == StatusCode::REQUEST_TIMEOUT => {
                Err(MarketplaceError::Unavailable {
                    account: self.account.clone(),
                    operation,
                    message: format!("HTTP {s}"),
                })
            }
            s => Err(MarketplaceError::Refused {
                account: self.account.clone(),
                operation,
                message: format!("HTTP {s}: {}", error_messages(parsed.ok())),
            }),
        }
    }
}

/// The error and its causes ("error sending request: connection reset by peer").
fn describe(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn is_token_rejection(status: StatusCode) -> bool {
    status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN
}

/// The SP-API error list as one line: codes and messages only (they carry no buyer data).
fn error_messages(body: Option<Value>) -> String {
    let Some(errors) = body.as_ref().and_then(|b| b.get("errors")).and_then(Value::as_array) else {
        return "no error details".into();
    };
    errors
        .iter()
        .map(|e| {
            let code = e.get("code").and_then(Value::as_str).unwrap_or("?");
            let message: String =
                e.get("message").and_then(Value::as_str).unwrap_or("").chars().take(200).collect();
            format!("{code}: {message}")
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// How long to wait after a 429: `Retry-After` seconds when given, else one request's worth of
/// the rate in `x-amzn-RateLimit-Limit` (requests per second).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(seconds) = header("retry-after").and_then(|v| v.parse::<u64>().ok()) {
        return Some(Duration::from_secs(seconds));
    }
    let rate = header("x-amzn-ratelimit-limit").and_then(|v| v.parse::<f64>().ok())?;
    (rate > 0.0)
        .then(|| Duration::from_secs_f64((1.0 / rate).min(MAX_BACKOFF.as_secs_f64())))
        .map(|d| d + jitter(d / 4))
}

/// Exponential backoff with full jitter.
fn backoff(attempt: u32) -> Duration {
    let ceiling = BASE_BACKOFF.saturating_mul(2u32.saturating_pow(attempt.min(10))).min(MAX_BACKOFF);
    ceiling / 2 + jitter(ceiling / 2)
}

/// A random duration up to `max`, without a random-number dependency: std's per-process
/// random hasher keys are enough to spread retries apart.
fn jitter(max: Duration) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos(),
    );
    let fraction = (hasher.finish() % 1000) as u32;
    max * fraction / 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_header_wins_over_rate_limit() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-amzn-RateLimit-Limit", "0.5".parse().unwrap());
        let from_rate = retry_after(&headers).unwrap();
        assert!(from_rate >= Duration::from_secs(2) && from_rate <= Duration::from_millis(2500));
        headers.insert("Retry-After", "7".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(backoff(1) <= Duration::from_millis(500));
        assert!(backoff(20) <= MAX_BACKOFF);
        assert!(backoff(20) >= MAX_BACKOFF / 2);
    }
}
