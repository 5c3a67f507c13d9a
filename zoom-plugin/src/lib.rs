//! The Zoom integration: a WASI 0.2 component behind the `soar:plugin@0.2.0`
//! contract, built on the guest SDK.
//!
//! Everything that leaves the component goes through the host's `http`
//! import; the OAuth token lives in the host's per-resource `store`.

mod actions;
mod client;
mod config;
mod connectivity;
mod errors;
mod operations;
mod params;
mod schemas;
mod token;
mod webhook;

use soar_plugin_sdk::{
    Action, ActionError, Config, EventType, Field, Plugin, TestReport, WebhookOutcome,
    WebhookRequest, register_plugin,
};

use crate::client::Client;

pub struct Zoom;

impl Plugin for Zoom {
    const NAME: &'static str = "zoom";
    const TITLE: &'static str = "Zoom";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str =
        "Zoom meetings and users through Zoom's REST API v2, with Server-to-Server OAuth";

    type Context = Client;

    fn config() -> Vec<Field> {
        config::fields()
    }

    fn actions() -> Vec<Action<Client>> {
        actions::all()
    }

    fn connect(config: &Config) -> Result<Client, ActionError> {
        Ok(Client::new(config::ZoomConfig::from_config(config)?))
    }

    fn test(config: &Config) -> Result<TestReport, ActionError> {
        connectivity::run(config)
    }

    fn webhook(config: &Config, request: &WebhookRequest) -> WebhookOutcome {
        let secret = match config.opt_string("webhook_secret_token") {
            Ok(secret) => secret,
            Err(e) => return soar_plugin_sdk::rejected(e.message),
        };
        webhook::receive(secret.as_deref(), request, token::now_secs())
    }

    fn events() -> Vec<EventType> {
        webhook::event_types()
    }
}

register_plugin!(Zoom);

#[cfg(test)]
mod tests;
