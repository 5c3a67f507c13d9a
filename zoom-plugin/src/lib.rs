//! The Zoom integration: a WASI 0.2 component behind the `soar:plugin` contract.
//!
//! Everything that leaves the component goes through the host's `http` import;
//! the OAuth token lives in the host's per-resource `cache`.

mod actions;
mod client;
mod config;
mod encode;
mod errors;
mod manifest;
mod params;

wit_bindgen::generate!({
    path: "../wit",
    world: "integration",
});

use exports::soar::plugin::plugin::Guest;
use soar::plugin::types::{ActionError, ConfigValue, Manifest, TestReport};

struct ZoomPlugin;

impl Guest for ZoomPlugin {
    fn describe() -> Manifest {
        manifest::manifest()
    }

    fn test(config: Vec<ConfigValue>) -> Result<TestReport, ActionError> {
        let config = config::ZoomConfig::from_values(&config)?;
        actions::test::run(&mut client::Client::new(config))
    }

    fn invoke(
        action: String,
        config: Vec<ConfigValue>,
        params: String,
    ) -> Result<String, ActionError> {
        let config = config::ZoomConfig::from_values(&config)?;
        let params = params::Params::parse(&params)?;
        let mut client = client::Client::new(config);
        actions::run(&action, &mut client, &params)
    }
}

export!(ZoomPlugin);
