//! Notifications API v1 (`notifications.json`): destinations and subscriptions.
//!
//! Who may call what follows the Developer Guide's table of grantless operations: the
//! destination operations, `getSubscriptionById` and `deleteSubscriptionById` take a grantless
//! token (they belong to the application); `createSubscription`, `getSubscription` and
//! `getSubscriptions` take a seller's token (a subscription is made for a seller). Each
//! simulated seller has an application of its own (its `client_id`), so an application sees
//! its own destinations and subscriptions only; anything else looks nonexistent.
//!
//! What the model leaves open, taken from Amazon's answers as reported on GitHub:
//! - a second destination for the same queue ARN: `409 Conflict`;
//! - a second subscription for the same seller, notification type and payload version
//!   (Amazon allows one per payload version): `409 StateConflict`;
//! - deleting a destination that subscriptions still use: `403 Unauthorized`, "The requested
//!   action is forbidden." (status assumed from the code).
//!
//! Sandbox limits, refused with `400 InvalidInput` and saying so in `details`: only
//! `ORDER_CHANGE` (payload version `1.0`) can be subscribed to, only SQS destinations can be
//! created, and a `filterExpression` (CEL) is not evaluated. An `eventFilter`'s
//! `marketplaceIds` and `orderChangeTypes` are applied when notifications go out.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::api::{self, ApiError, ApiResult, Conn, Op};
use crate::codec::Params;
use crate::fake;
use crate::model::{Order, State as SandboxState};
use crate::Sandbox;

/// The one notification type the sandbox sends.
pub(crate) const ORDER_CHANGE: &str = "ORDER_CHANGE";
/// `ORDER_CHANGE`'s only payload version (that of `OrderChangeNotification.json`).
pub(crate) const PAYLOAD_VERSION: &str = "1.0";
/// The `OrderChangeType` the sandbox's order changes carry.
pub(crate) const ORDER_STATUS_CHANGE: &str = "OrderStatusChange";

/// `OrderChangeTypeEnum` of the model.
const ORDER_CHANGE_TYPES: [&str; 3] = ["BuyerRequestedChange", "DeliveryTipChange", ORDER_STATUS_CHANGE];
/// `eventFilterType` of the model's `EventFilter`.
const EVENT_FILTER_TYPES: [&str; 3] =
    ["ANY_OFFER_CHANGED", ORDER_CHANGE, "SHIPMENT_TRACKING_MILESTONE_CHANGED"];
/// `Destination.name`'s `maxLength`.
const MAX_NAME_LEN: usize = 256;
/// `SqsResource.arn`'s `maxLength`.
const MAX_ARN_LEN: usize = 1000;

/// An SQS queue ARN, `arn:aws:sqs:<region>:<account-id>:<queue-name>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SqsArn {
    pub arn: String,
    pub region: String,
    pub account: String,
    pub queue: String,
}

impl SqsArn {
    /// The model's pattern `^arn:aws:sqs:\S+:\S+:\S+`, read as its three parts.
    pub(crate) fn parse(arn: &str) -> Option<Self> {
        let rest = arn.strip_prefix("arn:aws:sqs:")?;
        let mut parts = rest.splitn(3, ':');
        let (region, account, queue) = (parts.next()?, parts.next()?, parts.next()?);
        let valid = |p: &str| !p.is_empty() && !p.chars().any(char::is_whitespace);
        (valid(region) && valid(account) && valid(queue) && arn.len() <= MAX_ARN_LEN).then(|| Self {
            arn: arn.to_string(),
            region: region.to_string(),
            account: account.to_string(),
            queue: queue.to_string(),
        })
    }

    /// The queue's URL under `endpoint` in moto's scheme, `<endpoint>/<account-id>/<queue-name>`.
    pub(crate) fn queue_url(&self, endpoint: &str) -> String {
        format!("{}/{}/{}", endpoint.trim_end_matches('/'), self.account, self.queue)
    }
}

pub(crate) struct Destination {
    pub id: String,
    /// The owning application's client id.
    pub application: String,
    pub name: String,
    pub sqs: SqsArn,
}

pub(crate) struct Subscription {
    pub id: String,
    /// The owning application's client id.
    pub application: String,
    pub seller_id: String,
    pub notification_type: String,
    pub payload_version: String,
    pub destination_id: String,
    /// As the model shows it back, rebuilt from what was understood.
    pub processing_directive: Option<Value>,
    pub marketplace_ids: Option<Vec<String>>,
    pub order_change_types: Option<Vec<String>>,
}

impl Subscription {
    /// Whether the subscription's event filter lets an `OrderStatusChange` of `order` through.
    pub(crate) fn wants(&self, order: &Order) -> bool {
        let marketplace = self.marketplace_ids.as_ref().is_none_or(|ids| ids.contains(&order.marketplace_id));
        let change = self
            .order_change_types
            .as_ref()
            .is_none_or(|types| types.iter().any(|t| t == ORDER_STATUS_CHANGE));
        self.seller_id == order.seller_id && self.notification_type == ORDER_CHANGE && marketplace && change
    }
}

/// A notification destination, as [`crate::Sandbox::destinations`] lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NotificationDestination {
    pub destination_id: String,
    /// The application (a seller's `client_id`) that created it.
    pub client_id: String,
    pub name: String,
    pub sqs_arn: String,
}

/// A notification subscription, as [`crate::Sandbox::subscriptions`] lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NotificationSubscription {
    pub subscription_id: String,
    pub seller_id: String,
    /// The application (a seller's `client_id`) that subscribed.
    pub client_id: String,
    pub notification_type: String,
    pub payload_version: String,
    pub destination_id: String,
    /// The destination's queue, where the notifications go.
    pub sqs_arn: String,
}

impl SandboxState {
    pub(crate) fn destination_views(&self) -> Vec<NotificationDestination> {
        self.destinations
            .iter()
            .map(|d| NotificationDestination {
                destination_id: d.id.clone(),
                client_id: d.application.clone(),
                name: d.name.clone(),
                sqs_arn: d.sqs.arn.clone(),
            })
            .collect()
    }

    pub(crate) fn subscription_views(&self) -> Vec<NotificationSubscription> {
        self.subscriptions
            .iter()
            .map(|s| NotificationSubscription {
                subscription_id: s.id.clone(),
                seller_id: s.seller_id.clone(),
                client_id: s.application.clone(),
                notification_type: s.notification_type.clone(),
                payload_version: s.payload_version.clone(),
                destination_id: s.destination_id.clone(),
                sqs_arn: self
                    .destination(&s.application, &s.destination_id)
                    .map(|d| d.sqs.arn.clone())
                    .unwrap_or_default(),
            })
            .collect()
    }

    pub(crate) fn destination(&self, application: &str, id: &str) -> Option<&Destination> {
        self.destinations.iter().find(|d| d.application == application && d.id == id)
    }
}

pub(crate) fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/notifications/v1/destinations", get(get_destinations).post(create_destination))
        .route(
            "/notifications/v1/destinations/{destination_id}",
            get(get_destination).delete(delete_destination),
        )
        .route("/notifications/v1/subscriptions", get(get_subscriptions))
        .route(
            "/notifications/v1/subscriptions/{notification_type}",
            get(get_subscription).post(create_subscription),
        )
        .route(
            "/notifications/v1/subscriptions/{notification_type}/{subscription_id}",
            get(get_subscription_by_id).delete(delete_subscription_by_id),
        )
}

async fn create_destination(
    State(sb): State<Sandbox>,
    conn: Conn,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    api::call(&sb, Op::CreateDestination, &headers, conn, |st, app, _| create_destination_op(st, app, &body))
        .await
}

async fn get_destinations(State(sb): State<Sandbox>, conn: Conn, headers: HeaderMap) -> Response {
    api::call(&sb, Op::GetDestinations, &headers, conn, |st, app, _| {
        let list: Vec<Value> =
            st.destinations.iter().filter(|d| d.application == app).map(destination_json).collect();
        Ok((StatusCode::OK, Some(json!({ "payload": list }))))
    })
    .await
}

async fn get_destination(
    State(sb): State<Sandbox>,
    conn: Conn,
    Path(destination_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    api::call(&sb, Op::GetDestination, &headers, conn, |st, app, _| {
        let d = st.destination(app, &destination_id).ok_or_else(|| destination_not_found(&destination_id))?;
        Ok((StatusCode::OK, Some(json!({ "payload": destination_json(d) }))))
    })
    .await
}

async fn delete_destination(
    State(sb): State<Sandbox>,
    conn: Conn,
    Path(destination_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    api::call(&sb, Op::DeleteDestination, &headers, conn, |st, app, _| {
        st.destination(app, &destination_id).ok_or_else(|| destination_not_found(&destination_id))?;
        if st.subscriptions.iter().any(|s| s.application == app && s.destination_id == destination_id) {
            return Err(ApiError {
                status: StatusCode::FORBIDDEN,
                code: "Unauthorized",
                message: "The requested action is forbidden.".to_string(),
                details: Some("Destination has subscriptions".to_string()),
            });
        }
        st.destinations.retain(|d| !(d.application == app && d.id == destination_id));
        tracing::info!(destination_id, "notification destination deleted");
        Ok((StatusCode::OK, Some(json!({}))))
    })
    .await
}

async fn create_subscription(
    State(sb): State<Sandbox>,
    conn: Conn,
    Path(notification_type): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    api::call(&sb, Op::CreateSubscription, &headers, conn, |st, seller, _| {
        create_subscription_op(st, seller, &notification_type, &body)
    })
    .await
}

async fn get_subscription(
    State(sb): State<Sandbox>,
    conn: Conn,
    Path(notification_type): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.as_deref());
    api::call(&sb, Op::GetSubscription, &headers, conn, |st, seller, _| {
        supported_type(&notification_type)?;
        let version = params.one("payloadVersion");
        // Without `payloadVersion`, "the latest payload version subscription".
        let found = st
            .subscriptions
            .iter()
            .filter(|s| s.seller_id == seller && s.notification_type == notification_type)
            .filter(|s| version.is_none_or(|v| s.payload_version == v))
            .max_by(|a, b| a.payload_version.cmp(&b.payload_version))
            .ok_or_else(|| {
                ApiError::not_found(format!("No subscription for notification type {notification_type}."))
            })?;
        Ok((StatusCode::OK, Some(json!({ "payload": subscription_json(found) }))))
    })
    .await
}

async fn get_subscriptions(
    State(sb): State<Sandbox>,
    conn: Conn,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.as_deref());
    api::call(&sb, Op::GetSubscriptions, &headers, conn, |st, seller, _| {
        let types = params.list("notificationTypes").unwrap_or_default();
        let [notification_type] = types.as_slice() else {
            return Err(ApiError::invalid("notificationTypes must name exactly one notification type."));
        };
        supported_type(notification_type)?;
        if let Some(size) = params.one("pageSize") {
            if !size.parse::<u32>().is_ok_and(|n| (30..=100).contains(&n)) {
                return Err(ApiError::invalid("pageSize must be an integer from 30 to 100."));
            }
        }
        // Every list fits one page (one subscription per payload version), so no nextToken
        // is ever handed out, and none can be valid.
        if params.has("nextToken") {
            return Err(ApiError::invalid("Invalid nextToken."));
        }
        let version = params.one("payloadVersion");
        let list: Vec<Value> = st
            .subscriptions
            .iter()
            .filter(|s| s.seller_id == seller && &s.notification_type == notification_type)
            .filter(|s| version.is_none_or(|v| s.payload_version == v))
            .map(subscription_json)
            .collect();
        Ok((StatusCode::OK, Some(json!({ "payload": { "subscriptions": list } }))))
    })
    .await
}

async fn get_subscription_by_id(
    State(sb): State<Sandbox>,
    conn: Conn,
    Path((notification_type, subscription_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    api::call(&sb, Op::GetSubscriptionById, &headers, conn, |st, app, _| {
        let i = subscription_index(st, app, &notification_type, &subscription_id)?;
        Ok((StatusCode::OK, Some(json!({ "payload": subscription_json(&st.subscriptions[i]) }))))
    })
    .await
}

async fn delete_subscription_by_id(
    State(sb): State<Sandbox>,
    conn: Conn,
    Path((notification_type, subscription_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    api::call(&sb, Op::DeleteSubscriptionById, &headers, conn, |st, app, _| {
        let i = subscription_index(st, app, &notification_type, &subscription_id)?;
        let gone = st.subscriptions.remove(i);
        tracing::info!(subscription_id = %gone.id, seller_id = %gone.seller_id, "subscription deleted");
        Ok((StatusCode::OK, Some(json!({}))))
    })
    .await
}

fn destination_json(d: &Destination) -> Value {
    json!({ "name": d.name, "destinationId": d.id, "resource": { "sqs": { "arn": d.sqs.arn } } })
}

fn subscription_json(s: &Subscription) -> Value {
    let mut v = json!({
        "subscriptionId": s.id,
        "payloadVersion": s.payload_version,
        "destinationId": s.destination_id,
    });
    if let Some(directive) = &s.processing_directive {
        v["processingDirective"] = directive.clone();
    }
    v
}

fn destination_not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("Destination {id} not found."))
}

fn supported_type(notification_type: &str) -> Result<(), ApiError> {
    if notification_type == ORDER_CHANGE {
        Ok(())
    } else {
        Err(ApiError::invalid(format!("Invalid notificationType: {notification_type}."))
            .with_details("The sandbox simulates the ORDER_CHANGE notification type only."))
    }
}

fn subscription_index(
    st: &SandboxState,
    app: &str,
    notification_type: &str,
    id: &str,
) -> Result<usize, ApiError> {
    supported_type(notification_type)?;
    st.subscriptions
        .iter()
        .position(|s| s.application == app && s.notification_type == notification_type && s.id == id)
        .ok_or_else(|| ApiError::not_found(format!("Subscription {id} not found.")))
}

fn not_a(request: &'static str) -> impl Fn(serde_json::Error) -> ApiError {
    move |e| {
        ApiError::invalid(format!("The request body is not a valid {request}.")).with_details(e.to_string())
    }
}

fn required(value: Option<String>, name: &str) -> Result<String, ApiError> {
    value.filter(|v| !v.trim().is_empty()).ok_or_else(|| ApiError::invalid(format!("{name} is required.")))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateDestinationBody {
    name: Option<String>,
    resource_specification: Option<ResourceSpecification>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResourceSpecification {
    sqs: Option<SqsBody>,
    event_bridge: Option<Value>,
}

#[derive(Deserialize)]
struct SqsBody {
    arn: Option<String>,
}

fn create_destination_op(st: &mut SandboxState, app: &str, body: &[u8]) -> ApiResult {
    let body: CreateDestinationBody =
        serde_json::from_slice(body).map_err(not_a("CreateDestinationRequest"))?;
    let name = required(body.name, "name")?;
    if name.chars().count() > MAX_NAME_LEN {
        return Err(ApiError::invalid(format!("name must not be longer than {MAX_NAME_LEN} characters.")));
    }
    let spec =
        body.resource_specification.ok_or_else(|| ApiError::invalid("resourceSpecification is required."))?;
    let sqs = match (spec.sqs, spec.event_bridge) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid("Use one resource type (sqs or eventBridge) per destination."))
        }
        (None, Some(_)) => {
            return Err(ApiError::invalid("Unsupported destination resource.")
                .with_details("The sandbox delivers notifications to SQS queues only."))
        }
        (None, None) => return Err(ApiError::invalid("resourceSpecification needs an sqs resource.")),
        (Some(sqs), None) => sqs,
    };
    let arn = required(sqs.arn, "resourceSpecification.sqs.arn")?;
    let sqs = SqsArn::parse(&arn).ok_or_else(|| {
        ApiError::invalid(format!("{arn} is not the ARN of an SQS queue (arn:aws:sqs:region:account:name)."))
    })?;
    if st.destinations.iter().any(|d| d.application == app && d.sqs.arn == sqs.arn) {
        let application_id = st.application_id(app);
        return Err(ApiError::conflict(
            "Conflict",
            "The requested resource conflict with a resource in the server.",
        )
        .with_details(format!(
            "A destination with arn {arn} already exists for the application {application_id}"
        )));
    }
    let destination =
        Destination { id: fake::uuid(&mut st.notification_rng), application: app.to_string(), name, sqs };
    let body = json!({ "payload": destination_json(&destination) });
    tracing::info!(destination_id = %destination.id, arn = %destination.sqs.arn, "destination created");
    st.destinations.push(destination);
    Ok((StatusCode::OK, Some(body)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateSubscriptionBody {
    payload_version: Option<String>,
    destination_id: Option<String>,
    processing_directive: Option<DirectiveBody>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DirectiveBody {
    event_filter: Option<EventFilterBody>,
    filter_expression: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventFilterBody {
    event_filter_type: Option<String>,
    marketplace_ids: Option<Vec<String>>,
    order_change_types: Option<Vec<String>>,
    aggregation_settings: Option<Value>,
    tracking_identifier: Option<Value>,
}

/// What an `ORDER_CHANGE` subscription's `eventFilter` asks for.
struct Filter {
    marketplace_ids: Option<Vec<String>>,
    order_change_types: Option<Vec<String>>,
    /// As shown back in `processingDirective`.
    shown: Value,
}

fn event_filter(notification_type: &str, directive: DirectiveBody) -> Result<Option<Filter>, ApiError> {
    if directive.event_filter.is_some() && directive.filter_expression.is_some() {
        return Err(ApiError::invalid("eventFilter and filterExpression are mutually exclusive."));
    }
    if directive.filter_expression.is_some() {
        return Err(ApiError::invalid("Unsupported filterExpression.")
            .with_details("The sandbox does not evaluate CEL filter expressions; use an eventFilter."));
    }
    let Some(filter) = directive.event_filter else {
        return Ok(None);
    };
    let filter_type = required(filter.event_filter_type, "eventFilter.eventFilterType")?;
    if !EVENT_FILTER_TYPES.contains(&filter_type.as_str()) || filter_type != notification_type {
        return Err(ApiError::invalid(format!(
            "eventFilterType {filter_type} is not supported for notification type {notification_type}."
        )));
    }
    // What filters ORDER_CHANGE events: marketplaces and change types. Aggregation and
    // tracking identifiers belong to other notification types.
    if filter.aggregation_settings.is_some() || filter.tracking_identifier.is_some() {
        return Err(ApiError::invalid(format!(
            "aggregationSettings and trackingIdentifier are not supported for {notification_type}."
        )));
    }
    if let Some(bad) =
        filter.order_change_types.iter().flatten().find(|t| !ORDER_CHANGE_TYPES.contains(&t.as_str()))
    {
        return Err(ApiError::invalid(format!("Invalid orderChangeTypes value: {bad}.")));
    }
    let mut shown = json!({ "eventFilterType": filter_type });
    if let Some(ids) = &filter.marketplace_ids {
        shown["marketplaceIds"] = json!(ids);
    }
    if let Some(types) = &filter.order_change_types {
        shown["orderChangeTypes"] = json!(types);
    }
    Ok(Some(Filter {
        marketplace_ids: filter.marketplace_ids,
        order_change_types: filter.order_change_types,
        shown: json!({ "eventFilter": shown }),
    }))
}

fn create_subscription_op(
    st: &mut SandboxState,
    seller_id: &str,
    notification_type: &str,
    body: &[u8],
) -> ApiResult {
    supported_type(notification_type)?;
    let body: CreateSubscriptionBody =
        serde_json::from_slice(body).map_err(not_a("CreateSubscriptionRequest"))?;
    let payload_version = required(body.payload_version, "payloadVersion")?;
    if payload_version != PAYLOAD_VERSION {
        return Err(ApiError::invalid(format!(
            "payloadVersion {payload_version} is not supported for notification type {notification_type}."
        )));
    }
    let destination_id = required(body.destination_id, "destinationId")?;
    let filter = match body.processing_directive {
        Some(directive) => event_filter(notification_type, directive)?,
        None => None,
    };
    let application = st.seller(seller_id).map(|s| s.client_id.clone()).unwrap_or_default();
    st.destination(&application, &destination_id).ok_or_else(|| destination_not_found(&destination_id))?;
    let exists = st.subscriptions.iter().any(|s| {
        s.application == application
            && s.seller_id == seller_id
            && s.notification_type == notification_type
            && s.payload_version == payload_version
    });
    if exists {
        let details = format!(
            "Subscription already exists for notification type {notification_type} and payload version \
             {payload_version}."
        );
        let conflict = "The resource specified conflicts with the current state.";
        return Err(ApiError::conflict("StateConflict", conflict).with_details(details));
    }
    let (marketplace_ids, order_change_types, processing_directive) = match filter {
        Some(f) => (f.marketplace_ids, f.order_change_types, Some(f.shown)),
        None => (None, None, None),
    };
    let subscription = Subscription {
        id: fake::uuid(&mut st.notification_rng),
        application,
        seller_id: seller_id.to_string(),
        notification_type: notification_type.to_string(),
        payload_version,
        destination_id,
        processing_directive,
        marketplace_ids,
        order_change_types,
    };
    let body = json!({ "payload": subscription_json(&subscription) });
    tracing::info!(subscription_id = %subscription.id, seller_id, notification_type, "subscription created");
    st.subscriptions.push(subscription);
    Ok((StatusCode::OK, Some(body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqs_arns_map_to_moto_queue_urls() {
        let arn = SqsArn::parse("arn:aws:sqs:eu-central-1:123456789012:orderbridge-order-changes").unwrap();
        assert_eq!((arn.region.as_str(), arn.account.as_str()), ("eu-central-1", "123456789012"));
        assert_eq!(
            arn.queue_url("http://127.0.0.1:5000/"),
            "http://127.0.0.1:5000/123456789012/orderbridge-order-changes"
        );
        for bad in [
            "arn:aws:sns:eu-central-1:1:t",
            "arn:aws:sqs:eu-central-1:1",
            "arn:aws:sqs::1:q",
            "queue",
            "arn:aws:sqs:r:1:a b",
        ] {
            assert!(SqsArn::parse(bad).is_none(), "{bad}");
        }
    }
}
