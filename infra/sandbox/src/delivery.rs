//! Sending notifications: in the background, never holding up or failing the call that
//! changed the order, into an SQS queue over SQS's JSON protocol.
//!
//! One dispatcher task per sandbox sends in the order notifications are handed to it (a
//! duplicate right after its original); a delayed notification waits in a task of its own
//! first and then joins the line, behind whatever came meanwhile. Every notification is
//! recorded when it is sent, whether or not it reaches a queue.
//!
//! The request is what the AWS SDKs send to `POST /`: `X-Amz-Target: AmazonSQS.SendMessage`,
//! `Content-Type: application/x-amz-json-1.0`, a JSON body with `QueueUrl` and `MessageBody`
//! (the notification as a string, which is what Amazon puts into the queue). The
//! `Authorization` header is a dummy SigV4 one: local stand-ins such as moto do not check
//! signatures, but moto reads the region from the credential scope, so it names the region of
//! the destination's ARN.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::Duration;

use chrono::Utc;
use serde_json::{json, Value};
use tokio::runtime::Handle;
use tokio::sync::{mpsc, watch};

/// Attempts per notification before it counts as failed; a local queue that is briefly
/// unreachable should not lose it.
const ATTEMPTS: u32 = 3;
const RETRY_PAUSE: Duration = Duration::from_millis(200);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Where one notification goes.
#[derive(Clone, Debug)]
pub(crate) struct SqsTarget {
    /// The configured SQS endpoint; SQS's JSON protocol posts to it.
    pub endpoint: String,
    pub queue_url: String,
    /// Of the queue's ARN, for the credential scope.
    pub region: String,
}

/// One notification to send.
pub(crate) struct Outgoing {
    pub notification: Value,
    /// `None`: recorded only (no SQS endpoint configured, or no destination any more).
    pub target: Option<SqsTarget>,
    /// 2 when the duplicate fault struck.
    pub copies: usize,
    pub delay: Option<Duration>,
}

/// The sandbox's outgoing notifications: sent log, pending count and dispatcher.
pub(crate) struct Delivery {
    sent: Mutex<Vec<Value>>,
    /// Copies handed over and not yet sent (delayed, queued, or being posted).
    pending: watch::Sender<usize>,
    failures: AtomicU64,
    line: Mutex<Option<mpsc::UnboundedSender<Outgoing>>>,
    http: OnceLock<Option<reqwest::Client>>,
}

/// A poisoned lock only means a thread panicked mid-push; the data is still usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Delivery {
    pub(crate) fn new() -> Self {
        Self {
            sent: Mutex::new(Vec::new()),
            pending: watch::Sender::new(0),
            failures: AtomicU64::new(0),
            line: Mutex::new(None),
            http: OnceLock::new(),
        }
    }

    /// Every notification sent so far, in send order, copies included.
    pub(crate) fn sent(&self) -> Vec<Value> {
        lock(&self.sent).clone()
    }

    /// Notifications that could not be put into their queue.
    pub(crate) fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    /// Returns once nothing handed over is still waiting or on its way.
    pub(crate) async fn settled(&self) {
        let mut pending = self.pending.subscribe();
        // Err only once the sender is gone, and `self` holds it.
        let _ = pending.wait_for(|&n| n == 0).await;
    }

    /// Hands a notification over; returns at once.
    pub(crate) fn send(self: &Arc<Self>, out: Outgoing) {
        let Ok(runtime) = Handle::try_current() else {
            // Driven from plain synchronous code: nothing can run in the background, so
            // record it as sent and leave the queue alone.
            if out.target.is_some() {
                tracing::warn!("no tokio runtime: notification recorded, not delivered");
                self.failures.fetch_add(out.copies as u64, Ordering::Relaxed);
            }
            lock(&self.sent).extend(std::iter::repeat_n(out.notification, out.copies));
            return;
        };
        self.pending.send_modify(|n| *n += out.copies);
        match out.delay {
            Some(delay) => {
                let delivery = self.clone();
                runtime.spawn(async move {
                    tokio::time::sleep(delay).await;
                    delivery.join_line(&Handle::current(), out);
                });
            }
            None => self.join_line(&runtime, out),
        }
    }

    fn join_line(self: &Arc<Self>, runtime: &Handle, out: Outgoing) {
        let mut line = lock(&self.line);
        let out = match line.as_ref() {
            Some(tx) => match tx.send(out) {
                Ok(()) => return,
                Err(refused) => refused.0,
            },
            None => out,
        };
        // The first notification, or the dispatcher's runtime has shut down since (a sandbox
        // outliving a test's runtime): start a dispatcher here.
        let (tx, rx) = mpsc::unbounded_channel();
        runtime.spawn(dispatch(Arc::downgrade(self), rx));
        // The receiver was just created and is alive.
        let _ = tx.send(out);
        *line = Some(tx);
    }

    fn client(&self) -> Option<&reqwest::Client> {
        self.http
            .get_or_init(|| {
                reqwest::Client::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .timeout(REQUEST_TIMEOUT)
                    .build()
                    .map_err(|e| tracing::error!(error = %e, "no HTTP client for notification delivery"))
                    .ok()
            })
            .as_ref()
    }

    /// `SendMessage`, retried a little; a notification that never gets through is counted.
    async fn post(&self, target: &SqsTarget, notification: &Value) {
        let Some(http) = self.client() else {
            self.failures.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let body = json!({ "QueueUrl": target.queue_url, "MessageBody": notification.to_string() });
        let now = Utc::now();
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential=ORDERBRIDGESANDBOX/{}/{}/sqs/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature={}",
            now.format("%Y%m%d"),
            target.region,
            "0".repeat(64)
        );
        for attempt in 1..=ATTEMPTS {
            let result = http
                .post(format!("{}/", target.endpoint.trim_end_matches('/')))
                .header("content-type", "application/x-amz-json-1.0")
                .header("x-amz-target", "AmazonSQS.SendMessage")
                .header("x-amz-date", now.format("%Y%m%dT%H%M%SZ").to_string())
                .header("authorization", &authorization)
                .body(body.to_string())
                .send()
                .await;
            let problem = match result {
                Ok(response) if response.status().is_success() => return,
                Ok(response) => format!("status {}", response.status()),
                Err(e) => e.to_string(),
            };
            tracing::warn!(queue_url = %target.queue_url, attempt, problem, "notification not delivered");
            if attempt < ATTEMPTS {
                tokio::time::sleep(RETRY_PAUSE * attempt).await;
            }
        }
        self.failures.fetch_add(1, Ordering::Relaxed);
    }
}

/// Sends what joins the line, one after the other, until the sandbox is gone.
async fn dispatch(delivery: Weak<Delivery>, mut line: mpsc::UnboundedReceiver<Outgoing>) {
    while let Some(out) = line.recv().await {
        let Some(delivery) = delivery.upgrade() else {
            return;
        };
        for _ in 0..out.copies {
            lock(&delivery.sent).push(out.notification.clone());
            if let Some(target) = &out.target {
                delivery.post(target, &out.notification).await;
            }
            delivery.pending.send_modify(|n| *n = n.saturating_sub(1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_runtime_a_notification_is_recorded_only() {
        let delivery = Arc::new(Delivery::new());
        delivery.send(Outgoing { notification: json!({ "n": 1 }), target: None, copies: 2, delay: None });
        assert_eq!(delivery.sent(), vec![json!({ "n": 1 }), json!({ "n": 1 })]);
        assert_eq!(delivery.failures(), 0);
    }
}
