//! `orderbridge-sandbox`: the marketplace sandbox as a standalone server.

use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use orderbridge_sandbox::{FaultConfig, GeneratorConfig, Sandbox, SandboxConfig, ScxConfig};

#[derive(Parser, Debug)]
#[command(
    version,
    about = "Local marketplace sandbox: Amazon SP-API (orders, shipments, notifications, LWA tokens) and JTL SCX seller API (events, order calls)"
)]
struct Args {
    #[arg(long, default_value_t = 9100)]
    port: u16,
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    #[arg(long, default_value_t = 7)]
    seed: u64,
    #[arg(long, default_value_t = 1)]
    sellers: u32,
    #[arg(long, default_value_t = 120)]
    window_lag_secs: u64,
    #[arg(long, default_value_t = 30)]
    new_order_every_secs: u64,
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u8).range(0..=100))]
    pending_percent: u8,
    #[arg(long, default_value_t = 60)]
    release_after_secs: u64,
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u8).range(0..=100))]
    cancel_percent: u8,
    /// Inject every fault kind on every endpoint (SCX included) at this percentage (plus 5 %
    /// malformed orders, 20 % repeated orders across pages, 5 % expired tokens, 20 % duplicated
    /// SCX events, 10 % reordered redeliveries, 5 % lost acknowledgements; slow = 3 s); 0 = none.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=100))]
    fault_percent: u8,
    /// Seed of the fault streams (default: --seed).
    #[arg(long)]
    fault_seed: Option<u64>,
    /// SQS endpoint (JSON protocol, e.g. moto's http://127.0.0.1:5000) that ORDER_CHANGE
    /// notifications are delivered to; without it they are only recorded.
    #[arg(long)]
    sqs_endpoint: Option<String>,
    /// SCX seller accounts to add, each selling on every channel of --scx-channels.
    #[arg(long, default_value_t = 1)]
    scx_sellers: u32,
    /// Channels of the SCX seller accounts (5 to 15 letters, digits or underscores each).
    #[arg(long, value_delimiter = ',', default_value = "OTTODE,KAUFLANDDE")]
    scx_channels: Vec<String>,
    /// Visibility timeout of delivered, unacknowledged SCX events.
    #[arg(long, default_value_t = 300)]
    scx_visibility_timeout_secs: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let sandbox = Sandbox::new(SandboxConfig {
        seed: args.seed,
        window_lag: Duration::from_secs(args.window_lag_secs),
        generator: Some(GeneratorConfig {
            new_order_every: Duration::from_secs(args.new_order_every_secs.max(1)),
            pending_percent: args.pending_percent,
            release_after: Duration::from_secs(args.release_after_secs),
            cancel_percent: args.cancel_percent,
        }),
        faults: FaultConfig::uniform(args.fault_seed.unwrap_or(args.seed), args.fault_percent),
        sqs_endpoint: args.sqs_endpoint,
        scx: ScxConfig {
            visibility_timeout: Duration::from_secs(args.scx_visibility_timeout_secs),
            ..ScxConfig::default()
        },
        ..SandboxConfig::default()
    });
    for _ in 0..args.sellers.max(1) {
        let s = sandbox.add_seller();
        println!(
            "seller seller_id={} client_id={} client_secret={} refresh_token={} marketplace_id={}",
            s.seller_id, s.client_id, s.client_secret, s.refresh_token, s.marketplace_id
        );
    }
    let channels: Vec<&str> = args.scx_channels.iter().map(String::as_str).collect();
    for _ in 0..args.scx_sellers {
        anyhow::ensure!(
            !channels.is_empty()
                && channels.len() < 10
                && channels.iter().all(|c| (5..=15).contains(&c.len())
                    && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')),
            "--scx-channels: 1 to 9 names of 5 to 15 letters, digits or underscores"
        );
        let s = sandbox.add_scx_seller(&channels);
        let sellers: Vec<String> =
            s.channels.iter().map(|c| format!("{}:{}", c.channel, c.seller_id)).collect();
        println!(
            "scx_seller account_id={} refresh_token={} channels={}",
            s.account_id,
            s.refresh_token,
            sellers.join(",")
        );
    }
    let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port))
        .await
        .with_context(|| format!("binding {}:{}", args.host, args.port))?;
    let addr = listener.local_addr()?;
    println!("base_url=http://{addr}");
    println!("token_url=http://{addr}/auth/o2/token");
    println!("scx_auth_url=http://{addr}/v1/auth");
    let _generator = sandbox.spawn_generator();
    tracing::info!(%addr, fault_percent = args.fault_percent, "sandbox listening");
    // Ctrl-C's default action ends the process; there is nothing to flush.
    sandbox.serve(listener).await.context("serving")?;
    Ok(())
}
