//! The threads guest code runs on in a runtime that serves many calls (a
//! service, a worker): apart from the caller's async runtime, so that guests
//! computing at once, however long, leave the caller's threads free to
//! answer its own requests (a health check, a worker's heartbeats). Guests
//! yield at every epoch tick, so those sharing these threads take turns and
//! each one's deadline is noticed on time.

use std::future::Future;

/// A multi-threaded tokio runtime of its own, one thread per core.
pub(super) struct Guests {
    /// Taken on drop: shut down without waiting (a runtime may not be
    /// dropped from within another's async context).
    runtime: Option<tokio::runtime::Runtime>,
}

impl Guests {
    pub(super) fn start() -> std::io::Result<Self> {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("soar-guest")
            // Busy threads look at timers and sockets every few turns rather
            // than every 61: a guest waiting on the network or its deadline
            // is woken on time even while others compute.
            .event_interval(8)
            .enable_all()
            .build()?;
        Ok(Self {
            runtime: Some(runtime),
        })
    }

    /// Run `work` on the guest threads; dropping the returned future (the
    /// caller gave up on the call) stops it there too.
    pub(super) async fn run<F>(&self, work: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let runtime = self.runtime.as_ref().expect("present until dropped");
        let mut task = AbortOnDrop(runtime.spawn(work));
        match (&mut task.0).await {
            Ok(output) => output,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            // Only this guard aborts the task, and only once the caller is
            // gone; the runtime outlives every call (they borrow it).
            Err(e) => panic!("a guest task ended without an answer: {e}"),
        }
    }
}

impl Drop for Guests {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
