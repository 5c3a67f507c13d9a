//! What a component is linked against: the host's capabilities, in the
//! contract version it speaks, and the WASI 0.2 interfaces it imports (each
//! store grants them nothing: see `state.rs`).

use wasmtime::Engine;
use wasmtime::component::{Component, Linker, ResourceTable};

use super::state::InvocationState;
use crate::bindings::Contract;
use crate::capabilities;

/// What a plugin may import: the host's `soar:plugin` interfaces and WASI
/// 0.2 (what each store grants is set in its `WasiCtx`). Only the WASI
/// interfaces the component imports are linked (each once, whichever 0.2.x
/// versions it names: the linker matches them by semver): linking all of them
/// cost a CLI run about 1 ms, and the Zoom plugin imports a third of them. An
/// import not linked here fails `instantiate_pre` with its name.
pub(super) fn linker(
    engine: &Engine,
    component: &Component,
    contract: Contract,
) -> wasmtime::Result<Linker<InvocationState>> {
    use wasmtime_wasi::cli::{WasiCli, WasiCliView};
    use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView};
    use wasmtime_wasi::filesystem::{WasiFilesystem, WasiFilesystemView};
    use wasmtime_wasi::p2::bindings::{cli, clocks, filesystem, io, random, sockets};
    use wasmtime_wasi::random::{WasiRandom, WasiRandomView};
    use wasmtime_wasi::sockets::{WasiSockets, WasiSocketsView};
    type S = InvocationState;

    let mut linker = Linker::new(engine);
    let l = &mut linker;
    capabilities::http::link(l, contract)?;
    capabilities::store::link(l, contract)?;
    capabilities::log::link(l, contract)?;
    let ty = component.component_type();
    let imported: std::collections::BTreeSet<&str> = ty
        .imports(engine)
        .map(|(name, _)| {
            name.split_once('@')
                .map_or(name, |(interface, _)| interface)
        })
        .collect();
    for interface in imported {
        match interface {
            "wasi:io/error" => io::error::add_to_linker::<S, Table>(l, table)?,
            "wasi:io/poll" => io::poll::add_to_linker::<S, Table>(l, table)?,
            "wasi:io/streams" => io::streams::add_to_linker::<S, Table>(l, table)?,
            "wasi:clocks/wall-clock" => {
                clocks::wall_clock::add_to_linker::<S, WasiClocks>(l, S::clocks)?
            }
            "wasi:clocks/monotonic-clock" => {
                clocks::monotonic_clock::add_to_linker::<S, WasiClocks>(l, S::clocks)?
            }
            "wasi:random/random" => random::random::add_to_linker::<S, WasiRandom>(l, S::random)?,
            "wasi:random/insecure" => {
                random::insecure::add_to_linker::<S, WasiRandom>(l, S::random)?
            }
            "wasi:random/insecure-seed" => {
                random::insecure_seed::add_to_linker::<S, WasiRandom>(l, S::random)?
            }
            "wasi:cli/exit" => cli::exit::add_to_linker::<S, WasiCli>(l, S::cli)?,
            "wasi:cli/environment" => cli::environment::add_to_linker::<S, WasiCli>(l, S::cli)?,
            "wasi:cli/stdin" => cli::stdin::add_to_linker::<S, WasiCli>(l, S::cli)?,
            "wasi:cli/stdout" => cli::stdout::add_to_linker::<S, WasiCli>(l, S::cli)?,
            "wasi:cli/stderr" => cli::stderr::add_to_linker::<S, WasiCli>(l, S::cli)?,
            "wasi:cli/terminal-input" => {
                cli::terminal_input::add_to_linker::<S, WasiCli>(l, S::cli)?
            }
            "wasi:cli/terminal-output" => {
                cli::terminal_output::add_to_linker::<S, WasiCli>(l, S::cli)?
            }
            "wasi:cli/terminal-stdin" => {
                cli::terminal_stdin::add_to_linker::<S, WasiCli>(l, S::cli)?
            }
            "wasi:cli/terminal-stdout" => {
                cli::terminal_stdout::add_to_linker::<S, WasiCli>(l, S::cli)?
            }
            "wasi:cli/terminal-stderr" => {
                cli::terminal_stderr::add_to_linker::<S, WasiCli>(l, S::cli)?
            }
            "wasi:filesystem/types" => {
                filesystem::types::add_to_linker::<S, WasiFilesystem>(l, S::filesystem)?
            }
            "wasi:filesystem/preopens" => {
                filesystem::preopens::add_to_linker::<S, WasiFilesystem>(l, S::filesystem)?
            }
            "wasi:sockets/network" => sockets::network::add_to_linker::<S, WasiSockets>(
                l,
                &Default::default(),
                S::sockets,
            )?,
            "wasi:sockets/instance-network" => {
                sockets::instance_network::add_to_linker::<S, WasiSockets>(l, S::sockets)?
            }
            "wasi:sockets/tcp" => sockets::tcp::add_to_linker::<S, WasiSockets>(l, S::sockets)?,
            "wasi:sockets/tcp-create-socket" => {
                sockets::tcp_create_socket::add_to_linker::<S, WasiSockets>(l, S::sockets)?
            }
            "wasi:sockets/udp" => sockets::udp::add_to_linker::<S, WasiSockets>(l, S::sockets)?,
            "wasi:sockets/udp-create-socket" => {
                sockets::udp_create_socket::add_to_linker::<S, WasiSockets>(l, S::sockets)?
            }
            "wasi:sockets/ip-name-lookup" => {
                sockets::ip_name_lookup::add_to_linker::<S, WasiSockets>(l, S::sockets)?
            }
            _ => {}
        }
    }
    Ok(linker)
}

/// The `wasi:io` interfaces reach only the store's resource table.
struct Table;

impl wasmtime::component::HasData for Table {
    type Data<'a> = &'a mut ResourceTable;
}

fn table(state: &mut InvocationState) -> &mut ResourceTable {
    wasmtime_wasi::WasiView::ctx(state).table
}
