//! Builds the adapters once per process. Lambda functions read their configuration from the
//! environment (`template.yaml` sets it); tests and the local run call [`aws_ports`] directly with
//! their own endpoints.

use crate::adapters::dynamodb::DynamoStore;
use crate::adapters::emf::EmfMetrics;
use crate::adapters::marketplaces::MarketplaceRouter;
use crate::adapters::secrets::{SecretSource, SecretsManager};
use crate::adapters::sqs::SqsStatusQueue;
use crate::ports::{NoMetrics, PipelineSettings, Ports, StatusQueue, SystemClock};
use std::sync::Arc;
use std::time::Duration;

pub const TABLE_VAR: &str = "ORDERBRIDGE_TABLE";
pub const STATUS_QUEUE_VAR: &str = "ORDERBRIDGE_STATUS_QUEUE_URL";
pub const FIRST_CHECK_DELAY_VAR: &str = "ORDERBRIDGE_FIRST_STATUS_CHECK_SECS";
pub const RECHECK_BASE_VAR: &str = "ORDERBRIDGE_PENDING_RECHECK_SECS";
pub const RETENTION_DAYS_VAR: &str = "ORDERBRIDGE_BUYER_DATA_RETENTION_DAYS";
pub const SWEEP_AFTER_VAR: &str = "ORDERBRIDGE_PENDING_SWEEP_AFTER_SECS";
/// The stack name: the `Service` dimension of every metric.
pub const SERVICE_VAR: &str = "ORDERBRIDGE_SERVICE";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {name} is not a number of {unit}: {value:?}")]
    NotANumber { name: &'static str, value: String, unit: &'static str },
}

fn required(name: &'static str) -> Result<String, ConfigError> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty()).ok_or(ConfigError::Missing(name))
}

fn seconds(name: &'static str, default: Duration) -> Result<Duration, ConfigError> {
    match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(value) => value
            .trim()
            .parse::<u64>()
            .map(Duration::from_secs)
            .map_err(|_| ConfigError::NotANumber { name, value, unit: "seconds" }),
    }
}

fn days(name: &'static str, default: Duration) -> Result<Duration, ConfigError> {
    match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(value) => value
            .trim()
            .parse::<u64>()
            .map(|d| Duration::from_secs(d * 86_400))
            .map_err(|_| ConfigError::NotANumber { name, value, unit: "days" }),
    }
}

/// Pending-check timing from the environment, defaulting to [`PipelineSettings::default`].
pub fn settings_from_env() -> Result<PipelineSettings, ConfigError> {
    let defaults = PipelineSettings::default();
    Ok(PipelineSettings {
        first_status_check_delay: seconds(FIRST_CHECK_DELAY_VAR, defaults.first_status_check_delay)?,
        pending_recheck_base: seconds(RECHECK_BASE_VAR, defaults.pending_recheck_base)?,
        buyer_data_retention: days(RETENTION_DAYS_VAR, defaults.buyer_data_retention)?,
        pending_sweep_after: seconds(SWEEP_AFTER_VAR, defaults.pending_sweep_after)?,
        ..defaults
    })
}

/// Ports over DynamoDB, SQS, Secrets Manager and the marketplaces' APIs.
pub fn aws_ports(
    sdk: &aws_config::SdkConfig,
    table: &str,
    status_queue_url: &str,
    settings: PipelineSettings,
) -> Ports {
    let secrets: Arc<dyn SecretSource> =
        Arc::new(SecretsManager::new(aws_sdk_secretsmanager::Client::new(sdk)));
    let queue: Arc<dyn StatusQueue> =
        Arc::new(SqsStatusQueue::new(aws_sdk_sqs::Client::new(sdk), status_queue_url));
    ports_over(DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), table), queue, secrets, settings)
}

/// Ports over a given store, queue and secret source, with every marketplace connected.
pub fn ports_over(
    store: DynamoStore,
    status_queue: Arc<dyn StatusQueue>,
    secrets: Arc<dyn SecretSource>,
    settings: PipelineSettings,
) -> Ports {
    Ports {
        accounts: Arc::new(store.clone()),
        // Paced in the table: every concurrent invocation shares each account's usage plans.
        marketplaces: Arc::new(MarketplaceRouter::standard(secrets, Arc::new(store.clone()))),
        orders: Arc::new(store),
        status_queue,
        metrics: Arc::new(NoMetrics),
        clock: Arc::new(SystemClock),
        settings,
    }
}

/// What a Lambda function's `main` calls once, before serving invocations.
pub async fn lambda_ports_from_env() -> Result<Ports, ConfigError> {
    let table = required(TABLE_VAR)?;
    let queue_url = required(STATUS_QUEUE_VAR)?;
    let settings = settings_from_env()?;
    let service = std::env::var(SERVICE_VAR).unwrap_or_else(|_| "orderbridge".into());
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let mut ports = aws_ports(&sdk, &table, &queue_url, settings);
    ports.metrics = Arc::new(EmfMetrics::stdout(service));
    Ok(ports)
}
