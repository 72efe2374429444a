//! `orderbridge`: run the whole pipeline locally, manage accounts, look at orders, record
//! shipments — against the local store or a real DynamoDB table.

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand};
use orderbridge::domain::{AccountId, OrderStatus, ShipmentRequest};
use orderbridge_cli::commands::{amazon_account, dead_letters, parse_package_line, Session, StoreTarget};
use orderbridge_cli::local_run::{self, LocalRunOptions};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "orderbridge", version, about = "Marketplace order intake on AWS serverless")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole pipeline on this machine: sandbox marketplace, embedded store, in-process
    /// queue. Needs no AWS account.
    LocalRun {
        #[arg(long, default_value_t = 2)]
        accounts: u32,
        #[arg(long, default_value_t = 6)]
        orders_per_account: u32,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Keep the store in this file, to inspect it afterwards with `--local FILE`.
        #[arg(long)]
        store: Option<PathBuf>,
    },
    /// Create the orders table (local store or an endpoint) if it does not exist.
    InitTable(#[command(flatten)] Target),
    /// Connected marketplace accounts.
    Accounts {
        #[command(flatten)]
        target: Target,
        #[command(subcommand)]
        command: AccountsCommand,
    },
    /// Sales orders.
    Orders {
        #[command(flatten)]
        target: Target,
        #[command(subcommand)]
        command: OrdersCommand,
    },
    /// Status checks that kept failing (the status dead-letter queue): list them, send them back.
    DeadLetters {
        /// The status queue (stack output StatusQueueUrl).
        #[arg(long, env = "ORDERBRIDGE_STATUS_QUEUE_URL")]
        queue_url: String,
        /// Its dead-letter queue (stack output StatusDeadLetterQueueUrl).
        #[arg(long, env = "ORDERBRIDGE_STATUS_DLQ_URL")]
        dead_letter_queue_url: String,
        #[arg(long)]
        endpoint_url: Option<String>,
        #[command(subcommand)]
        command: DeadLettersCommand,
    },
    /// Shipments of orders.
    Shipments {
        #[command(flatten)]
        target: Target,
        #[command(subcommand)]
        command: ShipmentsCommand,
    },
}

#[derive(Args)]
struct Target {
    /// A DynamoDB table (as deployed: see the stack output OrdersTableName).
    #[arg(long, env = "ORDERBRIDGE_TABLE", conflicts_with = "local")]
    table: Option<String>,
    /// Another DynamoDB endpoint for --table, e.g. a local server.
    #[arg(long, requires = "table")]
    endpoint_url: Option<String>,
    /// The local store file written by `local-run --store FILE`.
    #[arg(long, default_value = ".local/orderbridge.db")]
    local: PathBuf,
}

impl Target {
    fn store(&self) -> StoreTarget {
        match &self.table {
            Some(name) => StoreTarget::Table { name: name.clone(), endpoint_url: self.endpoint_url.clone() },
            None => StoreTarget::Local(self.local.clone()),
        }
    }
}

#[derive(Subcommand)]
enum AccountsCommand {
    /// Connect an Amazon seller account. Its LWA credentials must be in Secrets Manager as
    /// JSON {"client_id","client_secret","refresh_token"}.
    Add {
        #[arg(long)]
        id: String,
        /// Secrets Manager secret id (name or ARN), e.g. orderbridge/amazon-de.
        #[arg(long)]
        secret: String,
        /// Amazon marketplace id(s), e.g. A1PA6795UKMFR9 (amazon.de).
        #[arg(long = "marketplace-id", required = true)]
        marketplace_ids: Vec<String>,
        #[arg(long, default_value = "https://sellingpartnerapi-eu.amazon.com")]
        api_base_url: String,
        #[arg(long, default_value = "https://api.amazon.com/auth/o2/token")]
        token_url: String,
    },
    List,
    Disable {
        id: String,
    },
    Enable {
        id: String,
    },
    /// Orders the marketplace sent that could not be imported, with the reason: the open ones,
    /// or with `--all` also those imported successfully since (with the time they were).
    Rejected {
        id: String,
        #[arg(long)]
        all: bool,
    },
}

#[derive(Subcommand)]
enum OrdersCommand {
    /// Orders with one status (Pending, Deliverable, PartiallyShipped, Shipped, Cancelled).
    List {
        #[arg(long)]
        status: String,
    },
    /// One order with its packages (includes customer data: for the merchant's eyes only).
    Show {
        #[arg(long)]
        account: String,
        order: String,
    },
}

#[derive(Subcommand)]
enum DeadLettersCommand {
    /// Show dead letters (listing hides them from other readers for a minute).
    List {
        #[arg(long, default_value_t = 100)]
        max: usize,
    },
    /// Move dead letters back to the status queue. Safe to repeat.
    Redrive {
        #[arg(long, default_value_t = 1000)]
        max: usize,
    },
}

#[derive(Subcommand)]
enum ShipmentsCommand {
    /// Record one shipped package; the shipment function reports it at its next run.
    Record {
        #[arg(long)]
        account: String,
        #[arg(long)]
        order: String,
        #[arg(long)]
        carrier: String,
        #[arg(long)]
        tracking_id: String,
        /// RFC 3339; now when omitted.
        #[arg(long)]
        ship_date: Option<DateTime<Utc>>,
        #[arg(long)]
        shipping_method: Option<String>,
        /// ITEM_ID:QUANTITY, once per item in the package.
        #[arg(long = "item", required = true)]
        items: Vec<String>,
    },
    /// Packages the marketplace refused for good.
    Failed,
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
                .unwrap_or_else(|_| "warn,dynoxide=error".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::LocalRun { accounts, orders_per_account, seed, store } => {
            println!(
                "Orderbridge local run: sandbox marketplace, embedded store, in-process queue (seed {seed})"
            );
            let summary =
                local_run::run(&LocalRunOptions { accounts, orders_per_account, seed, store: store.clone() })
                    .await?;
            summary.print();
            if let Some(store) = store {
                println!(
                    "The store is kept in {}: try `orderbridge orders --local {} list --status Shipped`.",
                    store.display(),
                    store.display()
                );
            }
            Ok(())
        }
        Command::InitTable(target) => {
            let session = Session::open(&target.store()).await?;
            let created = session.init_table().await?;
            println!("{}", if created { "table created" } else { "table exists" });
            session.close().await;
            Ok(())
        }
        Command::Accounts { target, command } => {
            let session = Session::open(&target.store()).await?;
            let result = accounts(&session, command).await;
            session.close().await;
            result
        }
        Command::Orders { target, command } => {
            let session = Session::open(&target.store()).await?;
            let result = orders(&session, command).await;
            session.close().await;
            result
        }
        Command::DeadLetters { queue_url, dead_letter_queue_url, endpoint_url, command } => {
            let letters = dead_letters(&queue_url, &dead_letter_queue_url, endpoint_url.as_deref()).await;
            match command {
                DeadLettersCommand::List { max } => {
                    for letter in letters.list(max, std::time::Duration::from_secs(60)).await? {
                        let receives = letter.receive_count.map(|c| c.to_string()).unwrap_or_default();
                        println!("{}\treceived {receives}x\t{}", letter.message_id, letter.body);
                    }
                }
                DeadLettersCommand::Redrive { max } => {
                    println!("{} status checks sent back to the status queue", letters.redrive(max).await?);
                }
            }
            Ok(())
        }
        Command::Shipments { target, command } => {
            let session = Session::open(&target.store()).await?;
            let result = shipments(&session, command).await;
            session.close().await;
            result
        }
    }
}

async fn accounts(session: &Session, command: AccountsCommand) -> Result<()> {
    match command {
        AccountsCommand::Add { id, secret, marketplace_ids, api_base_url, token_url } => {
            let account =
                amazon_account(AccountId::parse(id)?, secret, marketplace_ids, api_base_url, token_url);
            session.add_account(&account).await?;
            println!("account {} added", account.id);
        }
        AccountsCommand::List => {
            for account in session.accounts().await? {
                println!(
                    "{}\t{}\t{}",
                    account.id,
                    account.marketplace(),
                    if account.enabled { "enabled" } else { "disabled" }
                );
            }
        }
        AccountsCommand::Disable { id } => {
            session.set_account_enabled(&AccountId::parse(id)?, false).await?;
            println!("disabled");
        }
        AccountsCommand::Enable { id } => {
            session.set_account_enabled(&AccountId::parse(id)?, true).await?;
            println!("enabled");
        }
        AccountsCommand::Rejected { id, all } => {
            for rejected in session.ports.orders.rejections(&AccountId::parse(id)?, all).await? {
                let state = match rejected.resolved_at {
                    Some(at) => format!("resolved {}", at.to_rfc3339()),
                    None => "open".to_string(),
                };
                println!(
                    "{}\t{}\t{}\t{}",
                    rejected.rejected_at.to_rfc3339(),
                    rejected.marketplace_order_id.as_deref().unwrap_or("<unreadable>"),
                    state,
                    rejected.reason
                );
            }
        }
    }
    Ok(())
}

async fn orders(session: &Session, command: OrdersCommand) -> Result<()> {
    match command {
        OrdersCommand::List { status } => {
            let status = OrderStatus::parse(&status).with_context(|| {
                format!("unknown status {status:?}; one of Pending, Deliverable, PartiallyShipped, Shipped, Cancelled")
            })?;
            for order in session.orders(status).await? {
                println!(
                    "{}\t{}\t{}\t{} items\t{}",
                    order.key.account_id,
                    order.key.marketplace_order_id,
                    order.created_at.to_rfc3339(),
                    order.total_items(),
                    // A Pending order may have no prices yet.
                    order.prices().map(|p| p.total.to_string()).unwrap_or_else(|| "no prices yet".into())
                );
            }
        }
        OrdersCommand::Show { account, order } => {
            let key = session.order_key(&AccountId::parse(account)?, &order).await?;
            println!("{}", serde_json::to_string_pretty(&session.show_order(&key).await?)?);
        }
    }
    Ok(())
}

async fn shipments(session: &Session, command: ShipmentsCommand) -> Result<()> {
    match command {
        ShipmentsCommand::Record {
            account,
            order,
            carrier,
            tracking_id,
            ship_date,
            shipping_method,
            items,
        } => {
            let key = session.order_key(&AccountId::parse(account)?, &order).await?;
            let request = ShipmentRequest {
                carrier,
                tracking_id,
                ship_date: ship_date.unwrap_or_else(Utc::now),
                shipping_method,
                items: items.iter().map(|i| parse_package_line(i)).collect::<Result<_>>()?,
            };
            let recorded = session.record_shipment(&key, &request).await?;
            println!("{}", serde_json::to_string(&recorded)?);
        }
        ShipmentsCommand::Failed => {
            for package in session.ports.orders.failed_packages(1000).await? {
                println!("{}\tpackage {}\t{:?}", package.order, package.id, package.state);
            }
        }
    }
    Ok(())
}
