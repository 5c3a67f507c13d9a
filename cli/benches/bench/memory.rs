//! This process's resident memory, from /proc/self/status (Linux). The peak
//! (VmHWM) can be reset by writing 5 to /proc/self/clear_refs, so the peak of
//! one phase can be read on its own.

use std::sync::atomic::{AtomicU64, Ordering};

/// The highest peak seen, kept across resets.
static OVERALL_PEAK: AtomicU64 = AtomicU64::new(0);

/// (VmRSS, VmHWM) in bytes.
pub fn status() -> Option<(u64, u64)> {
    status_of("self")
}

/// (VmRSS, VmHWM) of a process (`self` or a pid) in bytes.
pub fn status_of(pid: &str) -> Option<(u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = text.lines().find(|l| l.starts_with(name))?;
        let kib: u64 = line[name.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(kib * 1024)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// Reset the peak; return the resident memory now, or `None` when this
/// system cannot measure a phase's peak.
pub fn start_peak() -> Option<u64> {
    let (_, hwm) = status()?;
    OVERALL_PEAK.fetch_max(hwm, Ordering::Relaxed);
    std::fs::write("/proc/self/clear_refs", "5").ok()?;
    Some(status()?.0)
}

/// Peak resident memory since `start_peak` over what was resident then.
pub fn peak_since(before: u64) -> Option<u64> {
    let (_, hwm) = status()?;
    OVERALL_PEAK.fetch_max(hwm, Ordering::Relaxed);
    Some(hwm.saturating_sub(before))
}

/// The highest resident memory of the whole run so far.
pub fn overall_peak() -> Option<u64> {
    let (_, hwm) = status()?;
    Some(OVERALL_PEAK.fetch_max(hwm, Ordering::Relaxed).max(hwm))
}
