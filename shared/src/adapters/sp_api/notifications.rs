//! Notifications API v1: subscribing an account to `ORDER_CHANGE`, delivered by Amazon to an SQS
//! queue (the destination). Destinations belong to the application, not the seller, so their
//! operations take a grantless token; subscriptions take the seller's.

use super::http::{SpApiClient, TokenKind};
use crate::ports::{MarketplaceError, Subscription};
use crate::Deadline;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const ORDER_CHANGE: &str = "ORDER_CHANGE";
const PAYLOAD_VERSION: &str = "1.0";

pub(super) struct ActiveSubscription {
    pub subscription_id: String,
    pub destination_id: String,
}

impl SpApiClient {
    fn text_at(
        &self,
        operation: &'static str,
        body: &Value,
        pointer: &str,
    ) -> Result<String, MarketplaceError> {
        body.pointer(pointer).and_then(Value::as_str).map(str::to_string).ok_or_else(|| {
            MarketplaceError::BadResponse {
                account: self.account.clone(),
                operation,
                message: format!("response has no {pointer}"),
            }
        })
    }

    /// The account's `ORDER_CHANGE` subscription, if any.
    pub(super) async fn order_change_subscription(
        &self,
        deadline: Deadline,
    ) -> Result<Option<ActiveSubscription>, MarketplaceError> {
        const OPERATION: &str = "getSubscription";
        let url = self.url(&["notifications", "v1", "subscriptions", ORDER_CHANGE])?;
        let response = self.call(OPERATION, Method::GET, url, &[], None, deadline).await?;
        if response.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        Ok(Some(ActiveSubscription {
            subscription_id: self.text_at(OPERATION, &response.body, "/payload/subscriptionId")?,
            destination_id: self.text_at(OPERATION, &response.body, "/payload/destinationId")?,
        }))
    }

    /// The destination for the SQS queue `arn`, created if the application has none yet.
    async fn destination_for(&self, arn: &str, deadline: Deadline) -> Result<String, MarketplaceError> {
        if let Some(id) = self.find_destination(arn, deadline).await? {
            return Ok(id);
        }
        const OPERATION: &str = "createDestination";
        let url = self.url(&["notifications", "v1", "destinations"])?;
        let body = json!({
            "name": destination_name(arn),
            "resourceSpecification": { "sqs": { "arn": arn } },
        });
        let kind = TokenKind::Grantless;
        let response = self.call_as(kind, OPERATION, Method::POST, url, &[], Some(&body), deadline).await?;
        if response.status == StatusCode::CONFLICT {
            // Created meanwhile (another account of the same application): use that one.
            return self.find_destination(arn, deadline).await?.ok_or_else(|| {
                MarketplaceError::BadResponse {
                    account: self.account.clone(),
                    operation: OPERATION,
                    message: "destination exists but is not listed".into(),
                }
            });
        }
        self.text_at(OPERATION, &response.body, "/payload/destinationId")
    }

    async fn find_destination(
        &self,
        arn: &str,
        deadline: Deadline,
    ) -> Result<Option<String>, MarketplaceError> {
        const OPERATION: &str = "getDestinations";
        let url = self.url(&["notifications", "v1", "destinations"])?;
        let kind = TokenKind::Grantless;
        let response = self.call_as(kind, OPERATION, Method::GET, url, &[], None, deadline).await?;
        let destinations =
            response.body.get("payload").and_then(Value::as_array).cloned().unwrap_or_default();
        Ok(destinations
            .iter()
            .find(|d| d.pointer("/resource/sqs/arn").and_then(Value::as_str) == Some(arn))
            .and_then(|d| d.get("destinationId").and_then(Value::as_str))
            .map(str::to_string))
    }

    /// Subscribes to `ORDER_CHANGE` at the queue `arn`. An existing subscription to that queue
    /// is kept; one to another queue (an old stack) is replaced.
    pub(super) async fn subscribe(
        &self,
        arn: &str,
        deadline: Deadline,
    ) -> Result<Subscription, MarketplaceError> {
        const OPERATION: &str = "createSubscription";
        let destination_id = self.destination_for(arn, deadline).await?;
        if let Some(existing) = self.order_change_subscription(deadline).await? {
            if existing.destination_id == destination_id {
                return Ok(active(existing));
            }
            self.delete_subscription(&existing.subscription_id, deadline).await?;
        }
        let url = self.url(&["notifications", "v1", "subscriptions", ORDER_CHANGE])?;
        let body = json!({ "payloadVersion": PAYLOAD_VERSION, "destinationId": destination_id });
        let response = self.call(OPERATION, Method::POST, url, &[], Some(&body), deadline).await?;
        if response.status == StatusCode::CONFLICT {
            return match self.order_change_subscription(deadline).await? {
                Some(existing) => Ok(active(existing)),
                None => Err(MarketplaceError::BadResponse {
                    account: self.account.clone(),
                    operation: OPERATION,
                    message: "subscription exists but can't be read".into(),
                }),
            };
        }
        let subscription_id = self.text_at(OPERATION, &response.body, "/payload/subscriptionId")?;
        tracing::info!(account = %self.account, subscription_id, "subscribed to ORDER_CHANGE notifications");
        Ok(Subscription::Active { subscription_id, destination_id })
    }

    pub(super) async fn unsubscribe(&self, deadline: Deadline) -> Result<(), MarketplaceError> {
        if let Some(existing) = self.order_change_subscription(deadline).await? {
            self.delete_subscription(&existing.subscription_id, deadline).await?;
            tracing::info!(account = %self.account, "unsubscribed from ORDER_CHANGE notifications");
        }
        Ok(())
    }

    async fn delete_subscription(
        &self,
        subscription_id: &str,
        deadline: Deadline,
    ) -> Result<(), MarketplaceError> {
        const OPERATION: &str = "deleteSubscriptionById";
        let url = self.url(&["notifications", "v1", "subscriptions", ORDER_CHANGE, subscription_id])?;
        let kind = TokenKind::Grantless;
        // Gone already (404) is what we wanted.
        self.call_as(kind, OPERATION, Method::DELETE, url, &[], None, deadline).await.map(|_| ())
    }
}

fn active(existing: ActiveSubscription) -> Subscription {
    Subscription::Active {
        subscription_id: existing.subscription_id,
        destination_id: existing.destination_id,
    }
}

/// A destination name from the queue's name (the ARN's last part), within Amazon's 256 chars.
fn destination_name(arn: &str) -> String {
    let queue = arn.rsplit(':').next().unwrap_or(arn);
    format!("orderbridge-{queue}").chars().take(256).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn destinations_are_named_after_their_queue() {
        assert_eq!(
            super::destination_name(
                "arn:aws:sqs:eu-central-1:123456789012:orderbridge-OrderChangeQueue-AB12"
            ),
            "orderbridge-orderbridge-OrderChangeQueue-AB12"
        );
    }
}
