//! `doctor`: is the deployed Orderbridge sound? The stack, its table and queues, where the
//! accounts' secrets are, and whether each enabled account's credentials work. One line per
//! check: `ok`, `warn` (works, but look at it) or `FAIL` (broken).

use crate::accounts::{check_secret, is_loopback, secret_prefix};
use crate::aws::{outputs, StackHealth};
use crate::errors::{aws_error, one_line, report};
use crate::queues::depth;
use crate::target::Deployed;
use anyhow::Result;
use orderbridge::domain::MarketplaceAccount;
use orderbridge::ports::MarketplaceError;
use orderbridge::Deadline;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    Ok,
    Warn,
    Fail,
}

impl Verdict {
    fn label(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Warn => "warn",
            Verdict::Fail => "FAIL",
        }
    }
}

/// The checks so far; prints each as it is made.
#[derive(Default)]
pub struct Report {
    pub checks: Vec<(Verdict, String)>,
}

impl Report {
    fn add(&mut self, verdict: Verdict, what: impl AsRef<str>, detail: impl AsRef<str>) {
        let line = format!("{}: {}", what.as_ref(), one_line(detail.as_ref()));
        println!("{:<5}{line}", verdict.label());
        self.checks.push((verdict, line));
    }

    fn error(&mut self, what: impl AsRef<str>, error: &anyhow::Error) {
        self.add(Verdict::Fail, what, report(error));
    }

    pub fn failures(&self) -> usize {
        self.checks.iter().filter(|(v, _)| *v == Verdict::Fail).count()
    }
}

/// Runs every check it can. The table is needed for the account checks; everything else is
/// checked independently, so one broken part does not hide the others.
pub async fn run(deployed: &Deployed) -> Result<Report> {
    let mut report = Report::default();
    let aws = &deployed.aws;

    match &deployed.stack {
        Some(stack) => {
            let missing: Vec<&str> =
                outputs::ALL.iter().copied().filter(|k| stack.get(k).is_none()).collect();
            let needed_missing = missing.iter().any(|k| outputs::NEEDED.contains(k));
            let reason =
                stack.status_reason.as_deref().map(|r| format!(" ({})", one_line(r))).unwrap_or_default();
            let (verdict, detail) = match (stack.health(), missing.is_empty()) {
                (StackHealth::Broken, _) => (Verdict::Fail, format!("{}{reason}", stack.status)),
                (_, false) => (
                    if needed_missing { Verdict::Fail } else { Verdict::Warn },
                    format!(
                        "{}, outputs missing: {} (deploy this version of template.yaml)",
                        stack.status,
                        missing.join(", ")
                    ),
                ),
                (StackHealth::Changing, true) => (
                    Verdict::Warn,
                    format!("{}{reason}: a deployment is running or was rolled back", stack.status),
                ),
                (StackHealth::Healthy, true) => (
                    Verdict::Ok,
                    format!("{}, all {} outputs present, {}", stack.status, outputs::ALL.len(), aws.place),
                ),
            };
            report.add(verdict, format!("stack {}", stack.name), detail);
        }
        None => report.add(
            Verdict::Warn,
            "stack",
            "not checked: pass --stack NAME to check the stack and its queues",
        ),
    }

    // The table.
    let table = match deployed.table() {
        Ok(table) => Some(table),
        Err(error) => {
            report.error("table", &error);
            None
        }
    };
    let mut table_ok = false;
    if let Some(table) = &table {
        match aws.dynamodb().describe_table().table_name(table).send().await {
            Ok(out) => {
                let status = out
                    .table
                    .and_then(|t| t.table_status)
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_else(|| "UNKNOWN".into());
                table_ok = true;
                let verdict = match status.as_str() {
                    "ACTIVE" => Verdict::Ok,
                    "UPDATING" | "CREATING" => Verdict::Warn,
                    _ => {
                        table_ok = false;
                        Verdict::Fail
                    }
                };
                report.add(verdict, format!("table {table}"), status);
            }
            Err(error) => {
                let error = aws_error(error, &format!("reading table {table}"), &aws.place, || {
                    deployed.no_table(table)
                });
                report.error(format!("table {table}"), &error);
            }
        }
    }

    // The queues.
    if deployed.stack.is_some() {
        let queues: [(&str, &str, bool, &str); 5] = [
            ("status queue", outputs::STATUS_QUEUE, false, ""),
            (
                "status dead letters",
                outputs::STATUS_DLQ,
                true,
                "`orderbridge dead-letters list`, then `dead-letters redrive` once the cause is fixed",
            ),
            ("order-change queue", outputs::ORDER_CHANGE_QUEUE, false, ""),
            (
                "order-change dead letters",
                outputs::ORDER_CHANGE_DLQ,
                true,
                "`orderbridge dead-letters --queue order-change list`, then `redrive`",
            ),
            ("failed scheduled runs", outputs::FAILURES_QUEUE, true, "`orderbridge failures list`"),
        ];
        for (what, key, should_be_empty, hint) in queues {
            let Some(url) = deployed.output(key) else { continue };
            match depth(aws, &url).await {
                Ok(depth) if should_be_empty && depth.total() > 0 => {
                    report.add(Verdict::Warn, what, format!("{} messages: {hint}", depth.total()))
                }
                Ok(_) if should_be_empty => report.add(Verdict::Ok, what, "empty"),
                Ok(depth) => report.add(
                    Verdict::Ok,
                    what,
                    format!(
                        "{} waiting, {} in flight, {} delayed",
                        depth.visible, depth.in_flight, depth.delayed
                    ),
                ),
                Err(error) => report.error(what, &error),
            }
        }
    }

    if !table_ok {
        return Ok(report);
    }
    let Some(table) = table else { return Ok(report) };
    let session = crate::commands::Session::on_table(&aws.sdk, &table);
    let accounts = match session.accounts().await {
        Ok(accounts) => accounts,
        Err(error) => {
            report.error("accounts", &error);
            return Ok(report);
        }
    };
    if accounts.is_empty() {
        report.add(Verdict::Warn, "accounts", "none yet: `orderbridge accounts add amazon …`");
        return Ok(report);
    }
    let prefix = secret_prefix(Some(deployed), None);
    let queue_arn = deployed.output(outputs::ORDER_CHANGE_QUEUE_ARN);
    for account in &accounts {
        check_account(&mut report, deployed, &session, account, &prefix, queue_arn.as_deref()).await;
    }
    Ok(report)
}

fn secret_of(account: &MarketplaceAccount) -> &str {
    account.credentials_secret()
}

fn api_of(account: &MarketplaceAccount) -> &str {
    account.api_base_url()
}

async fn check_account(
    report: &mut Report,
    deployed: &Deployed,
    session: &crate::commands::Session,
    account: &MarketplaceAccount,
    prefix: &str,
    queue_arn: Option<&str>,
) {
    let id = &account.id;
    match check_secret(&deployed.aws, secret_of(account), prefix).await {
        Ok(found) => {
            report.add(Verdict::Ok, format!("secret {id}"), format!("{} exists under {prefix}", found.name))
        }
        Err(error) => report.error(format!("secret {id}"), &error),
    }
    if !account.enabled {
        report.add(Verdict::Ok, format!("account {id}"), "disabled: credentials not checked");
        return;
    }
    let what = format!("credentials {id}");
    let deadline = Deadline::after(Duration::from_secs(60));
    let checked = async {
        let client = session.ports.marketplaces.connect(account).await?;
        client.check_access(deadline).await
    }
    .await;
    let sandbox = if is_loopback(api_of(account)) { " (sandbox)" } else { "" };
    match checked {
        Ok(access) => {
            let (verdict, detail) = match (access.order_change_subscription, queue_arn, account.seller_id()) {
                (Some(subscription), _, Some(_)) => {
                    (Verdict::Ok, format!("work{sandbox}; ORDER_CHANGE subscribed ({subscription})"))
                }
                (Some(subscription), _, None) => (
                    Verdict::Warn,
                    format!(
                        "work{sandbox}; ORDER_CHANGE subscribed ({subscription}), but the account has no seller id to match notifications: `orderbridge accounts update {id} --seller-id ID`"
                    ),
                ),
                (None, Some(_), _) if sandbox.is_empty() => (
                    Verdict::Warn,
                    format!(
                        "work; not subscribed to ORDER_CHANGE, so status changes wait for the import: `orderbridge accounts enable {id}` subscribes"
                    ),
                ),
                (None, _, _) => (Verdict::Ok, format!("work{sandbox}; not subscribed to ORDER_CHANGE")),
            };
            report.add(verdict, what, detail);
        }
        Err(error @ MarketplaceError::Throttled { .. }) => report.add(Verdict::Warn, what, error.to_string()),
        Err(error) => report.add(Verdict::Fail, what, error.to_string()),
    }
}
