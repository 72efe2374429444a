//! The whole pipeline on one machine: the marketplace sandbox, the embedded store and an
//! in-process status queue, driven through the same handlers that run in Lambda.

use crate::embedded::EmbeddedStore;
use anyhow::{bail, Context, Result};
use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use orderbridge::adapters::local::InProcessQueue;
use orderbridge::adapters::secrets::InMemorySecrets;
use orderbridge::domain::account::{AmazonSettings, ScxSettings};
use orderbridge::domain::{
    AccountId, AccountSettings, DecisionPolicy, MarketplaceAccount, OrderStatus, SalesOrder,
};
use orderbridge::handlers;
use orderbridge::handlers::shipment::{RecordShipment, RecordShipmentItem};
use orderbridge::ports::{PipelineSettings, Ports};
use orderbridge::{wiring, Deadline};
use orderbridge_sandbox::{
    NewOrder, NewScxOrder, RunningSandbox, Sandbox, SandboxConfig, ScxCancelledBy, ScxConfig, ScxOrderKey,
    ScxRateLimit, SellerCredentials,
};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub const LOCAL_TABLE: &str = "orderbridge-local";

#[derive(Debug, Clone)]
pub struct LocalRunOptions {
    pub accounts: u32,
    pub orders_per_account: u32,
    pub seed: u64,
    /// Keep the store in this file (it survives the run); in memory when None.
    pub store: Option<PathBuf>,
}

impl Default for LocalRunOptions {
    fn default() -> Self {
        Self { accounts: 2, orders_per_account: 6, seed: 7, store: None }
    }
}

/// What happened, per account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountRun {
    pub imported: u32,
    pub imported_pending: u32,
    pub released: u32,
    pub cancelled: u32,
    pub packages_confirmed: u32,
    /// Orders by status at the end of the run.
    pub final_status: BTreeMap<OrderStatus, u32>,
}

#[derive(Debug, Clone, Default)]
pub struct LocalRunSummary {
    pub accounts: BTreeMap<String, AccountRun>,
    /// Shipment confirmations the sandbox marketplace received.
    pub marketplace_confirmations: usize,
}

/// The window lag the sandbox enforces and the local accounts respect: Amazon's two minutes
/// would make a local run wait; the rule itself is the same.
const LOCAL_WINDOW_LAG: Duration = Duration::from_secs(1);

pub async fn run(options: &LocalRunOptions) -> Result<LocalRunSummary> {
    if options.accounts == 0 || options.orders_per_account == 0 {
        bail!("need at least one account and one order per account");
    }
    let store = EmbeddedStore::start(options.store.as_deref()).await?;
    let table = store.orders_table(LOCAL_TABLE).await?;
    let sandbox = Sandbox::new(SandboxConfig {
        seed: options.seed,
        window_lag: LOCAL_WINDOW_LAG,
        // The local SCX seller was granted more than the assumed 10 requests a minute, so the
        // run doesn't wait for pacing.
        scx: ScxConfig {
            rate_limit: ScxRateLimit::new(LOCAL_SCX_REQUESTS_PER_MINUTE, Duration::from_secs(60)),
            ..ScxConfig::default()
        },
        ..Default::default()
    });
    let marketplace = sandbox.start().await.context("starting the marketplace sandbox")?;
    let queue = Arc::new(InProcessQueue::new());
    let secrets = Arc::new(InMemorySecrets::new());
    let settings = PipelineSettings {
        first_status_check_delay: Duration::ZERO,
        pending_recheck_base: Duration::from_secs(1),
        pending_recheck_max: Duration::from_secs(4),
        ..PipelineSettings::default()
    };
    let ports = wiring::ports_over(table, queue.clone(), secrets.clone(), settings);

    let mut summary = LocalRunSummary::default();
    let mut orders_of: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for n in 1..=options.accounts {
        let seller = sandbox.add_seller();
        let account_id = format!("amazon-local-{n}");
        let secret_id = format!("orderbridge/local/{account_id}");
        secrets.insert(&secret_id, seller_secret(&seller));
        let account = sandbox_account(
            AccountId::parse(&account_id)?,
            &marketplace,
            &seller,
            secret_id,
            LOCAL_WINDOW_LAG.as_secs() as u32,
        );
        ports.accounts.put_account(&account).await?;
        // Two of every three orders arrive with their payment not yet released.
        let ids = (0..options.orders_per_account)
            .map(|i| {
                let order = if i % 3 == 2 { NewOrder::released(vec![]) } else { NewOrder::pending(vec![]) };
                // Placed a minute ago, so the first import window (ending a second before now)
                // already holds them.
                sandbox.create_order_at(
                    &seller.seller_id,
                    order,
                    chrono::Utc::now() - chrono::Duration::minutes(1),
                )
            })
            .collect();
        orders_of.insert(account_id.clone(), ids);
        summary.accounts.insert(account_id, AccountRun::default());
    }

    let scx_orders = add_scx_account(&ports, &sandbox, &marketplace, &secrets, options).await?;
    summary.accounts.insert(SCX_ACCOUNT.to_string(), AccountRun::default());

    println!("1. importing new orders");
    import(&ports, &mut summary).await?;
    drain_status_queue(&ports, &queue).await;

    println!("2. the marketplace releases payments (and a buyer cancels)");
    for ids in orders_of.values() {
        let pending: Vec<&String> =
            ids.iter().filter(|id| sandbox.order_status(id).as_deref() == Some("PENDING")).collect();
        // One stays pending, one is cancelled, the rest are released.
        for (i, id) in pending.iter().enumerate() {
            match i {
                0 => {}
                1 => {
                    sandbox.cancel(id);
                }
                _ => {
                    sandbox.release_payment(id);
                }
            }
        }
    }
    // SCX: the channels send the address and accept all but one order, and cancel that one.
    for (i, key) in scx_orders.iter().enumerate() {
        if i == 0 {
            sandbox.scx_cancel(key, ScxCancelledBy::Buyer, &[]);
        } else {
            sandbox.scx_add_address(key);
            sandbox.scx_accept(key);
        }
    }
    // The releases happened now; the next window ends a (whole) second before its start.
    tokio::time::sleep(LOCAL_WINDOW_LAG * 2 + Duration::from_millis(100)).await;
    import(&ports, &mut summary).await?;
    let outcomes = drain_status_queue(&ports, &queue).await;
    for (account, promoted, cancelled) in outcomes {
        let run = summary.accounts.entry(account).or_default();
        run.released += promoted;
        run.cancelled += cancelled;
    }

    println!("3. the merchant ships every deliverable order; shipments are confirmed");
    let deliverable = all_orders(&ports, OrderStatus::Deliverable).await?;
    for order in &deliverable {
        record_full_shipment(&ports, order).await?;
    }
    let shipped = handlers::shipment::handle(&ports, json!({}), Deadline::unlimited()).await?;
    tracing::debug!(?shipped, "shipment run");

    for status in OrderStatus::ALL {
        for order in all_orders(&ports, status).await? {
            let run = summary.accounts.entry(order.key.account_id.to_string()).or_default();
            *run.final_status.entry(status).or_default() += 1;
            if matches!(status, OrderStatus::Shipped | OrderStatus::PartiallyShipped) {
                run.packages_confirmed += order.packages_recorded;
            }
        }
    }
    summary.marketplace_confirmations = sandbox.confirmations().len() + sandbox.scx_shipping_notices().len();
    store.stop().await;
    Ok(summary)
}

/// The local SCX account: one seller selling on two channels, read as one account.
pub const SCX_ACCOUNT: &str = "scx-local";
const SCX_CHANNELS: [&str; 2] = ["OTTODE", "KAUFLANDDE"];
const LOCAL_SCX_REQUESTS_PER_MINUTE: u32 = 600;

/// Connects an SCX seller selling on two channels, answering decisions automatically, and
/// places `orders_per_account` orders across its channels, not yet accepted and without
/// address (as channels create them).
async fn add_scx_account(
    ports: &Ports,
    sandbox: &Sandbox,
    marketplace: &RunningSandbox,
    secrets: &InMemorySecrets,
    options: &LocalRunOptions,
) -> Result<Vec<ScxOrderKey>> {
    let seller = sandbox.add_scx_seller(&SCX_CHANNELS);
    let secret_id = format!("orderbridge/local/{SCX_ACCOUNT}");
    secrets.insert(&secret_id, json!({ "refresh_token": seller.refresh_token }).to_string());
    let account = MarketplaceAccount {
        id: AccountId::parse(SCX_ACCOUNT)?,
        enabled: true,
        settings: AccountSettings::Scx(ScxSettings {
            api_base_url: marketplace.base_url.clone(),
            credentials_secret: secret_id,
            seller_id: seller.seller_id(SCX_CHANNELS[0]).context("the seller sells on OTTO")?.to_string(),
            channels: Vec::new(),
            decision_policy: DecisionPolicy::AcceptAutomatically,
            requests_per_minute: Some(LOCAL_SCX_REQUESTS_PER_MINUTE),
        }),
    };
    ports.accounts.put_account(&account).await?;
    Ok((0..options.orders_per_account)
        .map(|i| {
            let channel = SCX_CHANNELS[i as usize % SCX_CHANNELS.len()];
            sandbox.create_scx_order(&seller.account_id, channel, NewScxOrder::default())
        })
        .collect())
}

/// The Secrets Manager value of a sandbox seller's credentials.
pub fn seller_secret(seller: &SellerCredentials) -> String {
    json!({"client_id": seller.client_id, "client_secret": seller.client_secret, "refresh_token": seller.refresh_token})
        .to_string()
}

/// An Amazon account connected to a sandbox seller.
pub fn sandbox_account(
    id: AccountId,
    marketplace: &RunningSandbox,
    seller: &SellerCredentials,
    credentials_secret: String,
    window_lag_secs: u32,
) -> MarketplaceAccount {
    MarketplaceAccount {
        id,
        enabled: true,
        settings: AccountSettings::Amazon(AmazonSettings {
            api_base_url: marketplace.base_url.clone(),
            token_url: marketplace.token_url.clone(),
            credentials_secret,
            marketplace_ids: vec![seller.marketplace_id.clone()],
            window_lag_secs,
            overlap_secs: 60,
            initial_lookback_hours: 1,
            seller_id: Some(seller.seller_id.clone()),
            quota_overrides: Vec::new(),
        }),
    }
}

/// Runs the import function as the schedule would, adding up what it created.
async fn import(ports: &Ports, summary: &mut LocalRunSummary) -> Result<()> {
    let report = handlers::import::handle(ports, json!({}), Deadline::unlimited()).await?;
    for account in &report.accounts {
        let run = summary.accounts.entry(account.account_id.clone()).or_default();
        run.imported += account.created_pending + account.created_deliverable + account.created_cancelled;
        run.imported_pending += account.created_pending;
        // Changes the import applied itself (the marketplace's list shows the release).
        run.released += account.released;
        run.cancelled += account.cancelled;
    }
    Ok(())
}

/// Runs the status function over every check that is due, as SQS would deliver them, until
/// only checks waiting for a later time remain. Returns (account, promoted, cancelled) counts.
async fn drain_status_queue(ports: &Ports, queue: &InProcessQueue) -> Vec<(String, u32, u32)> {
    let mut counts: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    loop {
        let due = queue.take_due();
        if due.is_empty() {
            break;
        }
        for (i, check) in due.iter().enumerate() {
            let before = order_status(ports, check).await;
            let mut message = SqsMessage::default();
            message.message_id = Some(format!("local-{i}"));
            message.body = Some(serde_json::to_string(check).expect("status check serializes"));
            let mut event = SqsEvent::default();
            event.records = vec![message];
            let response = handlers::status::handle(ports, event, Deadline::unlimited()).await;
            if !response.batch_item_failures.is_empty() {
                tracing::warn!(order = %check.marketplace_order_id, "status check failed; it would be retried by SQS");
                continue;
            }
            let after = order_status(ports, check).await;
            let entry = counts.entry(check.account_id.to_string()).or_default();
            match (before, after) {
                (Some(OrderStatus::Pending), Some(OrderStatus::Deliverable)) => entry.0 += 1,
                (Some(b), Some(OrderStatus::Cancelled)) if b != OrderStatus::Cancelled => entry.1 += 1,
                _ => {}
            }
        }
    }
    counts.into_iter().map(|(a, (p, c))| (a, p, c)).collect()
}

async fn order_status(ports: &Ports, check: &orderbridge::ports::StatusCheck) -> Option<OrderStatus> {
    let account = ports.accounts.get_account(&check.account_id).await.ok()??;
    let key = orderbridge::domain::OrderKey::new(
        account.marketplace(),
        account.id.clone(),
        check.marketplace_order_id.clone(),
    );
    ports.orders.get_order(&key).await.ok()?.map(|o| o.status())
}

pub async fn all_orders(ports: &Ports, status: OrderStatus) -> Result<Vec<SalesOrder>> {
    let mut orders = Vec::new();
    let mut start = None;
    loop {
        let page = ports.orders.orders_by_status(status, 100, start).await?;
        orders.extend(page.items);
        match page.next {
            Some(next) => start = Some(next),
            None => return Ok(orders),
        }
    }
}

/// One package per order with every item, except that orders with several units ship in two.
async fn record_full_shipment(ports: &Ports, order: &SalesOrder) -> Result<()> {
    let mut packages: Vec<Vec<RecordShipmentItem>> = vec![vec![]];
    for line in &order.lines {
        let mut quantity = line.quantity_open();
        if quantity > 1 && packages.len() == 1 {
            packages.push(vec![RecordShipmentItem { order_item_id: line.item_id.clone(), quantity: 1 }]);
            quantity -= 1;
        }
        packages[0].push(RecordShipmentItem { order_item_id: line.item_id.clone(), quantity });
    }
    for (n, items) in packages.into_iter().enumerate() {
        let record = RecordShipment {
            account_id: order.key.account_id.clone(),
            marketplace_order_id: order.key.marketplace_order_id.clone(),
            carrier: "DHL".into(),
            tracking_id: Some(format!(
                "LOCAL{}{}",
                order.key.marketplace_order_id.as_str().replace('-', ""),
                n + 1
            )),
            tracking_ids: Vec::new(),
            return_tracking_id: None,
            ship_date: chrono::Utc::now(),
            shipping_method: Some("Paket".into()),
            items,
        };
        handlers::shipment::handle(ports, json!({ "record_shipment": record }), Deadline::unlimited())
            .await?;
    }
    Ok(())
}

impl LocalRunSummary {
    pub fn print(&self) {
        println!();
        println!(
            "{:<16} {:>8} {:>8} {:>9} {:>10} {:>8} {:>8} {:>9}",
            "account", "imported", "pending", "released", "cancelled", "shipped", "partial", "packages"
        );
        for (account, run) in &self.accounts {
            let status = |s| run.final_status.get(&s).copied().unwrap_or(0);
            println!(
                "{:<16} {:>8} {:>8} {:>9} {:>10} {:>8} {:>8} {:>9}",
                account,
                run.imported,
                status(OrderStatus::Pending),
                run.released,
                status(OrderStatus::Cancelled),
                status(OrderStatus::Shipped),
                status(OrderStatus::PartiallyShipped),
                run.packages_confirmed,
            );
        }
        println!();
        println!(
            "imported: new sales orders; pending: still waiting for payment; released: promoted to \
             Deliverable (by the import or the status function); packages: confirmed to the marketplace \
             (the sandbox received {}).",
            self.marketplace_confirmations
        );
    }
}
