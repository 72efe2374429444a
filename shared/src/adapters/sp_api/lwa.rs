//! Login with Amazon: exchanges the account's credentials for short-lived access tokens, the
//! seller's (refresh-token grant) or the application's grantless ones (client-credentials
//! grant with a scope).

use crate::adapters::outbound::{request_token, AccessToken, ApiRequest, TokenSource};
use crate::adapters::secrets::SecretSource;
use crate::domain::account::AmazonSettings;
use crate::domain::AccountId;
use crate::ports::MarketplaceError;
use crate::Deadline;
use async_trait::async_trait;
use reqwest::Method;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

/// The name token calls have in errors (they are not SP-API operations and are not paced).
const OPERATION: &str = "token";

/// The secret stored in Secrets Manager for an Amazon account.
#[derive(Deserialize)]
struct LwaCredentials {
    client_id: String,
    client_secret: String,
    refresh_token: String,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: u64,
}

/// Which access token: the seller's, or a grantless one for the application with a scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Grant {
    Seller,
    Grantless(&'static str),
}

/// Fetches one kind of access token for an account from Login with Amazon.
pub(super) struct LwaTokens {
    pub account: AccountId,
    pub settings: AmazonSettings,
    pub grant: Grant,
    pub http: reqwest::Client,
    pub secrets: Arc<dyn SecretSource>,
    pub request_timeout: Duration,
}

impl LwaTokens {
    async fn credentials(&self) -> Result<LwaCredentials, MarketplaceError> {
        let secret_id = &self.settings.credentials_secret;
        let secret = self.secrets.secret(secret_id).await.map_err(|e| MarketplaceError::Credentials {
            account: self.account.clone(),
            message: e.to_string(),
        })?;
        serde_json::from_str(&secret).map_err(|_| MarketplaceError::Credentials {
            account: self.account.clone(),
            message: format!(
                "secret {secret_id:?} is not JSON with client_id, client_secret and refresh_token"
            ),
        })
    }
}

#[async_trait]
impl TokenSource for LwaTokens {
    async fn fetch(&self, deadline: Deadline) -> Result<AccessToken, MarketplaceError> {
        let credentials = self.credentials().await?;
        let url =
            reqwest::Url::parse(&self.settings.token_url).map_err(|e| MarketplaceError::Credentials {
                account: self.account.clone(),
                message: format!("token_url: {e}"),
            })?;
        let client = [("client_id", credentials.client_id), ("client_secret", credentials.client_secret)];
        let grant = match self.grant {
            Grant::Seller => {
                [("grant_type", "refresh_token".into()), ("refresh_token", credentials.refresh_token)]
            }
            Grant::Grantless(scope) => [("grant_type", "client_credentials".into()), ("scope", scope.into())],
        };
        let request = ApiRequest::new(OPERATION, Method::POST, url).form(grant.into_iter().chain(client));
        let body = request_token(&self.http, &self.account, &request, self.request_timeout, deadline).await?;
        // The message names no values: the body holds the token.
        let token: TokenResponse =
            serde_json::from_value(body).map_err(|_| MarketplaceError::BadResponse {
                account: self.account.clone(),
                operation: OPERATION,
                message: "token response lacks access_token or expires_in".into(),
            })?;
        Ok(AccessToken::new(token.access_token, Duration::from_secs(token.expires_in)))
    }
}
