//! Calling actions through the host in this process: how `playbook run`
//! on the command line runs its steps.

use soar_host::registry::Registry;
use soar_host::wire::{ErrorClass, ErrorKind};
use soar_host::{ErrorReport, Host};

use crate::run::{ActionCall, Answer, Caller};

pub struct Direct<'a> {
    pub host: &'a Host,
    pub resources: &'a Registry,
}

impl Caller for Direct<'_> {
    async fn call(&self, call: ActionCall<'_>) -> Answer {
        let result = match self.resources.get(call.resource) {
            None => Err(ErrorReport::new(
                ErrorKind::Resource,
                ErrorClass::Rejected,
                format!("no resource `{}`", call.resource),
            )),
            Some(resource) => self
                .host
                .invoke(resource, call.action, call.params)
                .await
                .map(|invocation| invocation.data)
                .map_err(|e| e.report()),
        };
        Answer {
            result,
            execution_id: None,
        }
    }
}
