//! A cloud-recording download through the CLI, as a fresh process: the
//! sandbox's synthetic file behind a redirect to its storage host, with a
//! connection reset half-way (resumed with `Range`). Measured: the process's
//! peak resident memory (its `VmHWM`, sampled while it runs: `wait4`'s
//! `ru_maxrss` would report this large process's own peak), wall time and
//! throughput; checked: size and SHA-256 against the sandbox's.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use zoom_sandbox::{Fault, Match, Sandbox};

pub struct Download {
    pub bytes: u64,
    pub wall: Duration,
    pub peak_rss: Option<u64>,
    pub resumed: bool,
}

/// Download `bytes` with `soar_host`, the resource's `storage_url` pointing
/// at the sandbox's storage host.
pub fn run(
    soar_host: &Path,
    sandbox: &Sandbox,
    resource: &Path,
    scratch: &Path,
    bytes: u64,
    env: (&str, &str),
) -> Download {
    let meeting_id = 81_234_567_890u64;
    let file = sandbox.add_recording(meeting_id, bytes);
    sandbox.inject(Fault::ResetAfter(bytes / 2), Match::path("/files/"), 1);
    let out = scratch.join("downloads");
    std::fs::create_dir_all(&out).expect("an output directory");
    let mut child = Command::new(soar_host)
        .args(["--no-store", "invoke"])
        .arg(resource)
        .args(["download_recording", "-p"])
        .arg(format!("meeting_id={meeting_id}"))
        .arg("-p")
        .arg(format!("file_id={}", file.id))
        .arg("--output")
        .arg(&out)
        .env(env.0, env.1)
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("soar-host starts");
    let started = Instant::now();
    let pid = child.id().to_string();
    let mut peak = None;
    loop {
        if let Some((_, hwm)) = crate::memory::status_of(&pid) {
            peak = Some(hwm);
        }
        if child.try_wait().expect("wait for soar-host").is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let wall = started.elapsed();
    let output = child.wait_with_output().expect("soar-host's output");
    assert!(
        output.status.success(),
        "the download failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let result: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("the result is JSON");
    assert_eq!(result["size"], file.size, "{result}");
    assert_eq!(result["sha256"], file.sha256_hex, "{result}");
    let resumed = sandbox.storage_requests().iter().any(|r| {
        r.headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("range"))
    });
    let _ = std::fs::remove_dir_all(&out);
    Download {
        bytes,
        wall,
        peak_rss: peak,
        resumed,
    }
}
