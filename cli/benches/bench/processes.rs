//! Fresh processes, timed from spawn to exit: the CLI, the native program
//! and the Python peer. On Linux the kernel's own accounting (`wait4`) adds
//! each process's CPU time. (Not its peak memory: a child spawned from this
//! large process inherits this process's peak in `ru_maxrss`.)

use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::stats::Samples;

/// What one process did.
pub struct Run {
    pub wall: Duration,
    pub usage: Option<Usage>,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

#[derive(Clone, Copy)]
pub struct Usage {
    /// User plus system CPU time.
    pub cpu: Duration,
}

/// Many runs of one kind of process.
pub struct Runs {
    pub wall: Samples,
    pub cpu: Option<Samples>,
}

/// Run `make(i)` `n` times; each must exit 0 and print `expect` on stdout.
/// A failure is a broken benchmark, not a slow one: it panics with the
/// process's stderr.
pub fn repeat(n: usize, scratch: &Path, expect: &str, make: impl FnMut(usize) -> Command) -> Runs {
    let mut makers: [Box<dyn FnMut(usize) -> Command + '_>; 1] = [Box::new(make)];
    interleaved(n, scratch, expect, &mut makers)
        .pop()
        .expect("one kind, one result")
}

/// [`repeat`] for several kinds of process, taking turns (one of each, `n`
/// rounds), so that the machine's drift falls on all alike.
pub fn interleaved(
    n: usize,
    scratch: &Path,
    expect: &str,
    makers: &mut [Box<dyn FnMut(usize) -> Command + '_>],
) -> Vec<Runs> {
    let mut wall = vec![Vec::with_capacity(n); makers.len()];
    let mut cpu = vec![Vec::with_capacity(n); makers.len()];
    for i in 0..n {
        for (k, make) in makers.iter_mut().enumerate() {
            let mut cmd = make(i);
            let run = run(&mut cmd, scratch).unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
            assert!(
                run.code == 0 && run.stdout.contains(expect),
                "{cmd:?} failed (exit {}):\n--- stdout\n{}\n--- stderr\n{}",
                run.code,
                run.stdout,
                run.stderr
            );
            wall[k].push(run.wall);
            if let Some(usage) = run.usage {
                cpu[k].push(usage.cpu);
            }
        }
    }
    wall.into_iter()
        .zip(cpu)
        .map(|(wall, cpu)| Runs {
            wall: Samples::new(wall),
            cpu: (!cpu.is_empty()).then(|| Samples::new(cpu)),
        })
        .collect()
}

/// Spawn, wait, and time it. Output goes to files in `scratch` rather than
/// pipes, so no reader threads run beside the process being timed.
pub fn run(cmd: &mut Command, scratch: &Path) -> std::io::Result<Run> {
    let out_path = scratch.join("stdout");
    let err_path = scratch.join("stderr");
    cmd.stdin(Stdio::null())
        .stdout(File::create(&out_path)?)
        .stderr(File::create(&err_path)?);
    let started = Instant::now();
    let mut child = cmd.spawn()?;
    let (code, usage) = wait(&mut child)?;
    let wall = started.elapsed();
    Ok(Run {
        wall,
        usage,
        code,
        stdout: std::fs::read_to_string(&out_path)?,
        stderr: std::fs::read_to_string(&err_path)?,
    })
}

#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn wait(child: &mut std::process::Child) -> std::io::Result<(i32, Option<Usage>)> {
    // struct rusage on 64-bit Linux: ru_utime and ru_stime (timeval: two
    // longs each), then fourteen more longs.
    unsafe extern "C" {
        fn wait4(pid: i32, status: *mut i32, options: i32, rusage: *mut i64) -> i32;
    }
    let pid = i32::try_from(child.id()).expect("pids fit in i32");
    let mut status = 0i32;
    let mut rusage = [0i64; 18];
    loop {
        // SAFETY: `status` and `rusage` are valid for writes of an int and
        // a struct rusage (18 longs) for the duration of the call.
        let reaped = unsafe { wait4(pid, &mut status, 0, rusage.as_mut_ptr()) };
        if reaped == pid {
            break;
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
    let code = if status & 0x7f == 0 {
        (status >> 8) & 0xff
    } else {
        -1
    };
    let timeval = |sec: i64, usec: i64| {
        Duration::from_secs(sec.max(0) as u64) + Duration::from_micros(usec.max(0) as u64)
    };
    let usage = Usage {
        cpu: timeval(rusage[0], rusage[1]) + timeval(rusage[2], rusage[3]),
    };
    Ok((code, Some(usage)))
}

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
fn wait(child: &mut std::process::Child) -> std::io::Result<(i32, Option<Usage>)> {
    Ok((child.wait()?.code().unwrap_or(-1), None))
}
