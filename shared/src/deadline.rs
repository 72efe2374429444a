//! How long an invocation may still work. Lambda gives a hard deadline; use cases stop taking new
//! work when it is near, so a checkpoint is written before the runtime kills the process.

use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    at: Instant,
}

impl Deadline {
    /// Time reserved at the end of an invocation for writing checkpoints and answering.
    pub const SAFETY_MARGIN: Duration = Duration::from_secs(5);

    pub fn after(duration: Duration) -> Self {
        Self { at: Instant::now() + duration }
    }

    /// From Lambda's `Context::deadline` (milliseconds since the Unix epoch).
    pub fn from_epoch_millis(deadline_ms: u64) -> Self {
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
        Self::after(Duration::from_millis(deadline_ms.saturating_sub(now_ms)))
    }

    /// A deadline far away, for command-line runs that have no time limit.
    pub fn unlimited() -> Self {
        Self::after(Duration::from_secs(365 * 24 * 3600))
    }

    /// Whichever of the two comes first.
    pub fn earlier(self, other: Deadline) -> Deadline {
        if other.at < self.at {
            other
        } else {
            self
        }
    }

    pub fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    /// True when there is no longer time to start a new unit of work safely.
    pub fn is_near(&self) -> bool {
        self.remaining() <= Self::SAFETY_MARGIN
    }

    /// Whether waiting `wait` still leaves the safety margin.
    pub fn allows_wait(&self, wait: Duration) -> bool {
        self.remaining() > wait + Self::SAFETY_MARGIN
    }
}
