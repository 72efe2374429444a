//! Connecting marketplace accounts: the secret checked where the functions will look for it, and
//! the account's order changes pushed to the stack's queue (Amazon: `ORDER_CHANGE`
//! notifications) while it is enabled.
//!
//! On the local store there is no AWS: the secret is not checked and nothing is subscribed. An
//! account whose API is on a loopback address (the sandbox) is checked like any other, but a
//! subscription its API refuses is only noted, since a sandbox need not speak the
//! Notifications API.

use crate::aws::{outputs, Aws};
use crate::commands::Session;
use crate::errors::{aws_error, fatal, one_line};
use crate::target::Deployed;
use anyhow::{Context, Result};
use orderbridge::domain::account::{AmazonSettings, ScxSettings};
use orderbridge::domain::{AccountId, AccountSettings, DecisionPolicy, Marketplace, MarketplaceAccount};
use orderbridge::ports::Subscription;
use orderbridge::Deadline;
use std::time::Duration;

/// Where the functions may read marketplace credentials when the stack does not say.
pub const DEFAULT_SECRET_PREFIX: &str = "orderbridge/";
/// How long one marketplace command (subscribe, unsubscribe, check) may take.
pub(crate) const MARKETPLACE_TIME: Duration = Duration::from_secs(60);

/// `accounts add amazon`.
#[derive(Debug, Clone)]
pub struct NewAmazonAccount {
    pub id: String,
    pub secret: String,
    pub marketplace_ids: Vec<String>,
    pub seller_id: Option<String>,
    pub api_base_url: String,
    pub token_url: String,
    pub enabled: bool,
}

/// Subscription choices shared by `add` and `enable`.
#[derive(Debug, Clone, Default)]
pub struct SubscribeOptions {
    /// `--order-change-queue-arn`, else the stack's `OrderChangeQueueArn`.
    pub queue_arn: Option<String>,
    pub skip: bool,
}

/// The prefix the functions may read secrets under: `--secret-prefix`, else the stack's
/// `MarketplaceSecretPrefix`, else `orderbridge/`.
pub fn secret_prefix(deployed: Option<&Deployed>, flag: Option<&str>) -> String {
    flag.map(str::to_string)
        .or_else(|| deployed.and_then(|d| d.output(outputs::SECRET_PREFIX)))
        .unwrap_or_else(|| DEFAULT_SECRET_PREFIX.to_string())
}

/// What [`check_secret`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretFound {
    pub name: String,
}

fn is_arn(id: &str) -> bool {
    id.starts_with("arn:")
}

fn outside_prefix(id: &str, prefix: &str) -> String {
    let name = id.rsplit_once(":secret:").map(|(_, n)| n).unwrap_or(id);
    format!(
        "secret {id} lies outside {prefix}, the prefix the functions may read: store it as {prefix}{} (or deploy with another MarketplaceSecretPrefix)",
        name.trim_start_matches('/')
    )
}

/// The secret exists (DescribeSecret, which reads no secret value), is not scheduled for
/// deletion, and its name lies under `prefix`.
pub async fn check_secret(aws: &Aws, secret_id: &str, prefix: &str) -> Result<SecretFound> {
    if !is_arn(secret_id) && !secret_id.starts_with(prefix) {
        return Err(fatal(outside_prefix(secret_id, prefix)));
    }
    let out = aws.secrets().describe_secret().secret_id(secret_id).send().await.map_err(|e| {
        aws_error(e, &format!("checking secret {secret_id}"), &aws.place, || {
            format!(
                "no secret {secret_id} in {}: create it first (aws secretsmanager create-secret --name {secret_id} --secret-string file://creds.json)",
                aws.place
            )
        })
    })?;
    let name = out.name.unwrap_or_else(|| secret_id.to_string());
    if out.deleted_date.is_some() {
        return Err(fatal(format!(
            "secret {name} is scheduled for deletion: restore it (aws secretsmanager restore-secret --secret-id {name}) or create a new one"
        )));
    }
    if !name.starts_with(prefix) {
        return Err(fatal(outside_prefix(&name, prefix)));
    }
    Ok(SecretFound { name })
}

/// Whether a marketplace URL points at this machine (the sandbox in tests and local runs).
pub fn is_loopback(url: &str) -> bool {
    let Some(rest) = url.split_once("://").map(|(_, r)| r) else { return false };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map(|(_, h)| h).unwrap_or(authority);
    let host = if let Some(v6) = host.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        host.split(':').next().unwrap_or("")
    };
    host == "localhost" || host.parse::<std::net::IpAddr>().map(|ip| ip.is_loopback()).unwrap_or(false)
}

fn api_base_url(account: &MarketplaceAccount) -> &str {
    account.api_base_url()
}

fn subscription_queue(deployed: Option<&Deployed>, options: &SubscribeOptions) -> Option<String> {
    options.queue_arn.clone().or_else(|| deployed.and_then(|d| d.output(outputs::ORDER_CHANGE_QUEUE_ARN)))
}

/// Subscribes the account's order changes to `queue_arn`. A loopback (sandbox) API that can't
/// is noted, not an error.
async fn subscribe(session: &Session, account: &MarketplaceAccount, queue_arn: &str) -> Result<String> {
    let deadline = Deadline::after(MARKETPLACE_TIME);
    let result = async {
        let client = session.ports.marketplaces.connect(account).await?;
        client.subscribe_order_changes(queue_arn, deadline).await
    }
    .await;
    match result {
        Ok(Subscription::Active { subscription_id, .. }) => {
            Ok(format!("subscribed to ORDER_CHANGE notifications: subscription {subscription_id}"))
        }
        Ok(Subscription::NotSupported) => {
            Ok(format!("{} pushes no order changes; nothing to subscribe", account.marketplace()))
        }
        Err(error) if is_loopback(api_base_url(account)) => Ok(format!(
            "note: not subscribed to ORDER_CHANGE: the sandbox API at {} refused ({})",
            api_base_url(account),
            one_line(&error.to_string())
        )),
        Err(error) => Err(fatal(format!(
            "subscribing account {} to ORDER_CHANGE notifications failed: {}",
            account.id,
            one_line(&error.to_string())
        ))),
    }
}

/// Whether the account's marketplace pushes order changes to subscribe to (Amazon's
/// `ORDER_CHANGE`); SCX pushes nothing, its import reads the seller's event feed.
fn pushes_order_changes(account: &MarketplaceAccount) -> bool {
    account.marketplace() == Marketplace::Amazon
}

const NOTHING_TO_SUBSCRIBE: &str =
    "SCX pushes no order changes: nothing to subscribe (the import reads its event feed)";

fn needs_seller_id(account: &MarketplaceAccount) -> bool {
    account.seller_id().is_none() && !is_loopback(api_base_url(account))
}

/// Refuses an account that exists already and, on a deployed stack, checks its secret where
/// the functions will look for it. Returns the deployment when the account goes to one (the
/// local store has no AWS: nothing checked, nothing subscribed). `lines` gets one per step.
async fn check_new_account<'d>(
    session: &Session,
    deployed: Option<&'d Deployed>,
    account: &MarketplaceAccount,
    prefix_flag: Option<&str>,
    lines: &mut Vec<String>,
) -> Result<Option<&'d Deployed>> {
    if session.ports.accounts.get_account(&account.id).await?.is_some() {
        return Err(fatal(format!("account {} exists already", account.id)));
    }
    match deployed {
        Some(deployed) if !session.is_local() => {
            let prefix = secret_prefix(Some(deployed), prefix_flag);
            let found = check_secret(&deployed.aws, account.credentials_secret(), &prefix).await?;
            lines.push(format!("secret {} found under {prefix}", found.name));
            Ok(Some(deployed))
        }
        _ => {
            lines.push("local store: secret not checked, nothing subscribed".into());
            Ok(None)
        }
    }
}

/// Stores a checked account, then prints what was done, one line per step.
async fn store_new_account(
    session: &Session,
    account: &MarketplaceAccount,
    lines: Vec<String>,
) -> Result<()> {
    session.add_account(account).await?;
    println!("account {} added ({})", account.id, if account.enabled { "enabled" } else { "disabled" });
    for line in lines {
        println!("{line}");
    }
    Ok(())
}

/// `accounts add amazon`: checks, subscribes, then stores, so that a refused add leaves nothing
/// behind and can simply be repeated.
pub async fn add_amazon(
    session: &Session,
    deployed: Option<&Deployed>,
    new: NewAmazonAccount,
    prefix_flag: Option<&str>,
    options: &SubscribeOptions,
) -> Result<()> {
    let id = AccountId::parse(&new.id)?;
    let mut account = crate::commands::amazon_account(
        id,
        new.secret.clone(),
        new.marketplace_ids,
        new.api_base_url,
        new.token_url,
    );
    account.enabled = new.enabled;
    if let AccountSettings::Amazon(AmazonSettings { seller_id, .. }) = &mut account.settings {
        *seller_id = new.seller_id.filter(|s| !s.trim().is_empty());
    }

    let mut lines = Vec::new();
    if let Some(deployed) = check_new_account(session, deployed, &account, prefix_flag, &mut lines).await? {
        let queue = subscription_queue(Some(deployed), options);
        match (account.enabled, options.skip, queue) {
            (false, _, _) => lines.push("not subscribed to ORDER_CHANGE: the account is disabled".into()),
            (true, true, _) => lines.push("not subscribed to ORDER_CHANGE (--no-subscribe)".into()),
            (true, false, None) => lines.push(
                "not subscribed to ORDER_CHANGE: pass --stack NAME or --order-change-queue-arn ARN".into(),
            ),
            (true, false, Some(queue)) => {
                if needs_seller_id(&account) {
                    return Err(fatal(
                        "--seller-id is needed to subscribe: Amazon's ORDER_CHANGE notifications name the seller by it (Seller Central: Settings, Account Info, Merchant Token); or pass --no-subscribe",
                    ));
                }
                let line = subscribe(session, &account, &queue).await?;
                lines.push(line);
            }
        }
    }
    store_new_account(session, &account, lines).await
}

/// `accounts add scx`.
#[derive(Debug, Clone)]
pub struct NewScxAccount {
    pub id: String,
    pub secret: String,
    pub seller_id: String,
    /// Empty: every channel of the seller.
    pub channels: Vec<String>,
    pub api_base_url: String,
    pub decision_policy: DecisionPolicy,
    pub enabled: bool,
}

/// `--decisions`: how an SCX account answers the decisions SCX leaves to the seller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DecisionsFlag {
    /// Accept new orders and agree to cancellation requests at once.
    Auto,
    /// Leave them to the operator (`orderbridge decisions …`).
    Operator,
}

impl DecisionsFlag {
    pub fn policy(self) -> DecisionPolicy {
        match self {
            DecisionsFlag::Auto => DecisionPolicy::AcceptAutomatically,
            DecisionsFlag::Operator => DecisionPolicy::AskOperator,
        }
    }
}

/// The `--decisions` value a policy is given by.
pub fn policy_name(policy: DecisionPolicy) -> &'static str {
    match policy {
        DecisionPolicy::AcceptAutomatically => "auto",
        DecisionPolicy::AskOperator => "operator",
    }
}

/// `min` to `max` ASCII word characters (`^\w{min,max}$`).
fn is_word(value: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&value.len()) && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// An SCX seller id as JTL defines it (`^\w{1,50}$`).
pub fn scx_seller_id(value: &str) -> Result<String> {
    if is_word(value, 1, 50) {
        Ok(value.to_string())
    } else {
        Err(fatal(format!(
            "seller id {value:?} is not an SCX seller id: 1 to 50 letters, digits or underscores"
        )))
    }
}

/// SCX channels as JTL defines them (`^\w{5,15}$`, e.g. OTTODE), without repeats.
pub fn scx_channels(values: &[String]) -> Result<Vec<String>> {
    let mut channels: Vec<String> = Vec::new();
    for value in values {
        if !is_word(value, 5, 15) {
            return Err(fatal(format!(
                "channel {value:?} is not an SCX channel: 5 to 15 letters, digits or underscores, e.g. OTTODE"
            )));
        }
        if !channels.contains(value) {
            channels.push(value.clone());
        }
    }
    Ok(channels)
}

/// `accounts add scx`: checks the secret, then stores. SCX pushes nothing to subscribe to: the
/// import reads the seller's event feed.
pub async fn add_scx(
    session: &Session,
    deployed: Option<&Deployed>,
    new: NewScxAccount,
    prefix_flag: Option<&str>,
) -> Result<()> {
    let settings = ScxSettings {
        api_base_url: new.api_base_url,
        credentials_secret: new.secret,
        seller_id: scx_seller_id(&new.seller_id)?,
        channels: scx_channels(&new.channels)?,
        decision_policy: new.decision_policy,
        requests_per_minute: None,
    };
    let imports = format!(
        "imports {}, decisions {}",
        channels_text(&settings.channels),
        policy_name(settings.decision_policy)
    );
    let account = MarketplaceAccount {
        id: AccountId::parse(&new.id)?,
        enabled: new.enabled,
        settings: AccountSettings::Scx(settings),
    };
    let mut lines = Vec::new();
    if check_new_account(session, deployed, &account, prefix_flag, &mut lines).await?.is_some() {
        lines.push(NOTHING_TO_SUBSCRIBE.into());
    }
    lines.push(imports);
    store_new_account(session, &account, lines).await
}

/// `channels A,B`, or `all channels` when the list is empty.
pub fn channels_text(channels: &[String]) -> String {
    if channels.is_empty() {
        "all channels".into()
    } else {
        format!("channels {}", channels.join(","))
    }
}

/// What `accounts list` shows of an account's marketplace settings beyond its seller id (SCX:
/// its channels and decision policy).
pub fn settings_text(account: &MarketplaceAccount) -> Option<String> {
    match &account.settings {
        AccountSettings::Amazon(_) => None,
        AccountSettings::Scx(settings) => Some(format!(
            "{}\tdecisions {}",
            channels_text(&settings.channels),
            policy_name(settings.decision_policy)
        )),
    }
}

async fn load(session: &Session, id: &str) -> Result<MarketplaceAccount> {
    let id = AccountId::parse(id)?;
    session.ports.accounts.get_account(&id).await?.with_context(|| format!("no account {id}"))
}

/// `accounts enable ID`: enables, then subscribes again.
pub async fn enable(
    session: &Session,
    deployed: Option<&Deployed>,
    id: &str,
    options: &SubscribeOptions,
) -> Result<()> {
    let mut account = load(session, id).await?;
    account.enabled = true;
    session.ports.accounts.put_account(&account).await?;
    println!("account {} enabled", account.id);
    let Some(deployed) = deployed.filter(|_| !session.is_local()) else {
        return Ok(());
    };
    if !pushes_order_changes(&account) {
        println!("{NOTHING_TO_SUBSCRIBE}");
        return Ok(());
    }
    if options.skip {
        println!("not subscribed to ORDER_CHANGE (--no-subscribe)");
        return Ok(());
    }
    let Some(queue) = subscription_queue(Some(deployed), options) else {
        println!("not subscribed to ORDER_CHANGE: pass --stack NAME or --order-change-queue-arn ARN");
        return Ok(());
    };
    if needs_seller_id(&account) {
        println!(
            "not subscribed to ORDER_CHANGE: the account has no seller id (`orderbridge accounts update {} --seller-id ID`)",
            account.id
        );
        return Ok(());
    }
    match subscribe(session, &account, &queue).await {
        Ok(line) => {
            println!("{line}");
            Ok(())
        }
        Err(error) => Err(fatal(format!(
            "account {} is enabled, but {}; run `orderbridge accounts enable {}` again to retry (the import reads its orders meanwhile)",
            account.id,
            crate::errors::report(&error),
            account.id
        ))),
    }
}

/// `accounts disable ID`: unsubscribes, then disables (also when unsubscribing failed: the
/// error says so, and repeating the command retries).
pub async fn disable(
    session: &Session,
    deployed: Option<&Deployed>,
    id: &str,
    keep_subscription: bool,
) -> Result<()> {
    let mut account = load(session, id).await?;
    let mut failure = None;
    if deployed.is_some() && !session.is_local() && !keep_subscription && pushes_order_changes(&account) {
        let deadline = Deadline::after(MARKETPLACE_TIME);
        let result = async {
            let client = session.ports.marketplaces.connect(&account).await?;
            client.unsubscribe_order_changes(deadline).await
        }
        .await;
        match result {
            Ok(()) => println!("ORDER_CHANGE subscription removed (if there was one)"),
            Err(error) if is_loopback(api_base_url(&account)) => println!(
                "note: ORDER_CHANGE subscription not removed: the sandbox API at {} refused ({})",
                api_base_url(&account),
                one_line(&error.to_string())
            ),
            Err(error) => failure = Some(one_line(&error.to_string())),
        }
    }
    account.enabled = false;
    session.ports.accounts.put_account(&account).await?;
    println!("account {} disabled", account.id);
    match failure {
        None => Ok(()),
        Some(cause) => Err(fatal(format!(
            "account {} is disabled, but its ORDER_CHANGE subscription could not be removed: {cause}; run `orderbridge accounts disable {}` again once that is fixed",
            account.id, account.id
        ))),
    }
}

/// `accounts update ID`: what to change; `None` leaves a setting as it is.
#[derive(Debug, Clone, Default)]
pub struct AccountUpdate {
    pub seller_id: Option<String>,
    /// SCX: the channels to import (replaces the list); `Some(vec![])` imports every channel.
    pub channels: Option<Vec<String>>,
    /// SCX: how decisions are answered.
    pub decision_policy: Option<DecisionPolicy>,
}

/// `accounts update ID --seller-id S --channel C… --all-channels --decisions auto|operator`.
pub async fn update(session: &Session, id: &str, update: AccountUpdate) -> Result<()> {
    let mut account = load(session, id).await?;
    let mut changed = Vec::new();
    if let Some(seller_id) = update.seller_id {
        match &mut account.settings {
            AccountSettings::Amazon(settings) => {
                settings.seller_id = Some(seller_id.clone()).filter(|s| !s.trim().is_empty())
            }
            AccountSettings::Scx(settings) => settings.seller_id = scx_seller_id(&seller_id)?,
        }
        changed.push(format!("seller id {seller_id}"));
    }
    if update.channels.is_some() || update.decision_policy.is_some() {
        let AccountSettings::Scx(settings) = &mut account.settings else {
            return Err(fatal(format!(
                "account {} is an {} account: --channel, --all-channels and --decisions are for SCX accounts",
                account.id,
                account.marketplace()
            )));
        };
        if let Some(channels) = update.channels {
            settings.channels = scx_channels(&channels)?;
            changed.push(channels_text(&settings.channels));
        }
        if let Some(policy) = update.decision_policy {
            settings.decision_policy = policy;
            changed.push(format!("decisions {}", policy_name(policy)));
        }
    }
    if changed.is_empty() {
        return Err(fatal(match account.marketplace() {
            Marketplace::Amazon => "nothing to update: pass --seller-id ID",
            Marketplace::Scx => {
                "nothing to update: pass --seller-id ID, --channel CHANNEL, --all-channels or --decisions auto|operator"
            }
        }));
    }
    session.ports.accounts.put_account(&account).await?;
    println!("account {} updated: {}", account.id, changed.join(", "));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_urls_are_recognised() {
        assert!(is_loopback("http://127.0.0.1:9100"));
        assert!(is_loopback("http://localhost:9100/path"));
        assert!(is_loopback("http://[::1]:80"));
        assert!(!is_loopback("https://sellingpartnerapi-eu.amazon.com"));
        assert!(!is_loopback("https://127.0.0.1.example.com"));
        assert!(!is_loopback("not a url"));
    }

    #[test]
    fn a_secret_outside_the_prefix_names_where_it_should_be() {
        assert_eq!(
            outside_prefix("my-secret", "orderbridge/"),
            "secret my-secret lies outside orderbridge/, the prefix the functions may read: store it as orderbridge/my-secret (or deploy with another MarketplaceSecretPrefix)"
        );
    }
}
