//! The embedded DynamoDB-compatible store of the local run: dynoxide (SQLite) served on a
//! loopback port, so the same DynamoDB adapter talks to it through `endpoint_url`.

use anyhow::{Context, Result};
use aws_sdk_dynamodb::config::{Credentials, Region};
use orderbridge::adapters::dynamodb::{schema, DynamoStore};
use std::path::Path;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub struct EmbeddedStore {
    pub endpoint_url: String,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<Result<(), String>>>,
}

impl EmbeddedStore {
    /// Serves a database in memory (`None`) or in a file that persists across runs.
    pub async fn start(path: Option<&Path>) -> Result<Self> {
        let db = match path {
            Some(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
                }
                dynoxide::Database::new(&path.to_string_lossy())
                    .with_context(|| format!("opening embedded store {}", path.display()))?
            }
            None => dynoxide::Database::memory().context("creating in-memory store")?,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let endpoint_url = format!("http://{}", listener.local_addr()?);
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(dynoxide::server::serve_with_shutdown(listener, db, async {
            let _ = stopped.await;
        }));
        Ok(Self { endpoint_url, stop: Some(stop), server: Some(server) })
    }

    /// A DynamoDB client for this store (any credentials are accepted locally).
    pub async fn client(&self) -> aws_sdk_dynamodb::Client {
        local_dynamodb_client(&self.endpoint_url).await
    }

    /// The orders table in this store, created if missing.
    pub async fn orders_table(&self, table: &str) -> Result<DynamoStore> {
        let client = self.client().await;
        schema::create_table_if_missing(&client, table).await.map_err(anyhow::Error::msg)?;
        Ok(DynamoStore::new(client, table))
    }

    /// Stops serving and waits until the database is closed (and a file store flushed).
    pub async fn stop(mut self) {
        self.shutdown().await;
    }

    async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

impl Drop for EmbeddedStore {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A DynamoDB client for a local endpoint (embedded store or moto) with static test
/// credentials, so no AWS account or credential chain is consulted.
pub async fn local_dynamodb_client(endpoint_url: &str) -> aws_sdk_dynamodb::Client {
    let sdk = local_sdk_config(endpoint_url).await;
    aws_sdk_dynamodb::Client::new(&sdk)
}

pub async fn local_sdk_config(endpoint_url: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint_url)
        .region(Region::new("eu-central-1"))
        .credentials_provider(Credentials::new("local", "local", None, None, "orderbridge-local"))
        .load()
        .await
}
