//! The contract's generated types and imports. Only the SDK sees this module:
//! plugins use the SDK's own names, so a new contract version changes one
//! crate, not every integration.

wit_bindgen::generate!({
    path: "../wit/0.2.0",
    world: "integration",
});
