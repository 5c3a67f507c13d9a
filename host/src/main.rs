//! soar-host: the command line. The work is in the library; this file parses
//! arguments, sets up logging and turns results into output and exit codes.

mod cli;

fn main() {
    std::process::exit(cli::main());
}
