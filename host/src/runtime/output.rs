//! What a plugin writes to stdout/stderr: captured for the log, up to a
//! bound; past it the excess is dropped and counted, never an error (a Rust
//! plugin's `println!` panics on a write error, which would turn chatter into
//! a failed action).

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};

/// What a plugin may write to stdout/stderr in one call; the rest is dropped.
pub const CAPTURE_BYTES: usize = 256 * 1024;

#[derive(Clone, Default)]
pub struct Captured {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Default)]
struct Inner {
    kept: Vec<u8>,
    dropped: u64,
}

impl Captured {
    fn take(&self, bytes: &[u8]) {
        if let Ok(mut inner) = self.inner.lock() {
            let room = CAPTURE_BYTES.saturating_sub(inner.kept.len());
            let kept = bytes.len().min(room);
            inner.kept.extend_from_slice(&bytes[..kept]);
            inner.dropped += (bytes.len() - kept) as u64;
        }
    }

    /// What was kept, and how many bytes were dropped.
    pub fn contents(&self) -> (Vec<u8>, u64) {
        self.inner
            .lock()
            .map(|i| (i.kept.clone(), i.dropped))
            .unwrap_or_default()
    }
}

impl IsTerminal for Captured {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for Captured {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl OutputStream for Captured {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        self.take(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        // Always room: what does not fit is dropped.
        Ok(64 * 1024)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for Captured {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for Captured {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.take(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
