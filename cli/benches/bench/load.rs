//! In-process measurements: `get_user` through the host against the native
//! function, one call at a time (latency) and from many tasks at once
//! (throughput, memory).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use soar_host::{Host, Resource};
use tokio::task::JoinSet;

use crate::memory;
use crate::native::Native;
use crate::stats::Samples;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// `Host::invoke(resource, "get_user", {"user_id": "me"})`.
    Hosted,
    /// `Native::get_user("me")`.
    Native,
}

/// What both paths call, set up once.
pub struct Subject {
    pub host: Host,
    pub resource: Resource,
    pub params: Value,
    pub native: Native,
}

impl Subject {
    /// One `get_user`; panics if it fails, because a failing call would make
    /// the figures meaningless.
    pub async fn call(&self, path: Path) {
        let user = match path {
            Path::Hosted => self
                .host
                .invoke(&self.resource, "get_user", &self.params)
                .await
                .map(|invocation| invocation.data)
                .map_err(|e| e.to_string()),
            Path::Native => self.native.get_user("me").await,
        };
        match user {
            Ok(user) => assert!(user["email"].is_string(), "{path:?}: {user}"),
            Err(e) => panic!("{path:?} get_user failed: {e}"),
        }
    }
}

/// `n` sequential calls of each path, interleaved in blocks so that drift
/// (frequency scaling, other load) falls on both alike.
pub async fn latency(subject: &Subject, n: usize) -> (Samples, Samples) {
    const BLOCK: usize = 50;
    let mut hosted = Vec::with_capacity(n);
    let mut native = Vec::with_capacity(n);
    while hosted.len() < n {
        let block = BLOCK.min(n - hosted.len());
        for (path, into) in [(Path::Native, &mut native), (Path::Hosted, &mut hosted)] {
            for _ in 0..block {
                let started = Instant::now();
                subject.call(path).await;
                into.push(started.elapsed());
            }
        }
    }
    (Samples::new(hosted), Samples::new(native))
}

/// The outcome of `concurrency` tasks calling one path for a while.
pub struct Load {
    pub calls: usize,
    pub elapsed: Duration,
    pub latency: Samples,
    /// Peak resident memory during the run over the resident memory before it.
    pub rss_added: Option<u64>,
}

impl Load {
    pub fn per_sec(&self) -> f64 {
        self.calls as f64 / self.elapsed.as_secs_f64()
    }

    /// Runs of the same path, added up.
    pub fn merge(self, other: Load) -> Load {
        let mut all = self.latency.into_vec();
        all.extend(other.latency.into_vec());
        Load {
            calls: self.calls + other.calls,
            elapsed: self.elapsed + other.elapsed,
            latency: Samples::new(all),
            rss_added: self.rss_added.or(other.rss_added),
        }
    }
}

/// `concurrency` tasks, each calling `path` in a loop until `duration` has
/// passed; the run ends when the last call returns.
pub async fn load(
    subject: &Arc<Subject>,
    path: Path,
    concurrency: usize,
    duration: Duration,
) -> Load {
    let subject = Arc::clone(subject);
    load_with(concurrency, duration, move || {
        let subject = Arc::clone(&subject);
        async move { subject.call(path).await }
    })
    .await
}

/// `concurrency` tasks, each making `call` in a loop until `duration` has
/// passed, with this process's memory peak over the run.
pub async fn load_with<F, Fut>(concurrency: usize, duration: Duration, call: F) -> Load
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let before = memory::start_peak();
    let started = Instant::now();
    let stop = started + duration;
    let mut tasks = JoinSet::new();
    for _ in 0..concurrency {
        let call = call.clone();
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let call_started = Instant::now();
                call().await;
                latencies.push(call_started.elapsed());
                if Instant::now() >= stop {
                    break latencies;
                }
            }
        });
    }
    let mut latencies = Vec::new();
    while let Some(task) = tasks.join_next().await {
        latencies.extend(task.expect("a load task panicked"));
    }
    let elapsed = started.elapsed();
    let rss_added = before.and_then(memory::peak_since);
    Load {
        calls: latencies.len(),
        elapsed,
        latency: Samples::new(latencies),
        rss_added,
    }
}
