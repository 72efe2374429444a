//! What every marketplace connector keeps: one HTTP client (one connection pool, one TLS
//! stack), the secret source, the request timeout, the call pacer, and one client per account
//! for the life of the process (so warm Lambda invocations reuse its access tokens), built
//! again when the account's settings change.

use super::require_tls;
use crate::adapters::pacing::InMemoryPacer;
use crate::adapters::secrets::SecretSource;
use crate::domain::AccountId;
use crate::ports::{CallPacer, MarketplaceError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What a marketplace client is built from.
#[derive(Clone)]
pub struct Connection {
    pub http: reqwest::Client,
    pub secrets: Arc<dyn SecretSource>,
    /// Per-request timeout; a slow marketplace is retried within the invocation's time.
    pub timeout: Duration,
    pub pacer: Arc<dyn CallPacer>,
}

pub struct ClientPool<S, C> {
    connection: Connection,
    clients: Mutex<HashMap<AccountId, (S, Arc<C>)>>,
}

impl<S: Clone + PartialEq, C> ClientPool<S, C> {
    pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

    /// Paced in this process's memory until [`Self::pace_with`] says otherwise.
    pub fn new(secrets: Arc<dyn SecretSource>, timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("Orderbridge/", env!("CARGO_PKG_VERSION"), " (Language=Rust)"))
            .build()
            .expect("TLS backend initialises");
        let connection = Connection { http, secrets, timeout, pacer: Arc::new(InMemoryPacer::new()) };
        Self { connection, clients: Mutex::new(HashMap::new()) }
    }

    /// Paces every call through `pacer` (the table's, in Lambda, which every concurrent
    /// invocation shares); clients built before are dropped.
    pub fn pace_with(&mut self, pacer: Arc<dyn CallPacer>) {
        self.connection.pacer = pacer;
        self.clients.get_mut().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// The account's client, built by `build` unless one exists for the same settings. Every
    /// URL must use TLS (plain HTTP only for loopback sandboxes).
    pub fn client(
        &self,
        account: &AccountId,
        settings: &S,
        urls: &[&str],
        build: impl FnOnce(&Connection) -> C,
    ) -> Result<Arc<C>, MarketplaceError> {
        let mut clients = self.clients.lock().expect("client cache lock");
        if let Some((cached_settings, client)) = clients.get(account) {
            if cached_settings == settings {
                return Ok(client.clone());
            }
        }
        for url in urls {
            require_tls(account, url)?;
        }
        let client = Arc::new(build(&self.connection));
        clients.insert(account.clone(), (settings.clone(), client.clone()));
        Ok(client)
    }
}
