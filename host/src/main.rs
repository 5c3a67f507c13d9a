//! soar-host: the command line. The work is in the library; this file parses
//! arguments, sets up logging and turns results into output and exit codes.

mod cli;

/// mimalloc rather than glibc's malloc: a run through `soar-host serve`
/// allocates and frees on every thread of the runtime, where glibc's arenas
/// (their locks, and consolidating freed chunks) took a quarter of the
/// service's CPU (`perf`, concurrency 64).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(cli::main());
}
