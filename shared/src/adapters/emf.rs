//! Metrics as CloudWatch embedded metric format: one JSON line per marketplace and account at the
//! end of an invocation, which CloudWatch turns into metrics in the `Orderbridge` namespace with
//! the dimension sets `[Service, Marketplace, Account]` and `[Service]` (the alarms watch the
//! latter). A line holds metric names, the marketplace, the account id and numbers only.

use crate::domain::{AccountId, Marketplace};
use crate::ports::{Metric, MetricsSink};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Mutex;

pub const NAMESPACE: &str = "Orderbridge";

type Values = BTreeMap<(Marketplace, AccountId), BTreeMap<Metric, f64>>;

pub struct EmfMetrics {
    service: String,
    values: Mutex<Values>,
    out: Mutex<Box<dyn Write + Send>>,
}

impl EmfMetrics {
    /// Writes to standard output, where Lambda's log agent picks the lines up.
    pub fn stdout(service: impl Into<String>) -> Self {
        Self::to_writer(service, Box::new(std::io::stdout()))
    }

    pub fn to_writer(service: impl Into<String>, out: Box<dyn Write + Send>) -> Self {
        Self { service: service.into(), values: Mutex::new(BTreeMap::new()), out: Mutex::new(out) }
    }

    /// The EMF documents for what was recorded, and forgets it.
    pub fn take_documents(&self, now_ms: i64) -> Vec<Value> {
        let values = std::mem::take(&mut *self.values.lock().expect("metrics lock"));
        values
            .into_iter()
            .map(|((marketplace, account), metrics)| self.document(now_ms, marketplace, &account, &metrics))
            .collect()
    }

    fn document(
        &self,
        now_ms: i64,
        marketplace: Marketplace,
        account: &AccountId,
        metrics: &BTreeMap<Metric, f64>,
    ) -> Value {
        let definitions: Vec<Value> =
            metrics.keys().map(|m| json!({"Name": m.name(), "Unit": m.unit()})).collect();
        let mut doc = Map::new();
        doc.insert(
            "_aws".into(),
            json!({
                "Timestamp": now_ms,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": [["Service", "Marketplace", "Account"], ["Service"]],
                    "Metrics": definitions,
                }],
            }),
        );
        doc.insert("Service".into(), json!(self.service));
        doc.insert("Marketplace".into(), json!(marketplace.as_str()));
        doc.insert("Account".into(), json!(account.as_str()));
        for (metric, value) in metrics {
            doc.insert(metric.name().into(), json!(value));
        }
        Value::Object(doc)
    }
}

impl MetricsSink for EmfMetrics {
    fn record(&self, marketplace: Marketplace, account: &AccountId, metric: Metric, value: f64) {
        let mut values = self.values.lock().expect("metrics lock");
        let slot = values.entry((marketplace, account.clone())).or_default().entry(metric).or_insert(0.0);
        *slot = if metric.is_gauge() { value } else { *slot + value };
    }

    fn flush(&self) {
        let documents = self.take_documents(chrono::Utc::now().timestamp_millis());
        let mut out = self.out.lock().expect("metrics output lock");
        for doc in documents {
            // A lost metrics line must never fail an invocation.
            let _ = writeln!(out, "{doc}");
        }
        let _ = out.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_and_gauges_keep_the_last_value_per_account() {
        let metrics = EmfMetrics::to_writer("orderbridge", Box::new(std::io::sink()));
        let a = AccountId::parse("amazon-de").unwrap();
        let b = AccountId::parse("amazon-uk").unwrap();
        metrics.record(Marketplace::Amazon, &a, Metric::OrdersImported, 2.0);
        metrics.record(Marketplace::Amazon, &a, Metric::OrdersImported, 3.0);
        metrics.record(Marketplace::Amazon, &a, Metric::PendingOrders, 7.0);
        metrics.record(Marketplace::Amazon, &a, Metric::PendingOrders, 4.0);
        metrics.record(Marketplace::Amazon, &b, Metric::OrdersImported, 1.0);
        let docs = metrics.take_documents(1_700_000_000_000);
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0]["Account"], "amazon-de");
        assert_eq!(docs[0]["OrdersImported"], 5.0);
        assert_eq!(docs[0]["PendingOrders"], 4.0);
        assert_eq!(docs[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"], "Orderbridge");
        assert!(metrics.take_documents(0).is_empty(), "flushed values are gone");
    }
}
