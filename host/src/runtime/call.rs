//! One call into a component, in the contract version it speaks.

use wasmtime::Store;

use super::state::InvocationState;
use super::{Answer, Call, Pre};
use crate::bindings::{WebhookOutcome, v0_1};

/// Instantiate and make the call, in the contract the component speaks:
/// the one place where versions are told apart; a 0.1 component's answers
/// come back in 0.2 terms.
pub(super) async fn run(
    pre: &Pre,
    store: &mut Store<InvocationState>,
    call: Call,
) -> wasmtime::Result<Answer> {
    match pre {
        Pre::V0_2(pre) => {
            let instance = pre.instantiate_async(&mut *store).await?;
            let api = instance.soar_plugin_plugin();
            Ok(match call {
                Call::Manifest => Answer::Manifest(api.call_describe(&mut *store).await?),
                Call::Test { config } => Answer::Test(api.call_test(&mut *store, &config).await?),
                Call::Invoke {
                    action,
                    config,
                    params,
                } => Answer::Invoke(
                    api.call_invoke(&mut *store, &action, &config, &params)
                        .await?,
                ),
                Call::Webhook { config, request } => {
                    Answer::Webhook(api.call_webhook(&mut *store, &config, &request).await?)
                }
            })
        }
        Pre::V0_1(pre) => {
            let instance = pre.instantiate_async(&mut *store).await?;
            let api = instance.soar_plugin_plugin();
            Ok(match call {
                Call::Manifest => {
                    Answer::Manifest(v0_1::manifest(api.call_describe(&mut *store).await?))
                }
                Call::Test { config } => Answer::Test(
                    api.call_test(&mut *store, &v0_1::config(&config))
                        .await?
                        .map(v0_1::test_report)
                        .map_err(v0_1::action_error),
                ),
                Call::Invoke {
                    action,
                    config,
                    params,
                } => Answer::Invoke(
                    api.call_invoke(&mut *store, &action, &v0_1::config(&config), &params)
                        .await?
                        .map_err(v0_1::action_error),
                ),
                Call::Webhook { .. } => Answer::Webhook(WebhookOutcome::Rejected(
                    "the plugin is built against soar:plugin 0.1.0, which has no webhooks".into(),
                )),
            })
        }
    }
}
