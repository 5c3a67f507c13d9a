//! Host-side bindings of the `soar:plugin` contract, one module per version
//! (wit/<version>/). The host works in the newest version's types; each older
//! version's module adapts its types and imports to those at the edge, so no
//! other part of the host matches on versions.

pub mod v0_1;
pub mod v0_2;

pub use v0_2::soar::plugin::http::{
    DownloadOutcome, HttpError, Request as HttpRequest, Response as HttpResponse, SavedFile,
};
pub use v0_2::soar::plugin::log::Level as LogLevel;
pub use v0_2::soar::plugin::store::{Entry as StoreEntry, StoreError};
pub use v0_2::soar::plugin::types::{
    ActionError, ActionKind, ConfigValue, ErrorKind, Manifest as WitManifest, TestReport,
    ValueType, WebhookOutcome, WebhookRequest,
};

/// A store's data that holds a capability's state `C`: how each version's
/// bindings reach it.
pub trait Project<C> {
    fn project(&mut self) -> &mut C;
}

/// The contract versions this host loads, newest last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contract {
    V0_1,
    V0_2,
}

impl Contract {
    /// The version a component was built against, from the `soar:plugin`
    /// interfaces it imports or exports; `None` when it names none.
    pub fn of(names: impl IntoIterator<Item = impl AsRef<str>>) -> Option<Self> {
        let mut found = None;
        for name in names {
            let name = name.as_ref();
            let Some((package, version)) = name.split_once('@') else {
                continue;
            };
            if !package.starts_with("soar:plugin/") {
                continue;
            }
            match version {
                "0.2.0" => return Some(Contract::V0_2),
                "0.1.0" => found = Some(Contract::V0_1),
                _ => {}
            }
        }
        found
    }

    pub fn version(self) -> &'static str {
        match self {
            Contract::V0_1 => "0.1.0",
            Contract::V0_2 => "0.2.0",
        }
    }
}
