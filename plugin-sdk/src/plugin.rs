//! What an integration implements. Everything has a derived default except
//! what only the integration knows: who it is, its config, its actions, how
//! to connect and how to test.

use crate::{
    Action, ActionError, Config, EventType, Field, Manifest, TestReport, WebhookOutcome,
    WebhookRequest,
};

/// An integration plugin. The functions take no `self`: a component instance
/// serves one call, so what a call needs lives in [`Plugin::Context`].
pub trait Plugin: 'static {
    /// The name resource files use (`plugin = "zoom"`).
    const NAME: &'static str;
    /// The upstream's display name, used in messages.
    const TITLE: &'static str;
    /// Usually `env!("CARGO_PKG_VERSION")`.
    const VERSION: &'static str;
    const DESCRIPTION: &'static str;

    /// What every action run receives, built from the config by
    /// [`Plugin::connect`]: typically an API client holding the credentials.
    type Context;

    /// The fields of a resource's `[config]`.
    fn config() -> Vec<Field>;

    /// The actions, declared once: the manifest and the dispatch both come
    /// from this list.
    fn actions() -> Vec<Action<Self::Context>>;

    /// The context for one invocation. Should not call out: actions decide
    /// when they need the network.
    fn connect(config: &Config) -> Result<Self::Context, ActionError>;

    /// The connectivity test: authenticate and make one cheap call.
    fn test(config: &Config) -> Result<TestReport, ActionError>;

    /// Verifies and reads an inbound webhook. Makes no outbound call.
    fn webhook(config: &Config, request: &WebhookRequest) -> WebhookOutcome {
        let _ = (config, request);
        crate::rejected("this plugin receives no webhooks")
    }

    /// The event types [`Plugin::webhook`] can emit.
    fn events() -> Vec<EventType> {
        Vec::new()
    }

    /// The manifest, derived from the declarations above. Override only to
    /// send something else on purpose (a test plugin with a bad manifest).
    fn manifest() -> Manifest {
        crate::derive_manifest::<Self>()
    }
}
