//! The deadline of one action: everything it waits on — retries, token
//! fetches, the plugin's own computing — shares it.

use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    pub started: Instant,
    pub at: Instant,
}

impl Deadline {
    pub fn after(budget: Duration) -> Self {
        let started = Instant::now();
        Self {
            started,
            at: started + budget,
        }
    }

    pub fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    pub fn budget(&self) -> Duration {
        self.at - self.started
    }

    /// Whether a wait of `wait` still leaves time for the request after it.
    pub fn fits(&self, wait: Duration) -> bool {
        wait.saturating_add(Duration::from_millis(100)) < self.remaining()
    }
}
