//! SCX session tokens: the account's refresh token (from the secret store) exchanged at
//! `POST /v1/auth` for an `authToken` that lives `expiresIn` seconds (an hour).

use crate::adapters::outbound::{request_token, AccessToken, ApiRequest, TokenSource};
use crate::adapters::secrets::SecretSource;
use crate::domain::account::ScxSettings;
use crate::domain::AccountId;
use crate::ports::MarketplaceError;
use crate::Deadline;
use async_trait::async_trait;
use reqwest::Method;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

/// The name token calls have in errors and the pacing plan.
pub(super) const OPERATION: &str = "auth";

/// The secret stored for an SCX account.
#[derive(Deserialize)]
struct ScxCredentials {
    refresh_token: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthResponse {
    auth_token: String,
    expires_in: u64,
}

pub(super) struct ScxTokens {
    pub account: AccountId,
    pub settings: ScxSettings,
    pub http: reqwest::Client,
    pub secrets: Arc<dyn SecretSource>,
    pub request_timeout: Duration,
}

impl ScxTokens {
    async fn refresh_token(&self) -> Result<String, MarketplaceError> {
        let secret_id = &self.settings.credentials_secret;
        let secret = self.secrets.secret(secret_id).await.map_err(|e| MarketplaceError::Credentials {
            account: self.account.clone(),
            message: e.to_string(),
        })?;
        let credentials: ScxCredentials =
            serde_json::from_str(&secret).map_err(|_| MarketplaceError::Credentials {
                account: self.account.clone(),
                message: format!("secret {secret_id:?} is not JSON with refresh_token"),
            })?;
        Ok(credentials.refresh_token)
    }
}

#[async_trait]
impl TokenSource for ScxTokens {
    async fn fetch(&self, deadline: Deadline) -> Result<AccessToken, MarketplaceError> {
        let refresh_token = self.refresh_token().await?;
        let url = super::http::endpoint(&self.account, &self.settings, &["v1", "auth"])?;
        let request = ApiRequest::new(OPERATION, Method::POST, url).form([("refreshToken", refresh_token)]);
        let body = request_token(&self.http, &self.account, &request, self.request_timeout, deadline).await?;
        // The message names no values: the body holds the token.
        let token: AuthResponse =
            serde_json::from_value(body).map_err(|_| MarketplaceError::BadResponse {
                account: self.account.clone(),
                operation: OPERATION,
                message: "auth response lacks authToken or expiresIn".into(),
            })?;
        Ok(AccessToken::new(token.auth_token, Duration::from_secs(token.expires_in)))
    }
}
