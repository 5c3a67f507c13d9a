//! Fresh processes, timed from spawn to exit: the CLI, the native program
//! and the Python peer. On Linux the kernel's own accounting (`wait4`) adds
//! each process's CPU time. Their peak memory is measured apart
//! ([`peak_rss`]): a child spawned from this large process inherits this
//! process's peak in `ru_maxrss`.

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
    /// Peak resident memory, in bytes (`ru_maxrss`): the process's own or,
    /// if higher, that of the process it was spawned from (see [`peak_rss`]).
    pub max_rss: u64,
}

/// Many runs of one kind of process.
pub struct Runs {
    pub wall: Samples,
    pub cpu: Option<Samples>,
}

/// One kind of process: what its stdout must contain, and how to make the
/// command for round `i`.
pub type Kind<'a> = (&'a str, Box<dyn FnMut(usize) -> Command + 'a>);

/// Run `make(i)` `n` times; each must exit 0 and print `expect` on stdout.
/// A failure is a broken benchmark, not a slow one: it panics with the
/// process's stderr.
pub fn repeat(n: usize, scratch: &Path, expect: &str, make: impl FnMut(usize) -> Command) -> Runs {
    let mut kinds: [Kind; 1] = [(expect, Box::new(make))];
    interleaved(n, scratch, &mut kinds)
        .pop()
        .expect("one kind, one result")
}

/// [`repeat`] for several kinds of process, taking turns (one of each, `n`
/// rounds), so that the machine's drift falls on all alike.
pub fn interleaved(n: usize, scratch: &Path, kinds: &mut [Kind]) -> Vec<Runs> {
    let mut wall = vec![Vec::with_capacity(n); kinds.len()];
    let mut cpu = vec![Vec::with_capacity(n); kinds.len()];
    for i in 0..n {
        for (k, (expect, make)) in kinds.iter_mut().enumerate() {
            let mut cmd = make(i);
            let run = checked(&mut cmd, scratch, expect);
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

/// [`run`], which must exit 0 and print `expect` on stdout.
fn checked(cmd: &mut Command, scratch: &Path, expect: &str) -> Run {
    let run = run(cmd, scratch).unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        run.code == 0 && run.stdout.contains(expect),
        "{cmd:?} failed (exit {}):\n--- stdout\n{}\n--- stderr\n{}",
        run.code,
        run.stdout,
        run.stderr
    );
    run
}

/// The variable that makes this binary a launcher (see [`launch_if_asked`]):
/// the file to write the child's peak memory to.
const LAUNCH_VAR: &str = "SOAR_BENCH_PEAK_RSS_TO";

/// The peak resident memory of `cmd`'s process (which must exit 0 and print
/// `expect`), and that of the small process it was launched from: this
/// binary started afresh, which spawns it and reports its `ru_maxrss`. A
/// spawned process's `ru_maxrss` is at least its parent's peak (the kernel
/// carries the address space's high-water mark across `exec`), so spawned
/// from this process it would report this process's. The launcher's own
/// peak is returned to show the figure is the child's: it is only if
/// higher.
pub fn peak_rss(cmd: &Command, scratch: &Path, expect: &str) -> (u64, u64) {
    let report = scratch.join("peak-rss");
    // Not a previous run's figure, should this one not write its own.
    let _ = std::fs::remove_file(&report);
    let mut launcher = Command::new(std::env::current_exe().expect("this benchmark's path"));
    launcher
        .env(LAUNCH_VAR, &report)
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (name, value) in cmd.get_envs() {
        match value {
            Some(value) => launcher.env(name, value),
            None => launcher.env_remove(name),
        };
    }
    checked(&mut launcher, scratch, expect);
    let text = std::fs::read_to_string(&report).expect("the launcher's report");
    let (child, own) = text
        .trim()
        .split_once(' ')
        .and_then(|(c, o)| Some((c.parse().ok()?, o.parse().ok()?)))
        .unwrap_or_else(|| panic!("a launcher's report: `{text}`"));
    (child, own)
}

/// When started by [`peak_rss`]: run the command given as arguments, write
/// its `ru_maxrss` and this process's own peak (bytes, space-separated) to
/// the file the variable names, and exit with the command's code. Called
/// first in `main`, before the process allocates much.
pub fn launch_if_asked() {
    let Some(report) = std::env::var_os(LAUNCH_VAR) else {
        return;
    };
    let mut args = std::env::args_os().skip(1);
    let program = args.next().expect("a command to launch");
    let own = crate::memory::status().map_or(0, |(_, peak)| peak);
    let mut child = Command::new(program)
        .args(args)
        .env_remove(LAUNCH_VAR)
        .spawn()
        .expect("the launched command starts");
    let (code, usage) = wait(&mut child).expect("the launched command ends");
    let child_peak = usage.map_or(0, |u| u.max_rss);
    std::fs::write(report, format!("{child_peak} {own}")).expect("the report is written");
    std::process::exit(code);
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
        // ru_maxrss, in KiB.
        max_rss: rusage[4].max(0) as u64 * 1024,
    };
    Ok((code, Some(usage)))
}

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
fn wait(child: &mut std::process::Child) -> std::io::Result<(i32, Option<Usage>)> {
    Ok((child.wait()?.code().unwrap_or(-1), None))
}
