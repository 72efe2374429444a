//! Log lines as Lambda's JSON log format expects them: one JSON object per line with top-level
//! `timestamp`, `level`, `message`, `service`, `cold_start`, `function_request_id`,
//! `xray_trace_id` and the event's own fields (`account`, `order`, counts). Lambda files a line by
//! its `level`, so an operator filtering on level never loses errors, and Logs Insights can
//! query every field directly. Customer data never reaches a log line: the code logs ids and
//! counts only, and `Customer`'s `Debug` is redacted.

use serde_json::{Map, Value};
use std::fmt::Debug;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// Span fields of `lambda_runtime`'s per-invocation span, renamed to ours.
const RENAMED: &[(&str, &str)] = &[("requestId", "function_request_id"), ("xrayTraceId", "xray_trace_id")];

pub struct JsonLogLayer {
    service: String,
    out: Mutex<Box<dyn Write + Send>>,
    cold: ColdStart,
}

/// True until the first invocation has ended: the lines of a cold start.
#[derive(Clone)]
pub struct ColdStart(Arc<AtomicBool>);

impl ColdStart {
    /// Marks the end of the first invocation; later lines say `cold_start: false`.
    pub fn end(&self) {
        self.0.store(false, Ordering::Relaxed);
    }
}

impl JsonLogLayer {
    pub fn new(service: impl Into<String>, out: Box<dyn Write + Send>) -> (Self, ColdStart) {
        let cold = ColdStart(Arc::new(AtomicBool::new(true)));
        (Self { service: service.into(), out: Mutex::new(out), cold: cold.clone() }, cold)
    }
}

/// Installs JSON logging to standard output as the process's subscriber, at the level Lambda
/// passes (`AWS_LAMBDA_LOG_LEVEL`, from the function's `ApplicationLogLevel`), else `RUST_LOG`,
/// else INFO.
pub fn init_json_logging(service: &str) -> ColdStart {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .map(|l| l.to_lowercase())
        .unwrap_or_else(|_| "info".into());
    let filter = tracing_subscriber::EnvFilter::try_new(&level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let (layer, cold) = JsonLogLayer::new(service, Box::new(std::io::stdout()));
    let _ = tracing_subscriber::registry().with(filter).with(layer).try_init();
    cold
}

/// The fields of a span, kept in its extensions for the events inside it.
struct SpanFields(Map<String, Value>);

struct JsonVisitor<'a>(&'a mut Map<String, Value>);

impl JsonVisitor<'_> {
    fn put(&mut self, field: &Field, value: Value) {
        let name = RENAMED.iter().find(|(from, _)| *from == field.name()).map_or(field.name(), |(_, to)| to);
        self.0.insert(name.to_string(), value);
    }
}

impl Visit for JsonVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::from(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, Value::from(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, Value::from(value.to_string()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.put(field, Value::from(format!("{value:?}")));
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for JsonLogLayer {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Map::new();
        attrs.record(&mut JsonVisitor(&mut fields));
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(SpanFields(fields));
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            if let Some(fields) = span.extensions_mut().get_mut::<SpanFields>() {
                values.record(&mut JsonVisitor(&mut fields.0));
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut line = Map::new();
        line.insert(
            "timestamp".into(),
            Value::from(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        );
        line.insert("level".into(), Value::from(event.metadata().level().as_str()));
        line.insert("service".into(), Value::from(self.service.as_str()));
        line.insert("cold_start".into(), Value::from(self.cold.0.load(Ordering::Relaxed)));
        line.insert("target".into(), Value::from(event.metadata().target()));
        // Outer spans first, so an inner span's or the event's own field wins.
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(fields) = span.extensions().get::<SpanFields>() {
                    line.extend(fields.0.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
            }
        }
        event.record(&mut JsonVisitor(&mut line));
        let mut out = self.out.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let _ = writeln!(out, "{}", Value::Object(line));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_are_json_with_the_invocation_fields_at_the_top() {
        let captured = Captured::default();
        let (layer, cold) = JsonLogLayer::new("orderbridge-test", Box::new(captured.clone()));
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            let span =
                tracing::info_span!("Lambda runtime invoke", requestId = "req-1", xrayTraceId = "Root=1-abc");
            let _entered = span.enter();
            tracing::error!(account = "amazon-de", order = "302-1", count = 3, "status check failed");
            cold.end();
            tracing::info!("second invocation");
        });
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines[1]["cold_start"], false);
        assert_eq!(lines[1]["level"], "INFO");
        let line = &lines[0];
        assert_eq!(line["level"], "ERROR");
        assert_eq!(line["message"], "status check failed");
        assert_eq!(line["service"], "orderbridge-test");
        assert_eq!(line["cold_start"], true);
        assert_eq!(line["function_request_id"], "req-1");
        assert_eq!(line["xray_trace_id"], "Root=1-abc");
        assert_eq!(line["account"], "amazon-de");
        assert_eq!(line["order"], "302-1");
        assert_eq!(line["count"], 3);
        assert!(line["timestamp"].as_str().unwrap().ends_with('Z'));
    }
}
