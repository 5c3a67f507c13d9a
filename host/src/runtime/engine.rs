//! The engine and its instance allocation: one per process.

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::{Allocation, POOL_INVOCATIONS};

/// The engine: epoch interruption for deadlines, the component model, and
/// the allocation asked for. Where the pool cannot be reserved (a small
/// address-space limit), instances are allocated on demand instead. Returns
/// whether the engine pools.
pub(super) fn engine(allocation: Allocation) -> anyhow::Result<(Engine, bool)> {
    let mut config = Config::new();
    config.epoch_interruption(true);
    config.wasm_component_model(true);
    if allocation == Allocation::Pooled {
        let mut pooled = config.clone();
        pooled.allocation_strategy(InstanceAllocationStrategy::Pooling(pool()));
        match Engine::new(&pooled) {
            Ok(engine) => return Ok((engine, true)),
            Err(e) => {
                tracing::debug!("no pooling allocator ({e:#}); allocating instances on demand")
            }
        }
    }
    Ok((Engine::new(&config)?, false))
}

/// Linear memory kept resident per pooled slot between calls (the Zoom
/// component's `get_user` touches about 1.2 MiB).
const KEEP_RESIDENT: usize = 2 << 20;

/// Room for [`POOL_INVOCATIONS`] at once. The Zoom component instantiates
/// three core modules with one memory and two tables; the room per
/// invocation is several times that, for plugins composed of more.
fn pool() -> PoolingAllocationConfig {
    let n = POOL_INVOCATIONS;
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(n)
        .total_core_instances(16 * n)
        .total_memories(2 * n)
        .total_tables(4 * n)
        .total_stacks(n)
        // Reset memory, tables and fiber stacks for the next call with a
        // memset up to these sizes, instead of handing the pages back to the
        // kernel and faulting them in again (70 µs of a get_user).
        .linear_memory_keep_resident(KEEP_RESIDENT)
        .table_keep_resident(64 << 10)
        .async_stack_keep_resident(64 << 10)
        // Where the kernel can say which pages were touched (Linux 6.7+),
        // only those are reset.
        .pagemap_scan(wasmtime::Enabled::Auto);
    pool
}
