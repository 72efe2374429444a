//! What a command works on: the local store, or a deployed Orderbridge (a stack, or just its
//! table), from the global flags `--stack`, `--table`, `--local`, `--region`, `--profile`,
//! `--endpoint-url`.

use crate::aws::{outputs, Aws, AwsOptions, Stack};
use crate::commands::Session;
use crate::errors::{aws_error, fatal};
use anyhow::Result;
use std::path::{Path, PathBuf};

/// The store the local run keeps (`local-run --store FILE`) when no target is given.
pub const DEFAULT_LOCAL_STORE: &str = ".local/orderbridge.db";

/// The global flags, as parsed.
#[derive(Debug, Clone, Default)]
pub struct Targeting {
    pub stack: Option<String>,
    pub table: Option<String>,
    pub local: Option<PathBuf>,
    pub aws: AwsOptions,
}

/// The target a command resolved to.
pub enum Target {
    Local(PathBuf),
    Deployed(Box<Deployed>),
}

/// A deployed Orderbridge: AWS configuration, and the stack when `--stack` named one.
pub struct Deployed {
    pub aws: Aws,
    pub stack: Option<Stack>,
    /// `--table`, which beats the stack's output.
    pub explicit_table: Option<String>,
}

impl Targeting {
    fn check(&self) -> Result<()> {
        if self.local.is_some() && (self.stack.is_some() || self.table.is_some()) {
            return Err(fatal(
                "--local names the local store; --stack and --table a deployed one: pass one of them",
            ));
        }
        if self.local.is_some() && self.aws.endpoint_url.is_some() {
            return Err(fatal("--endpoint-url applies to --stack or --table, not to --local"));
        }
        Ok(())
    }

    pub fn is_deployed(&self) -> bool {
        self.stack.is_some() || self.table.is_some()
    }

    /// The local store, or AWS when `--stack` or `--table` is given.
    pub async fn resolve(&self) -> Result<Target> {
        self.check()?;
        if self.is_deployed() {
            Ok(Target::Deployed(Box::new(self.deployed().await?)))
        } else {
            Ok(Target::Local(self.local.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_LOCAL_STORE))))
        }
    }

    /// AWS, for commands that only exist there (queues, doctor). Needs no `--stack` when the
    /// command's own flags name what it reads.
    pub async fn deployed(&self) -> Result<Deployed> {
        self.check()?;
        if self.local.is_some() {
            return Err(fatal(
                "this command works on a deployed stack: pass --stack NAME instead of --local",
            ));
        }
        let aws = Aws::load(&self.aws).await?;
        let stack = match &self.stack {
            Some(name) => Some(Stack::describe(&aws, name).await?),
            None => None,
        };
        Ok(Deployed { aws, stack, explicit_table: self.table.clone() })
    }
}

impl Deployed {
    /// The orders table: `--table`, else the stack's `OrdersTableName`.
    pub fn table(&self) -> Result<String> {
        if let Some(table) = &self.explicit_table {
            return Ok(table.clone());
        }
        match &self.stack {
            Some(stack) => Ok(stack.output(outputs::ORDERS_TABLE)?.to_string()),
            None => Err(fatal("no table: pass --stack NAME (or --table NAME)")),
        }
    }

    /// A stack output, if there is a stack and it has the output.
    pub fn output(&self, key: &str) -> Option<String> {
        self.stack.as_ref().and_then(|s| s.get(key)).map(str::to_string)
    }

    /// `explicit`, else the stack's output `key`; `what` names it when neither is there.
    pub fn from_flag_or_stack(&self, explicit: Option<&str>, key: &str, flag: &str) -> Result<String> {
        if let Some(value) = explicit {
            return Ok(value.to_string());
        }
        match &self.stack {
            Some(stack) => Ok(stack.output(key)?.to_string()),
            None => Err(fatal(format!("pass --stack NAME (or {flag}) to say which queue"))),
        }
    }

    /// Checks the table exists (DescribeTable) and opens a session on it. A table the caller
    /// may not describe is used anyway: item access is all the commands need.
    pub async fn open_session(&self) -> Result<Session> {
        let table = self.table()?;
        if let Err(error) = self.aws.dynamodb().describe_table().table_name(&table).send().await {
            let problem = crate::errors::problem(&error);
            if !matches!(problem, crate::errors::Problem::AccessDenied(_)) {
                return Err(aws_error(error, &format!("reading table {table}"), &self.aws.place, || {
                    self.no_table(&table)
                }));
            }
        }
        Ok(Session::on_table(&self.aws.sdk, &table))
    }

    pub fn no_table(&self, table: &str) -> String {
        match (&self.stack, &self.explicit_table) {
            (Some(stack), None) => format!(
                "no table {table} in {} although stack {} names it: was it deleted?",
                self.aws.place, stack.name
            ),
            _ => format!("no table {table} in {}: check --table, --region and --profile", self.aws.place),
        }
    }
}

/// Refuses to read a local store that does not exist (opening it would create an empty one).
pub fn require_local_store(path: &Path) -> Result<()> {
    if path.exists() {
        return Ok(());
    }
    Err(fatal(format!(
        "no local store at {}: run `orderbridge local-run --store {}` first, or pass --stack NAME for a deployed stack",
        path.display(),
        path.display()
    )))
}
