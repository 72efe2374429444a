//! The AWS side of the command line: region, profile and credentials (checked before the first
//! call, so their absence is named plainly), and a deployed stack's outputs.

use crate::errors::{aws_error, fatal, no_credentials, no_region};
use anyhow::Result;
use aws_config::meta::credentials::CredentialsProviderChain;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::config::{Credentials, ProvideCredentials, Region};
use std::collections::BTreeMap;

/// Region used with `--endpoint-url` when none is configured: a local endpoint (moto, a local
/// DynamoDB) accepts any, and this is the one `samconfig.toml` deploys to.
pub const LOCAL_ENDPOINT_REGION: &str = "eu-central-1";

/// Where AWS is: `--region`, `--profile`, `--endpoint-url`.
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
}

/// A loaded AWS configuration that has a region and credentials.
#[derive(Clone)]
pub struct Aws {
    pub sdk: SdkConfig,
    /// "region eu-central-1", or the endpoint: for messages.
    pub place: String,
}

impl Aws {
    /// Loads the configuration as the AWS CLI would (flags, then environment, then profile) and
    /// resolves credentials once, so that a missing region or missing credentials is reported as
    /// such instead of as a failed request. With `--endpoint-url`, region and credentials fall
    /// back to placeholders, which local endpoints accept.
    pub async fn load(options: &AwsOptions) -> Result<Self> {
        let region = match &options.region {
            Some(region) if !region.trim().is_empty() => Some(Region::new(region.trim().to_string())),
            _ => {
                let mut chain = aws_config::default_provider::region::DefaultRegionChain::builder();
                if let Some(profile) = &options.profile {
                    chain = chain.profile_name(profile);
                }
                chain.build().region().await
            }
        };
        let region = match (region, &options.endpoint_url) {
            (Some(region), _) => region,
            (None, Some(_)) => Region::new(LOCAL_ENDPOINT_REGION),
            (None, None) => {
                return Err(fatal(match &options.profile {
                    Some(profile) => {
                        format!("{} (profile {profile:?} names none, or does not exist)", no_region())
                    }
                    None => no_region(),
                }))
            }
        };
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).region(region.clone());
        if let Some(profile) = &options.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(url) = &options.endpoint_url {
            let mut chain = aws_config::default_provider::credentials::DefaultCredentialsChain::builder()
                .region(region.clone());
            if let Some(profile) = &options.profile {
                chain = chain.profile_name(profile);
            }
            let credentials = CredentialsProviderChain::first_try("default", chain.build().await)
                .or_else("local", Credentials::new("local", "local", None, None, "orderbridge-local"));
            loader = loader.endpoint_url(url).credentials_provider(credentials);
        }
        let sdk = loader.load().await;
        let provider = sdk.credentials_provider().ok_or_else(|| fatal(no_credentials("")))?;
        if let Err(error) = provider.provide_credentials().await {
            let detail = credentials_detail(&error);
            let detail = match (&options.profile, detail) {
                (Some(profile), None) => format!("profile {profile} has none, or does not exist"),
                (Some(profile), Some(detail)) => format!("profile {profile}: {detail}"),
                (None, detail) => detail.unwrap_or_default(),
            };
            return Err(fatal(no_credentials(&detail)));
        }
        let place = match &options.endpoint_url {
            Some(url) => format!("region {region} at {url}"),
            None => format!("region {region}"),
        };
        Ok(Self { sdk, place })
    }

    pub fn region(&self) -> String {
        self.sdk.region().map(|r| r.to_string()).unwrap_or_default()
    }

    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk)
    }

    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.sdk)
    }

    pub fn secrets(&self) -> aws_sdk_secretsmanager::Client {
        aws_sdk_secretsmanager::Client::new(&self.sdk)
    }

    pub fn cloudformation(&self) -> aws_sdk_cloudformation::Client {
        aws_sdk_cloudformation::Client::new(&self.sdk)
    }
}

/// What a credentials error says beyond "none found": a provider that failed (an expired SSO
/// session, a malformed profile), on one line. None when no provider had any credentials.
fn credentials_detail(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut texts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(next) = source {
        texts.push(next.to_string());
        source = next.source();
    }
    if texts.iter().any(|t| t.contains("no credentials found in chain") || t.contains("was not enabled")) {
        return None;
    }
    let detail = texts.iter().rev().find(|t| !t.trim().is_empty())?;
    let detail = crate::errors::one_line(detail);
    Some(detail.chars().take(160).collect())
}

/// The outputs `template.yaml` declares, which the command line reads.
pub mod outputs {
    pub const ORDERS_TABLE: &str = "OrdersTableName";
    pub const STATUS_QUEUE: &str = "StatusQueueUrl";
    pub const STATUS_DLQ: &str = "StatusDeadLetterQueueUrl";
    pub const ORDER_CHANGE_QUEUE_ARN: &str = "OrderChangeQueueArn";
    pub const ORDER_CHANGE_QUEUE: &str = "OrderChangeQueueUrl";
    pub const ORDER_CHANGE_DLQ: &str = "OrderChangeDeadLetterQueueUrl";
    pub const FAILURES_QUEUE: &str = "ScheduledRunFailuresQueueUrl";
    pub const SECRET_PREFIX: &str = "MarketplaceSecretPrefix";

    /// The outputs the command line reads; a stack without one of them is broken for it.
    pub const NEEDED: &[&str] = &[
        ORDERS_TABLE,
        STATUS_QUEUE,
        STATUS_DLQ,
        ORDER_CHANGE_QUEUE_ARN,
        ORDER_CHANGE_QUEUE,
        ORDER_CHANGE_DLQ,
        FAILURES_QUEUE,
        SECRET_PREFIX,
    ];

    /// Every output an Orderbridge stack has; `doctor` reports missing ones.
    pub const ALL: &[&str] = &[
        ORDERS_TABLE,
        STATUS_QUEUE,
        STATUS_DLQ,
        ORDER_CHANGE_QUEUE_ARN,
        ORDER_CHANGE_QUEUE,
        ORDER_CHANGE_DLQ,
        FAILURES_QUEUE,
        "ImportFunctionName",
        "StatusFunctionName",
        "ShipmentFunctionName",
        "HousekeepingFunctionName",
        SECRET_PREFIX,
        "AlarmTopicArn",
        "DashboardUrl",
    ];
}

/// A deployed stack, as CloudFormation describes it.
#[derive(Debug, Clone)]
pub struct Stack {
    pub name: String,
    pub status: String,
    pub status_reason: Option<String>,
    pub outputs: BTreeMap<String, String>,
}

impl Stack {
    pub async fn describe(aws: &Aws, name: &str) -> Result<Self> {
        let out = aws.cloudformation().describe_stacks().stack_name(name).send().await.map_err(|e| {
            aws_error(e, &format!("reading stack {name}"), &aws.place, || {
                format!("no stack {name} in {}: check --stack, --region and --profile", aws.place)
            })
        })?;
        let stack = out
            .stacks
            .unwrap_or_default()
            .into_iter()
            .next()
            .ok_or_else(|| fatal(format!("no stack {name} in {}", aws.place)))?;
        let outputs = stack
            .outputs
            .unwrap_or_default()
            .into_iter()
            .filter_map(|o| Some((o.output_key?, o.output_value?)))
            .collect();
        Ok(Self {
            name: stack.stack_name.unwrap_or_else(|| name.to_string()),
            status: stack.stack_status.map(|s| s.as_str().to_string()).unwrap_or_default(),
            status_reason: stack.stack_status_reason,
            outputs,
        })
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.outputs.get(key).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// An output the command needs.
    pub fn output(&self, key: &str) -> Result<&str> {
        self.get(key).ok_or_else(|| {
            fatal(format!(
                "stack {} has no output {key} (status {}): is it an Orderbridge stack, deployed from this version of template.yaml?",
                self.name, self.status
            ))
        })
    }

    /// Whether the stack is in a state whose outputs can be trusted.
    pub fn health(&self) -> StackHealth {
        let s = self.status.as_str();
        if s.ends_with("_FAILED") || s == "ROLLBACK_COMPLETE" || s.starts_with("DELETE_") {
            StackHealth::Broken
        } else if s.ends_with("_IN_PROGRESS") || s == "UPDATE_ROLLBACK_COMPLETE" {
            StackHealth::Changing
        } else {
            StackHealth::Healthy
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StackHealth {
    Healthy,
    /// Being deployed or rolled back, or the last update was rolled back.
    Changing,
    Broken,
}
