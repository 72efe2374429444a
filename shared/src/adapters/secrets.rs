//! Where marketplace credentials come from: AWS Secrets Manager in production, a map in memory
//! for the local run. Secret values are never logged or put into error messages.

use async_trait::async_trait;
use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_secretsmanager::Client;
use std::collections::HashMap;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("secret {secret_id:?} not found")]
    NotFound { secret_id: String },
    #[error("reading secret {secret_id:?} failed: {message}")]
    Unavailable { secret_id: String, message: String },
}

#[async_trait]
pub trait SecretSource: Send + Sync {
    async fn secret(&self, secret_id: &str) -> Result<String, SecretError>;
}

pub struct SecretsManager {
    client: Client,
}

impl SecretsManager {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl SecretSource for SecretsManager {
    async fn secret(&self, secret_id: &str) -> Result<String, SecretError> {
        let out = self.client.get_secret_value().secret_id(secret_id).send().await.map_err(|e| {
            if e.code() == Some("ResourceNotFoundException") {
                SecretError::NotFound { secret_id: secret_id.to_string() }
            } else {
                SecretError::Unavailable {
                    secret_id: secret_id.to_string(),
                    message: DisplayErrorContext(&e).to_string(),
                }
            }
        })?;
        out.secret_string.ok_or_else(|| SecretError::NotFound { secret_id: secret_id.to_string() })
    }
}

/// Secrets held in memory, for the local run where there is no AWS account.
#[derive(Default)]
pub struct InMemorySecrets {
    values: std::sync::Mutex<HashMap<String, String>>,
}

impl InMemorySecrets {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&self, secret_id: impl Into<String>, value: impl Into<String>) {
        self.values.lock().expect("secrets lock").insert(secret_id.into(), value.into());
    }
}

#[async_trait]
impl SecretSource for InMemorySecrets {
    async fn secret(&self, secret_id: &str) -> Result<String, SecretError> {
        self.values
            .lock()
            .expect("secrets lock")
            .get(secret_id)
            .cloned()
            .ok_or_else(|| SecretError::NotFound { secret_id: secret_id.to_string() })
    }
}
