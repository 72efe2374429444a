//! The stack's queues for the operator: dead letters (list, send back) and the records of
//! failed scheduled runs (list, and delete only when asked).

use crate::aws::{outputs, Aws};
use crate::errors::{aws_error, fatal, one_line, report};
use anyhow::Result;
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use chrono::{DateTime, Utc};
use orderbridge::adapters::sqs::DeadLetters;
use serde_json::Value;

/// Which dead-letter queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DeadLetterQueue {
    /// Status checks that kept failing (StatusDeadLetterQueue → StatusQueue).
    Status,
    /// Amazon ORDER_CHANGE notifications that kept failing (OrderChangeDeadLetterQueue →
    /// OrderChangeQueue).
    OrderChange,
}

impl DeadLetterQueue {
    /// The stack outputs of the work queue and its dead-letter queue.
    pub fn outputs(self) -> (&'static str, &'static str) {
        match self {
            DeadLetterQueue::Status => (outputs::STATUS_QUEUE, outputs::STATUS_DLQ),
            DeadLetterQueue::OrderChange => (outputs::ORDER_CHANGE_QUEUE, outputs::ORDER_CHANGE_DLQ),
        }
    }

    pub fn what(self) -> &'static str {
        match self {
            DeadLetterQueue::Status => "status checks",
            DeadLetterQueue::OrderChange => "order-change notifications",
        }
    }

    pub fn work_queue(self) -> &'static str {
        match self {
            DeadLetterQueue::Status => "the status queue",
            DeadLetterQueue::OrderChange => "the order-change queue",
        }
    }
}

/// Visible and in-flight messages of a queue (GetQueueAttributes); names a missing queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Depth {
    pub visible: u64,
    pub in_flight: u64,
    pub delayed: u64,
}

impl Depth {
    pub fn total(&self) -> u64 {
        self.visible + self.in_flight + self.delayed
    }
}

pub async fn depth(aws: &Aws, queue_url: &str) -> Result<Depth> {
    let out = aws
        .sqs()
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
        .send()
        .await
        .map_err(|e| {
            aws_error(e, &format!("reading queue {queue_url}"), &aws.place, || {
                format!("no queue {queue_url} in {}", aws.place)
            })
        })?;
    let attributes = out.attributes.unwrap_or_default();
    let count =
        |name: QueueAttributeName| attributes.get(&name).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    Ok(Depth {
        visible: count(QueueAttributeName::ApproximateNumberOfMessages),
        in_flight: count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
        delayed: count(QueueAttributeName::ApproximateNumberOfMessagesDelayed),
    })
}

/// One dead letter, as listed: its id, receive count, and what it is about. Order-change
/// notifications are summarised (seller, order, notification id): their summary may hold a
/// buyer's postal code, which is not printed.
pub fn describe_dead_letter(queue: DeadLetterQueue, body: &str) -> String {
    if queue == DeadLetterQueue::OrderChange {
        return match orderbridge::adapters::sp_api::order_change_notice(body) {
            Some(Ok(notice)) => format!(
                "ORDER_CHANGE seller {} order {} notification {}",
                notice.seller_id, notice.order_id, notice.notification_id
            ),
            Some(Err(reason)) => format!("unreadable notification: {}", one_line(&reason)),
            None => format!("not an Amazon notification ({} bytes)", body.len()),
        };
    }
    one_line(body)
}

pub async fn list_dead_letters(aws: &Aws, queue: DeadLetterQueue, dlq_url: &str, max: usize) -> Result<()> {
    depth(aws, dlq_url).await?;
    let listed = peek(aws, dlq_url, max).await?;
    for message in &listed {
        let receives = message.receive_count.map(|c| format!("received {c}x")).unwrap_or_default();
        println!("{}\t{receives}\t{}", message.id, describe_dead_letter(queue, &message.body));
    }
    if listed.is_empty() {
        println!("no dead {}", queue.what());
    }
    release(aws, dlq_url, &listed).await
}

pub async fn redrive(
    aws: &Aws,
    queue: DeadLetterQueue,
    queue_url: &str,
    dlq_url: &str,
    max: usize,
) -> Result<()> {
    depth(aws, dlq_url).await?;
    depth(aws, queue_url).await?;
    let letters = DeadLetters::new(aws.sqs(), queue_url, dlq_url);
    let moved = letters.redrive(max).await.map_err(|e| fatal(report(&e.into())))?;
    println!("{moved} {} sent back to {}", queue.what(), queue.work_queue());
    Ok(())
}

/// A record of a failed scheduled run, as Lambda (on-failure destination) or EventBridge
/// Scheduler (dead-letter queue) leaves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureRecord {
    pub time: String,
    pub function: String,
    /// Lambda's `requestContext.condition` (RetriesExhausted, EventAgeExceeded), or `scheduler`.
    pub condition: String,
    pub error_type: String,
    pub error_message: String,
}

impl FailureRecord {
    pub fn line(&self) -> String {
        [&self.time, &self.function, &self.condition, &self.error_type, &self.error_message]
            .iter()
            .map(|s| if s.is_empty() { "-".to_string() } else { one_line(s) })
            .collect::<Vec<_>>()
            .join("\t")
    }
}

/// The last part of a Lambda ARN (`…:function:NAME[:QUALIFIER]`) or schedule ARN.
fn resource_name(arn: &str) -> String {
    if let Some((_, rest)) = arn.split_once(":function:") {
        return rest.split(':').next().unwrap_or(rest).to_string();
    }
    arn.rsplit(['/', ':']).next().unwrap_or(arn).to_string()
}

/// Reads a failure record. Never returns the run's payload: only which function, when, and the
/// error.
pub fn read_failure(
    body: &str,
    attributes: &[(String, String)],
    sent: Option<DateTime<Utc>>,
) -> FailureRecord {
    let attribute = |name: &str| {
        attributes
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let sent = sent.map(|t| t.to_rfc3339()).unwrap_or_default();
    let value: Option<Value> = serde_json::from_str(body).ok();
    let text = |pointer: &str| {
        value.as_ref().and_then(|v| v.pointer(pointer)).and_then(Value::as_str).unwrap_or("").to_string()
    };
    if value.as_ref().and_then(|v| v.get("requestContext")).is_some() {
        let time = text("/timestamp");
        return FailureRecord {
            time: if time.is_empty() { sent } else { time },
            function: resource_name(&text("/requestContext/functionArn")),
            condition: text("/requestContext/condition"),
            error_type: text("/responsePayload/errorType"),
            error_message: text("/responsePayload/errorMessage"),
        };
    }
    let target = attribute("TARGET_ARN");
    let schedule = attribute("SCHEDULE_ARN");
    FailureRecord {
        time: sent,
        function: if !target.is_empty() {
            resource_name(&target)
        } else if !schedule.is_empty() {
            format!("schedule {}", resource_name(&schedule))
        } else {
            String::new()
        },
        condition: "scheduler".into(),
        error_type: attribute("ERROR_CODE"),
        error_message: attribute("ERROR_MESSAGE"),
    }
}

/// A message received for looking at it.
#[derive(Debug, Clone)]
pub struct Peeked {
    pub id: String,
    pub receipt: String,
    pub body: String,
    pub sent: Option<DateTime<Utc>>,
    pub receive_count: Option<u32>,
    /// String message attributes (EventBridge Scheduler puts its error there).
    pub attributes: Vec<(String, String)>,
}

/// While a listing runs, what it has received stays hidden, so that it sees each message once.
const LISTING_HIDES_FOR_SECS: i32 = 60;

/// Up to `max` messages of a queue, oldest first. SQS has no peek: they are received, so they
/// are hidden while listing; [`release`] shows them again.
pub async fn peek(aws: &Aws, queue_url: &str, max: usize) -> Result<Vec<Peeked>> {
    let sqs = aws.sqs();
    let mut seen: Vec<Peeked> = Vec::new();
    while seen.len() < max {
        let out = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages((max - seen.len()).clamp(1, 10) as i32)
            .visibility_timeout(LISTING_HIDES_FOR_SECS)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| {
                aws_error(e, &format!("reading queue {queue_url}"), &aws.place, || {
                    format!("no queue {queue_url} in {}", aws.place)
                })
            })?;
        let before = seen.len();
        for message in out.messages.unwrap_or_default() {
            let id = message.message_id.clone().unwrap_or_default();
            if seen.iter().any(|m| m.id == id) {
                continue;
            }
            let system = |name: MessageSystemAttributeName| {
                message.attributes.as_ref().and_then(|a| a.get(&name)).cloned()
            };
            let sent = system(MessageSystemAttributeName::SentTimestamp)
                .and_then(|ms| ms.parse::<i64>().ok())
                .and_then(DateTime::<Utc>::from_timestamp_millis);
            let receive_count =
                system(MessageSystemAttributeName::ApproximateReceiveCount).and_then(|c| c.parse().ok());
            let attributes = message
                .message_attributes
                .clone()
                .unwrap_or_default()
                .into_iter()
                .filter_map(|(k, v)| Some((k, v.string_value?)))
                .collect();
            seen.push(Peeked {
                id,
                receipt: message.receipt_handle.unwrap_or_default(),
                body: message.body.unwrap_or_default(),
                sent,
                receive_count,
                attributes,
            });
        }
        if seen.len() == before {
            break;
        }
    }
    seen.sort_by_key(|m| m.sent);
    Ok(seen)
}

/// Makes listed messages visible again at once, so a redrive (or the next listing) sees them.
pub async fn release(aws: &Aws, queue_url: &str, listed: &[Peeked]) -> Result<()> {
    let sqs = aws.sqs();
    for message in listed {
        sqs.change_message_visibility()
            .queue_url(queue_url)
            .receipt_handle(&message.receipt)
            .visibility_timeout(0)
            .send()
            .await
            .map_err(|e| {
                aws_error(e, &format!("showing message {} again", message.id), &aws.place, || {
                    format!("no queue {queue_url} in {}", aws.place)
                })
            })?;
    }
    Ok(())
}

/// `failures list`: the records of failed scheduled runs, oldest first; with `delete`, those
/// shown are deleted afterwards, otherwise they are left in the queue.
pub async fn list_failures(aws: &Aws, queue_url: &str, max: usize, delete: bool) -> Result<()> {
    depth(aws, queue_url).await?;
    let listed = peek(aws, queue_url, max).await?;
    for message in &listed {
        println!("{}", read_failure(&message.body, &message.attributes, message.sent).line());
    }
    if listed.is_empty() {
        println!("no failed scheduled runs");
        return Ok(());
    }
    if !delete {
        return release(aws, queue_url, &listed).await;
    }
    let sqs = aws.sqs();
    for message in &listed {
        sqs.delete_message().queue_url(queue_url).receipt_handle(&message.receipt).send().await.map_err(
            |e| {
                aws_error(e, &format!("deleting failure record {}", message.id), &aws.place, || {
                    format!("no queue {queue_url} in {}", aws.place)
                })
            },
        )?;
    }
    println!("{} records deleted", listed.len());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_records_show_function_condition_and_error_but_no_payload() {
        let body = r#"{"version":"1.0","timestamp":"2026-11-30T10:00:00.000Z",
          "requestContext":{"requestId":"r1","functionArn":"arn:aws:lambda:eu-central-1:123456789012:function:orderbridge-import:$LATEST","condition":"RetriesExhausted","approximateInvokeCount":1},
          "requestPayload":{"secret":"payload"},
          "responseContext":{"statusCode":200,"executedVersion":"$LATEST","functionError":"Unhandled"},
          "responsePayload":{"errorType":"AccountsFailed","errorMessage":"accounts failed: amazon-de"}}"#;
        let record = read_failure(body, &[], None);
        assert_eq!(
            record.line(),
            "2026-11-30T10:00:00.000Z\torderbridge-import\tRetriesExhausted\tAccountsFailed\taccounts failed: amazon-de"
        );
        assert!(!record.line().contains("payload"));
    }

    #[test]
    fn expired_events_have_no_response() {
        let body = r#"{"timestamp":"t","requestContext":{"functionArn":"arn:aws:lambda:r:1:function:f","condition":"EventAgeExceeded"}}"#;
        assert_eq!(read_failure(body, &[], None).line(), "t\tf\tEventAgeExceeded\t-\t-");
    }

    #[test]
    fn scheduler_records_come_from_the_attributes() {
        let attributes = vec![
            ("ERROR_CODE".to_string(), "AccessDenied".to_string()),
            ("ERROR_MESSAGE".to_string(), "not allowed".to_string()),
            ("TARGET_ARN".to_string(), "arn:aws:lambda:r:1:function:orderbridge-shipment".to_string()),
        ];
        let record = read_failure("{}", &attributes, DateTime::from_timestamp_millis(0));
        assert_eq!(record.function, "orderbridge-shipment");
        assert_eq!(record.condition, "scheduler");
        assert_eq!(record.error_type, "AccessDenied");
    }

    #[test]
    fn order_change_letters_are_summarised() {
        let body = r#"{"NotificationType":"ORDER_CHANGE","Payload":{"OrderChangeNotification":{"SellerId":"S1","AmazonOrderId":"903-8868176-2219830","Summary":{"DestinationPostalCode":"48110"}}},"NotificationMetadata":{"NotificationId":"n1"}}"#;
        let line = describe_dead_letter(DeadLetterQueue::OrderChange, body);
        assert_eq!(line, "ORDER_CHANGE seller S1 order 903-8868176-2219830 notification n1");
        assert!(!line.contains("48110"));
    }
}
