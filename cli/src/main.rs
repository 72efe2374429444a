//! `orderbridge`: run the whole pipeline locally, manage accounts, look at orders, record
//! shipments, check a deployed stack — against the local store or a deployed stack.

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use clap::builder::PossibleValuesParser;
use clap::{Args, Parser, Subcommand};
use orderbridge::domain::{AccountId, OrderStatus, ShipmentRequest};
use orderbridge_cli::accounts::{
    self, AccountUpdate, DecisionsFlag, NewAmazonAccount, NewScxAccount, SubscribeOptions,
};
use orderbridge_cli::aws::{outputs, AwsOptions};
use orderbridge_cli::commands::{parse_package_line, Session};
use orderbridge_cli::decisions::{self, Which};
use orderbridge_cli::errors::{fatal, report};
use orderbridge_cli::local_run::{self, LocalRunOptions};
use orderbridge_cli::queues::{self, DeadLetterQueue};
use orderbridge_cli::target::{require_local_store, Deployed, Target, Targeting};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "orderbridge",
    version,
    about = "Marketplace order intake on AWS serverless",
    long_about = "Marketplace order intake on AWS serverless.\n\nCommands work on a deployed stack \
                  (--stack NAME, or --table NAME) or, without either, on the local store that \
                  `local-run --store FILE` keeps (--local FILE, default .local/orderbridge.db). \
                  The target flags go anywhere on the command line."
)]
struct Cli {
    #[command(flatten)]
    target: TargetArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
#[command(next_help_heading = "Target (anywhere on the command line)")]
struct TargetArgs {
    /// A deployed stack: its table, queues and secret prefix are read from its outputs.
    #[arg(long, global = true, env = "ORDERBRIDGE_STACK", value_name = "NAME")]
    stack: Option<String>,
    /// A DynamoDB table (stack output OrdersTableName); beats the stack's.
    #[arg(long, global = true, env = "ORDERBRIDGE_TABLE", value_name = "NAME")]
    table: Option<String>,
    /// AWS region of the stack.
    #[arg(long, global = true, env = "AWS_REGION", value_name = "REGION")]
    region: Option<String>,
    /// AWS profile (shared config/credentials files) to use.
    #[arg(long, global = true, env = "AWS_PROFILE", value_name = "PROFILE")]
    profile: Option<String>,
    /// Another AWS endpoint for every service, e.g. a local emulator. Region and credentials
    /// default to placeholders there.
    #[arg(long, global = true, value_name = "URL")]
    endpoint_url: Option<String>,
    /// The local store written by `local-run --store FILE` [default: .local/orderbridge.db].
    #[arg(long, global = true, value_name = "FILE")]
    local: Option<PathBuf>,
}

impl TargetArgs {
    fn targeting(&self) -> Targeting {
        let nonempty = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
        Targeting {
            stack: nonempty(&self.stack),
            table: nonempty(&self.table),
            local: self.local.clone(),
            aws: AwsOptions {
                region: nonempty(&self.region),
                profile: nonempty(&self.profile),
                endpoint_url: nonempty(&self.endpoint_url),
            },
        }
    }
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
    /// Create the orders table if it does not exist (the local store, or --table on an emulator;
    /// a deployed stack creates its own).
    InitTable,
    /// Check a deployed stack: the stack, table, queues, each account's secret and credentials.
    /// One line per check (ok, warn, FAIL); exits non-zero if any check fails.
    Doctor,
    /// Connected marketplace accounts.
    Accounts {
        #[command(subcommand)]
        command: AccountsCommand,
    },
    /// Sales orders.
    Orders {
        #[command(subcommand)]
        command: OrdersCommand,
    },
    /// Decisions a marketplace leaves to the seller (SCX: accept or refuse a new order, agree to
    /// or deny a cancellation request), each with its deadline.
    Decisions {
        #[command(subcommand)]
        command: DecisionsCommand,
    },
    /// Shipments of orders.
    Shipments {
        #[command(subcommand)]
        command: ShipmentsCommand,
    },
    /// Messages that kept failing (a dead-letter queue): list them, send them back.
    DeadLetters(DeadLettersArgs),
    /// Failed scheduled runs (import, shipment, housekeeping): the records Lambda and the
    /// scheduler leave in the stack's ScheduledRunFailuresQueue.
    Failures {
        #[command(subcommand)]
        command: FailuresCommand,
    },
}

#[derive(Subcommand)]
enum AccountsCommand {
    /// Connect a marketplace account.
    Add {
        #[command(subcommand)]
        marketplace: AddMarketplace,
    },
    /// Every account: id, marketplace, enabled or disabled, seller id; for SCX also its
    /// channels and how it answers decisions.
    List,
    /// Stop importing an account. Unsubscribes its order-change notifications first.
    Disable {
        id: String,
        /// Leave the ORDER_CHANGE subscription in place.
        #[arg(long)]
        keep_subscription: bool,
    },
    /// Import an account again. Subscribes its order-change notifications (with --stack).
    Enable {
        id: String,
        #[command(flatten)]
        subscribe: SubscribeArgs,
    },
    /// Change an account's settings.
    Update {
        id: String,
        /// The selling partner id (merchant token) Amazon's notifications name; SCX: the
        /// seller's id at SCX.
        #[arg(long, value_name = "ID")]
        seller_id: Option<String>,
        /// SCX: import only this channel (e.g. OTTODE); repeat for several. Replaces the list.
        #[arg(long = "channel", value_name = "CHANNEL", conflicts_with = "all_channels")]
        channels: Vec<String>,
        /// SCX: import every channel of the seller.
        #[arg(long)]
        all_channels: bool,
        /// SCX: answer decisions automatically (auto) or leave them to the operator.
        #[arg(long, value_enum, value_name = "auto|operator")]
        decisions: Option<DecisionsFlag>,
    },
    /// Orders the marketplace sent that could not be imported, with the reason: the open ones,
    /// or with `--all` also those imported successfully since (with the time they were).
    Rejected {
        id: String,
        #[arg(long)]
        all: bool,
    },
    /// Apply the account's kept marketplace deliveries again, oldest first (SCX events, kept
    /// for the buyer-data retention): the backfill of a marketplace without an order query.
    /// Idempotent: changes only what is missing.
    Replay {
        id: String,
        /// Only the deliveries of this order (SCX: CHANNEL:ORDER_ID).
        #[arg(long, value_name = "ORDER")]
        order: Option<String>,
    },
}

#[derive(Subcommand)]
enum AddMarketplace {
    /// An Amazon seller account. Its Login-with-Amazon credentials must be in Secrets Manager
    /// under the stack's secret prefix, as JSON {"client_id","client_secret","refresh_token"}.
    Amazon(AddAmazonArgs),
    /// A seller account at JTL's sales-channel hub SCX. Its refresh token must be in Secrets
    /// Manager under the stack's secret prefix, as JSON {"refresh_token"}. SCX pushes nothing to
    /// subscribe to: the import reads the seller's event feed.
    Scx(AddScxArgs),
}

#[derive(Args)]
struct AddScxArgs {
    #[command(flatten)]
    account: AddAccountArgs,
    /// The seller's id at SCX (sellerId).
    #[arg(long, value_name = "ID")]
    seller_id: String,
    /// Import only this channel, e.g. OTTODE; repeat for several [default: every channel].
    #[arg(long = "channel", value_name = "CHANNEL")]
    channels: Vec<String>,
    /// The SCX API.
    #[arg(long, value_name = "URL")]
    api_base_url: String,
    /// Answer decisions automatically (auto) or leave them to the operator (`orderbridge
    /// decisions`).
    #[arg(long, value_enum, default_value = "operator", value_name = "auto|operator")]
    decisions: DecisionsFlag,
}

#[derive(Subcommand)]
enum DecisionsCommand {
    /// Open decisions, the most urgent first: account, order, decision id, kind, units,
    /// requested at, respond until.
    List {
        /// Only this account's.
        #[arg(long, value_name = "ID")]
        account: Option<String>,
    },
    /// Accept a new order (its accept-order decision): it ships.
    Accept { account: String, order: String },
    /// Refuse a new order (its accept-order decision): the marketplace cancels it.
    Refuse { account: String, order: String },
    /// Agree to a buyer's cancellation request: its units are cancelled.
    AcceptCancellation { account: String, order: String, request_id: String },
    /// Deny a buyer's cancellation request: its units ship.
    DenyCancellation { account: String, order: String, request_id: String },
}

/// What every `accounts add` takes.
#[derive(Args)]
struct AddAccountArgs {
    /// The account's id in Orderbridge, e.g. amazon-de or scx-otto.
    #[arg(long)]
    id: String,
    /// Secrets Manager secret (name or ARN) holding the credentials, e.g. orderbridge/amazon-de.
    #[arg(long)]
    secret: String,
    /// The prefix the functions may read secrets under [default: the stack output
    /// MarketplaceSecretPrefix, else orderbridge/].
    #[arg(long, value_name = "PREFIX")]
    secret_prefix: Option<String>,
    /// Add the account disabled (nothing imported, nothing subscribed).
    #[arg(long)]
    disabled: bool,
}

#[derive(Args)]
struct AddAmazonArgs {
    #[command(flatten)]
    account: AddAccountArgs,
    /// Amazon marketplace id(s), e.g. A1PA6795UKMFR9 (amazon.de); repeat for several.
    #[arg(long = "marketplace-id", required = true, value_name = "ID")]
    marketplace_ids: Vec<String>,
    /// The selling partner id (Seller Central: Settings, Account Info, Merchant Token), which
    /// Amazon's ORDER_CHANGE notifications name. Needed to subscribe.
    #[arg(long, value_name = "ID")]
    seller_id: Option<String>,
    #[arg(long, default_value = "https://sellingpartnerapi-eu.amazon.com", value_name = "URL")]
    api_base_url: String,
    #[arg(long, default_value = "https://api.amazon.com/auth/o2/token", value_name = "URL")]
    token_url: String,
    #[command(flatten)]
    subscribe: SubscribeArgs,
}

#[derive(Args)]
struct SubscribeArgs {
    /// Where Amazon sends ORDER_CHANGE notifications [default: the stack output
    /// OrderChangeQueueArn].
    #[arg(long, value_name = "ARN")]
    order_change_queue_arn: Option<String>,
    /// Don't subscribe to ORDER_CHANGE notifications.
    #[arg(long)]
    no_subscribe: bool,
}

impl SubscribeArgs {
    fn options(&self) -> SubscribeOptions {
        SubscribeOptions { queue_arn: self.order_change_queue_arn.clone(), skip: self.no_subscribe }
    }
}

const STATUSES: [&str; 5] = ["Pending", "Deliverable", "PartiallyShipped", "Shipped", "Cancelled"];

#[derive(Subcommand)]
enum OrdersCommand {
    /// Orders with one status.
    List {
        #[arg(long, value_parser = PossibleValuesParser::new(STATUSES), ignore_case = true)]
        status: String,
    },
    /// One order with its packages and history (includes customer data: for the merchant's
    /// eyes only).
    Show {
        /// The account the order belongs to.
        #[arg(long)]
        account: String,
        /// The marketplace's order id.
        order: String,
    },
}

#[derive(Args)]
struct DeadLettersArgs {
    /// Which dead-letter queue.
    #[arg(long, value_enum, default_value = "status", global = true)]
    queue: DeadLetterQueue,
    /// The work queue redrive sends back to [default: from --stack; for the status queue also
    /// ORDERBRIDGE_STATUS_QUEUE_URL].
    #[arg(long, global = true, value_name = "URL")]
    queue_url: Option<String>,
    /// The dead-letter queue [default: from --stack; for the status queue also
    /// ORDERBRIDGE_STATUS_DLQ_URL].
    #[arg(long, global = true, value_name = "URL")]
    dead_letter_queue_url: Option<String>,
    #[command(subcommand)]
    command: DeadLettersCommand,
}

#[derive(Subcommand)]
enum DeadLettersCommand {
    /// Show dead letters: id, receive count, what they are about. They stay in the queue.
    List {
        #[arg(long, default_value_t = 100)]
        max: usize,
    },
    /// Move dead letters back to their work queue. Safe to repeat.
    Redrive {
        #[arg(long, default_value_t = 1000)]
        max: usize,
    },
}

#[derive(Subcommand)]
enum FailuresCommand {
    /// Show the records, oldest first: time, function, condition, error type, error message
    /// (never the run's payload). They stay in the queue unless --delete is given.
    List {
        #[arg(long, default_value_t = 100)]
        max: usize,
        /// Delete the records shown, once they are printed.
        #[arg(long)]
        delete: bool,
        /// The failures queue [default: stack output ScheduledRunFailuresQueueUrl].
        #[arg(long, env = "ORDERBRIDGE_FAILURES_QUEUE_URL", value_name = "URL")]
        queue_url: Option<String>,
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
        /// Once per parcel of the package (several parcels of the same lines).
        #[arg(long = "tracking-id", required = true)]
        tracking_ids: Vec<String>,
        /// The tracking number of a return label enclosed with the package.
        #[arg(long)]
        return_tracking_id: Option<String>,
        /// RFC 3339, e.g. 2026-12-01T14:00:00Z; now when omitted.
        #[arg(long, value_parser = parse_ship_date)]
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

fn parse_ship_date(value: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(value)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|_| "expected an RFC 3339 time such as 2026-12-01T14:00:00Z".to_string())
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // Library and SDK logs stay quiet unless asked for (RUST_LOG): an error is one line.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
                .unwrap_or_else(|_| "off,orderbridge_cli=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(cli).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {}", report(&error));
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    let targeting = cli.target.targeting();
    match cli.command {
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
        }
        Command::InitTable => {
            let session = match targeting.resolve().await? {
                Target::Local(path) => Session::local(&path).await?,
                Target::Deployed(deployed) => Session::on_table(&deployed.aws.sdk, &deployed.table()?),
            };
            let created = session.init_table().await;
            session.close().await;
            println!("{}", if created? { "table created" } else { "table exists" });
        }
        Command::Doctor => {
            if !targeting.is_deployed() {
                return Err(fatal("doctor checks a deployed stack: pass --stack NAME (or --table NAME)"));
            }
            let deployed = targeting.deployed().await?;
            let report = orderbridge_cli::doctor::run(&deployed).await?;
            let failed = report.failures();
            if failed > 0 {
                return Err(fatal(format!("{failed} of {} checks failed", report.checks.len())));
            }
        }
        Command::Accounts { command } => {
            let existing = !matches!(command, AccountsCommand::Add { .. });
            let (session, deployed) = open(&targeting, existing).await?;
            let result = accounts(&session, deployed.as_ref(), command).await;
            session.close().await;
            result?;
        }
        Command::Orders { command } => {
            let (session, _) = open(&targeting, true).await?;
            let result = orders(&session, command).await;
            session.close().await;
            result?;
        }
        Command::Decisions { command } => {
            let (session, _) = open(&targeting, true).await?;
            let result = decide(&session, command).await;
            session.close().await;
            result?;
        }
        Command::Shipments { command } => {
            let (session, _) = open(&targeting, true).await?;
            let result = shipments(&session, command).await;
            session.close().await;
            result?;
        }
        Command::DeadLetters(args) => dead_letters(&targeting, args).await?,
        Command::Failures { command: FailuresCommand::List { max, delete, queue_url } } => {
            let deployed = targeting.deployed().await?;
            let url = deployed.from_flag_or_stack(
                queue_url.as_deref(),
                outputs::FAILURES_QUEUE,
                "--queue-url URL",
            )?;
            queues::list_failures(&deployed.aws, &url, max, delete).await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The store of a command, and the deployment when it is one. `existing`: refuse a local store
/// that does not exist yet instead of creating an empty one.
async fn open(targeting: &Targeting, existing: bool) -> Result<(Session, Option<Deployed>)> {
    match targeting.resolve().await? {
        Target::Local(path) => {
            if existing {
                require_local_store(&path)?;
            }
            Ok((Session::local(&path).await?, None))
        }
        Target::Deployed(deployed) => {
            let session = deployed.open_session().await?;
            Ok((session, Some(*deployed)))
        }
    }
}

async fn dead_letters(targeting: &Targeting, args: DeadLettersArgs) -> Result<()> {
    let deployed = targeting.deployed().await?;
    let (queue_key, dlq_key) = args.queue.outputs();
    let from_env = |name: &str| {
        (args.queue == DeadLetterQueue::Status)
            .then(|| std::env::var(name).ok())
            .flatten()
            .filter(|v| !v.trim().is_empty())
    };
    let explicit_dlq = args.dead_letter_queue_url.clone().or_else(|| from_env("ORDERBRIDGE_STATUS_DLQ_URL"));
    let explicit_queue = args.queue_url.clone().or_else(|| from_env("ORDERBRIDGE_STATUS_QUEUE_URL"));
    let dlq = deployed.from_flag_or_stack(explicit_dlq.as_deref(), dlq_key, "--dead-letter-queue-url URL")?;
    match args.command {
        DeadLettersCommand::List { max } => {
            queues::list_dead_letters(&deployed.aws, args.queue, &dlq, max).await
        }
        DeadLettersCommand::Redrive { max } => {
            let queue =
                deployed.from_flag_or_stack(explicit_queue.as_deref(), queue_key, "--queue-url URL")?;
            queues::redrive(&deployed.aws, args.queue, &queue, &dlq, max).await
        }
    }
}

async fn accounts(session: &Session, deployed: Option<&Deployed>, command: AccountsCommand) -> Result<()> {
    match command {
        AccountsCommand::Add { marketplace: AddMarketplace::Amazon(args) } => {
            let new = NewAmazonAccount {
                id: args.account.id,
                secret: args.account.secret,
                marketplace_ids: args.marketplace_ids,
                seller_id: args.seller_id,
                api_base_url: args.api_base_url,
                token_url: args.token_url,
                enabled: !args.account.disabled,
            };
            accounts::add_amazon(
                session,
                deployed,
                new,
                args.account.secret_prefix.as_deref(),
                &args.subscribe.options(),
            )
            .await?;
        }
        AccountsCommand::Add { marketplace: AddMarketplace::Scx(args) } => {
            let new = NewScxAccount {
                id: args.account.id,
                secret: args.account.secret,
                seller_id: args.seller_id,
                channels: args.channels,
                api_base_url: args.api_base_url,
                decision_policy: args.decisions.policy(),
                enabled: !args.account.disabled,
            };
            accounts::add_scx(session, deployed, new, args.account.secret_prefix.as_deref()).await?;
        }
        AccountsCommand::List => {
            for account in session.accounts().await? {
                let mut line = format!(
                    "{}\t{}\t{}\t{}",
                    account.id,
                    account.marketplace(),
                    if account.enabled { "enabled" } else { "disabled" },
                    account
                        .seller_id()
                        .map(|s| format!("seller {s}"))
                        .unwrap_or_else(|| "no seller id".into())
                );
                if let Some(settings) = accounts::settings_text(&account) {
                    line = format!("{line}\t{settings}");
                }
                println!("{line}");
            }
        }
        AccountsCommand::Disable { id, keep_subscription } => {
            accounts::disable(session, deployed, &id, keep_subscription).await?;
        }
        AccountsCommand::Enable { id, subscribe } => {
            accounts::enable(session, deployed, &id, &subscribe.options()).await?;
        }
        AccountsCommand::Update { id, seller_id, channels, all_channels, decisions } => {
            let update = AccountUpdate {
                seller_id,
                channels: (all_channels || !channels.is_empty()).then_some(channels),
                decision_policy: decisions.map(DecisionsFlag::policy),
            };
            accounts::update(session, &id, update).await?
        }
        AccountsCommand::Replay { id, order } => {
            let id = AccountId::parse(id)?;
            let report = orderbridge::usecases::replay::replay(&session.ports, &id, order.as_deref()).await?;
            println!("{}", serde_json::to_string(&report)?);
        }
        AccountsCommand::Rejected { id, all } => {
            let id = AccountId::parse(id)?;
            session.ports.accounts.get_account(&id).await?.with_context(|| format!("no account {id}"))?;
            for rejected in session.ports.orders.rejections(&id, all).await? {
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

async fn decide(session: &Session, command: DecisionsCommand) -> Result<()> {
    match command {
        DecisionsCommand::List { account } => decisions::list(session, account.as_deref()).await,
        DecisionsCommand::Accept { account, order } => {
            decisions::decide(session, &account, &order, Which::Order, true).await
        }
        DecisionsCommand::Refuse { account, order } => {
            decisions::decide(session, &account, &order, Which::Order, false).await
        }
        DecisionsCommand::AcceptCancellation { account, order, request_id } => {
            decisions::decide(session, &account, &order, Which::Cancellation(request_id), true).await
        }
        DecisionsCommand::DenyCancellation { account, order, request_id } => {
            decisions::decide(session, &account, &order, Which::Cancellation(request_id), false).await
        }
    }
}

async fn shipments(session: &Session, command: ShipmentsCommand) -> Result<()> {
    match command {
        ShipmentsCommand::Record {
            account,
            order,
            carrier,
            tracking_ids,
            return_tracking_id,
            ship_date,
            shipping_method,
            items,
        } => {
            let key = session.order_key(&AccountId::parse(account)?, &order).await?;
            let request = ShipmentRequest {
                carrier,
                tracking_ids,
                return_tracking_id,
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
