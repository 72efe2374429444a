//! Login with Amazon: exchanges the account's refresh token for a short-lived access token.

use serde::Deserialize;
use std::time::Duration;
use tokio::time::Instant;

/// The secret stored in Secrets Manager for an Amazon account.
#[derive(Deserialize)]
pub struct LwaCredentials {
    pub client_id: String,
    pub client_secret: String,
    pub refresh_token: String,
}

impl std::fmt::Debug for LwaCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LwaCredentials { <redacted> }")
    }
}

#[derive(Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub expires_in: u64,
}

#[derive(Clone)]
pub struct AccessToken {
    pub value: String,
    /// Renewed a minute early so a request never starts with a token about to expire.
    pub renew_at: Instant,
}

impl AccessToken {
    pub fn from_response(response: TokenResponse) -> Self {
        let lifetime = Duration::from_secs(response.expires_in);
        Self {
            value: response.access_token,
            renew_at: Instant::now() + lifetime.saturating_sub(Duration::from_secs(60)),
        }
    }

    pub fn is_fresh(&self) -> bool {
        Instant::now() < self.renew_at
    }
}
