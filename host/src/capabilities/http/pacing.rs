//! Upstream rate limits shared by every run of one host: when the upstream
//! answers one run of a resource with 429 and a `Retry-After`, the
//! resource's other runs wait until then before sending, instead of each
//! being refused in turn (a service runs many at once on one Zoom account).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the host's runs did upstream, for a service's metrics.
#[derive(Debug, Default)]
pub struct UpstreamStats {
    /// Requests sent again after a failure or a 429.
    pub retries: AtomicU64,
    /// Requests held back because their resource was rate-limited.
    pub rate_limit_waits: AtomicU64,
}

#[derive(Default)]
pub struct Pacer {
    paused_until: Mutex<HashMap<String, Instant>>,
    pub stats: UpstreamStats,
}

/// One resource's view of the host's pacer.
#[derive(Clone)]
pub struct ResourcePacer {
    pacer: Arc<Pacer>,
    resource: String,
}

impl Pacer {
    pub fn for_resource(self: &Arc<Self>, resource: &str) -> ResourcePacer {
        ResourcePacer {
            pacer: Arc::clone(self),
            resource: resource.to_owned(),
        }
    }
}

impl ResourcePacer {
    /// How long this resource is still asked to wait.
    pub fn paused_for(&self) -> Option<Duration> {
        let paused = self.pacer.paused_until.lock().ok()?;
        let left = paused
            .get(&self.resource)?
            .saturating_duration_since(Instant::now());
        (!left.is_zero()).then_some(left)
    }

    /// The upstream asked this resource to wait `wait`.
    pub fn pause(&self, wait: Duration) {
        if let Ok(mut paused) = self.pacer.paused_until.lock() {
            let until = Instant::now() + wait;
            paused.retain(|_, t| *t > Instant::now());
            let entry = paused.entry(self.resource.clone()).or_insert(until);
            *entry = (*entry).max(until);
        }
    }

    pub fn count_retry(&self) {
        self.pacer.stats.retries.fetch_add(1, Ordering::Relaxed);
    }

    pub fn count_wait(&self) {
        self.pacer
            .stats
            .rate_limit_waits
            .fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pause_holds_its_resource_only_and_never_shortens() {
        let pacer = Arc::new(Pacer::default());
        let zoom = pacer.for_resource("zoom");
        let other = pacer.for_resource("other");
        assert_eq!(zoom.paused_for(), None);
        zoom.pause(Duration::from_secs(10));
        zoom.pause(Duration::from_secs(1));
        assert!(zoom.paused_for().unwrap() > Duration::from_secs(9));
        assert_eq!(other.paused_for(), None);
        // Another view of the same resource shares it.
        assert!(pacer.for_resource("zoom").paused_for().is_some());
    }
}
