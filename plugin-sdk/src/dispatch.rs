//! From the contract's exports to a plugin's declarations: find the action by
//! name, build the context, parse the params, run, serialise.

use std::marker::PhantomData;

use crate::bindings::soar::plugin::types::ConfigValue;
use crate::{ActionError, Config, Manifest, Plugin, TestReport, WebhookOutcome, WebhookRequest};

/// The object-safe face of a registered [`Plugin`], which the component's
/// exports call through.
pub trait Entry: Sync {
    fn describe(&self) -> Manifest;
    fn test(&self, config: Vec<ConfigValue>) -> Result<TestReport, ActionError>;
    fn invoke(
        &self,
        action: &str,
        config: Vec<ConfigValue>,
        params: &str,
    ) -> Result<String, ActionError>;
    fn webhook(&self, config: Vec<ConfigValue>, request: WebhookRequest) -> WebhookOutcome;
}

/// A plugin type made into an [`Entry`] by `register_plugin!`.
pub struct Registered<P>(PhantomData<fn() -> P>);

impl<P> Registered<P> {
    pub const NEW: Self = Registered(PhantomData);
}

impl<P: Plugin> Entry for Registered<P> {
    fn describe(&self) -> Manifest {
        P::manifest()
    }

    fn test(&self, config: Vec<ConfigValue>) -> Result<TestReport, ActionError> {
        P::test(&Config::new(config))
    }

    fn invoke(
        &self,
        action: &str,
        config: Vec<ConfigValue>,
        params: &str,
    ) -> Result<String, ActionError> {
        invoke::<P>(action, &Config::new(config), params)
    }

    fn webhook(&self, config: Vec<ConfigValue>, request: WebhookRequest) -> WebhookOutcome {
        P::webhook(&Config::new(config), &request)
    }
}

/// Runs `action` of `P` with `params` (a JSON object as text), answering the
/// result as JSON text. Also the way to drive a plugin from a native test.
pub fn invoke<P: Plugin>(
    action: &str,
    config: &Config,
    params: &str,
) -> Result<String, ActionError> {
    let Some(declared) = P::actions().into_iter().find(|a| a.name == action) else {
        return Err(ActionError::invalid_input(format!(
            "unknown action `{action}`"
        )));
    };
    let mut context = P::connect(config)?;
    declared
        .run(&mut context, params)
        .map(|output| output.into_text())
}
