//! `soar:plugin@0.2.0` (wit/0.2.0), the contract the host works in.

wasmtime::component::bindgen!({
    path: "../wit/0.2.0",
    world: "integration",
    imports: { default: async | trappable },
    exports: { default: async },
});
