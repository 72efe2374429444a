//! The in-process status queue of the local run (the in-memory secret source is in `secrets`).

use crate::ports::{QueueError, StatusCheck, StatusQueue};
use async_trait::async_trait;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// A status queue in memory. Delays are honoured: `take_due` hands out only checks whose delay
/// has passed, in the order they became due.
#[derive(Default)]
pub struct InProcessQueue {
    waiting: Mutex<Vec<(Instant, StatusCheck)>>,
}

impl InProcessQueue {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn take_due(&self) -> Vec<StatusCheck> {
        let now = Instant::now();
        let mut waiting = self.waiting.lock().expect("queue lock");
        waiting.sort_by_key(|(due, _)| *due);
        let split = waiting.iter().position(|(due, _)| *due > now).unwrap_or(waiting.len());
        waiting.drain(..split).map(|(_, check)| check).collect()
    }
}

#[async_trait]
impl StatusQueue for InProcessQueue {
    async fn enqueue(&self, check: &StatusCheck, delay: Duration) -> Result<(), QueueError> {
        self.waiting.lock().expect("queue lock").push((Instant::now() + delay, check.clone()));
        Ok(())
    }
}
