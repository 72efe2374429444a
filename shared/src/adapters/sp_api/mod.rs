//! Amazon Selling Partner API: Orders API 2026-01-01 (`searchOrders`, `getOrder`) to read,
//! Orders v0 `confirmShipment` to report shipments, Login with Amazon for access tokens.

mod http;
mod lwa;
mod notifications;
mod order_change;
mod orders;
mod position;
mod quotas;
mod shipment;

use crate::adapters::outbound::ClientPool;
use crate::adapters::secrets::SecretSource;
use crate::domain::account::AmazonSettings;
use crate::domain::{AccountSettings, MarketplaceAccount};
use crate::ports::{CallPacer, MarketplaceClient, MarketplaceConnector, MarketplaceError};
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;

pub use http::SpApiClient;
pub use order_change::order_change_notice;
pub use orders::parse_order;

/// Builds one SP-API client per account and keeps it (with its access token) for the life of the
/// process, so warm Lambda invocations reuse tokens until they expire. Every call is paced at
/// the account's usage plans through the connector's [`CallPacer`].
pub struct SpApiConnector {
    pool: ClientPool<AmazonSettings, SpApiClient>,
}

impl SpApiConnector {
    pub const REQUEST_TIMEOUT: Duration = ClientPool::<AmazonSettings, SpApiClient>::REQUEST_TIMEOUT;

    /// Paced in this process's memory; see [`Self::with_pacer`] for pacing shared between
    /// processes.
    pub fn new(secrets: Arc<dyn SecretSource>) -> Self {
        Self::with_request_timeout(secrets, Self::REQUEST_TIMEOUT)
    }

    /// Like [`Self::new`], with another per-request timeout.
    pub fn with_request_timeout(secrets: Arc<dyn SecretSource>, timeout: Duration) -> Self {
        Self { pool: ClientPool::new(secrets, timeout) }
    }

    /// Paces every call through `pacer` (the table's, in Lambda, which every concurrent
    /// invocation shares) instead of this process's memory.
    pub fn with_pacer(mut self, pacer: Arc<dyn CallPacer>) -> Self {
        self.pool.pace_with(pacer);
        self
    }
}

#[async_trait]
impl MarketplaceConnector for SpApiConnector {
    async fn connect(
        &self,
        account: &MarketplaceAccount,
    ) -> Result<Arc<dyn MarketplaceClient>, MarketplaceError> {
        let AccountSettings::Amazon(settings) = &account.settings else {
            return Err(MarketplaceError::Credentials {
                account: account.id.clone(),
                message: format!("is a {} account, not an Amazon one", account.marketplace()),
            });
        };
        let urls = [settings.api_base_url.as_str(), settings.token_url.as_str()];
        let client = self.pool.client(&account.id, settings, &urls, |connection| {
            SpApiClient::new(account.id.clone(), settings.clone(), connection)
        })?;
        Ok(client)
    }
}

/// Datasets requested with every order read: enough to store the order and, once released,
/// its payment and customer.
const INCLUDED_DATA: &str = "BUYER,RECIPIENT,PROCEEDS,FULFILLMENT,PAYMENT";
const PAGE_SIZE: &str = "100";
/// Start of a rejected order's raw JSON kept for the operator.
const RAW_EXCERPT_CHARS: usize = 2000;

mod client_impl {
    use super::position::{iso, AmazonPosition};
    use super::*;
    use crate::domain::{MarketplaceOrder, MarketplaceOrderId, Package, SalesOrder};
    use crate::ports::{AccessCheck, ChangeBatch, FeedPosition, RejectedOrder, Subscription};
    use crate::Deadline;
    use chrono::Utc;
    use reqwest::{Method, StatusCode};
    use serde_json::Value;

    impl SpApiClient {
        fn bad_response(&self, operation: &'static str, message: impl Into<String>) -> MarketplaceError {
            MarketplaceError::BadResponse {
                account: self.account.clone(),
                operation,
                message: message.into(),
            }
        }

        fn rejection(&self, raw: &Value, invalid: orders::Invalid) -> RejectedOrder {
            RejectedOrder {
                account_id: self.account.clone(),
                marketplace_order_id: invalid.order_id,
                reason: invalid.reason,
                raw_excerpt: crate::adapters::redact::redacted_excerpt(raw, RAW_EXCERPT_CHARS),
                rejected_at: Utc::now(),
                resolved_at: None,
            }
        }
    }

    #[async_trait]
    impl MarketplaceClient for SpApiClient {
        async fn fetch_changes(
            &self,
            position: Option<&FeedPosition>,
            deadline: Deadline,
        ) -> Result<ChangeBatch, MarketplaceError> {
            const OPERATION: &str = "searchOrders";
            let now = Utc::now();
            let current = AmazonPosition::decode(position, &self.settings, now)
                .map_err(|message| self.bad_response(OPERATION, message))?;
            let Some(window) = current.next_window(&self.settings, now) else {
                return Ok(ChangeBatch::polled(
                    vec![],
                    current.encode(),
                    false,
                    Some(current.imported_until),
                ));
            };
            let mut query = vec![
                ("lastUpdatedAfter", iso(window.start)),
                ("lastUpdatedBefore", iso(window.end)),
                ("marketplaceIds", self.settings.marketplace_ids.join(",")),
                ("includedData", INCLUDED_DATA.to_string()),
                ("maxResultsPerPage", PAGE_SIZE.to_string()),
            ];
            if let Some(token) = &window.token {
                query.push(("paginationToken", token.clone()));
            }
            let url = self.url(&["orders", "2026-01-01", "orders"])?;
            let response = self.call(OPERATION, Method::GET, url, &query, None, deadline).await?;
            if response.status != StatusCode::OK {
                return Err(self.bad_response(OPERATION, format!("unexpected HTTP {}", response.status)));
            }
            let Some(raw_orders) = response.body.get("orders").and_then(Value::as_array) else {
                return Err(self.bad_response(OPERATION, "response has no `orders` array"));
            };
            let next_token = match response.body.pointer("/pagination/nextToken") {
                None | Some(Value::Null) => None,
                Some(Value::String(token)) if !token.is_empty() => Some(token.clone()),
                Some(_) => return Err(self.bad_response(OPERATION, "pagination.nextToken is not a string")),
            };
            let mut read: Vec<Result<MarketplaceOrder, RejectedOrder>> = Vec::with_capacity(raw_orders.len());
            for raw in raw_orders {
                match orders::parse_order(raw) {
                    // The same order twice on a page (or across pages) is stored once anyway;
                    // keep the newest version within the batch.
                    Ok(order) => match read.iter_mut().flatten().find(|o| o.id == order.id) {
                        Some(seen) if seen.updated_at < order.updated_at => *seen = order,
                        Some(_) => {}
                        None => read.push(Ok(order)),
                    },
                    Err(invalid) => read.push(Err(self.rejection(raw, invalid))),
                }
            }
            let more = next_token.is_some();
            let next = current.after_page(&window, next_token);
            Ok(ChangeBatch::polled(read, next.encode(), more, Some(next.imported_until)))
        }

        async fn get_order(
            &self,
            id: &MarketplaceOrderId,
            deadline: Deadline,
        ) -> Result<Option<MarketplaceOrder>, MarketplaceError> {
            const OPERATION: &str = "getOrder";
            let url = self.url(&["orders", "2026-01-01", "orders", id.as_str()])?;
            let query = [("includedData", INCLUDED_DATA.to_string())];
            let response = self.call(OPERATION, Method::GET, url, &query, None, deadline).await?;
            if response.status == StatusCode::NOT_FOUND {
                return Ok(None);
            }
            let Some(raw) = response.body.get("order") else {
                return Err(self.bad_response(OPERATION, "response has no `order`"));
            };
            orders::parse_order(raw).map(Some).map_err(|invalid| MarketplaceError::InvalidOrder {
                account: self.account.clone(),
                order: id.to_string(),
                reason: invalid.reason,
            })
        }

        async fn confirm_shipment(
            &self,
            order: &SalesOrder,
            package: &Package,
            deadline: Deadline,
        ) -> Result<(), MarketplaceError> {
            const OPERATION: &str = "confirmShipment";
            let url = self.url(&[
                "orders",
                "v0",
                "orders",
                order.key.marketplace_order_id.as_str(),
                "shipmentConfirmation",
            ])?;
            let body = shipment::confirm_shipment_body(order, package);
            let response = self.call(OPERATION, Method::POST, url, &[], Some(&body), deadline).await?;
            match response.status {
                status if status.is_success() => Ok(()),
                StatusCode::NOT_FOUND => Err(MarketplaceError::Refused {
                    account: self.account.clone(),
                    operation: OPERATION,
                    message: format!(
                        "order {} is unknown to the marketplace",
                        order.key.marketplace_order_id
                    ),
                }),
                status => Err(MarketplaceError::Refused {
                    account: self.account.clone(),
                    operation: OPERATION,
                    message: format!("HTTP {status}"),
                }),
            }
        }

        async fn check_access(&self, deadline: Deadline) -> Result<AccessCheck, MarketplaceError> {
            let subscription = self.order_change_subscription(deadline).await?;
            Ok(AccessCheck { order_change_subscription: subscription.map(|s| s.subscription_id) })
        }

        async fn subscribe_order_changes(
            &self,
            destination: &str,
            deadline: Deadline,
        ) -> Result<Subscription, MarketplaceError> {
            self.subscribe(destination, deadline).await
        }

        async fn unsubscribe_order_changes(&self, deadline: Deadline) -> Result<(), MarketplaceError> {
            self.unsubscribe(deadline).await
        }
    }
}
