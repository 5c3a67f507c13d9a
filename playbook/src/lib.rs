//! soar-host playbooks: YAML automations that call actions, started by
//! people, webhooks, schedules and watches.
//!
//! A playbook file is read with the place of every value ([`Playbook`]),
//! checked against the resources' plugins ([`check::Catalog`]), and run
//! step by step ([`Checked::run`]) through a [`Caller`]: the host itself
//! for the CLI, the service and the worker with their own records. The
//! format is documented in `docs/playbooks.md`.

use std::fmt;
use std::path::Path;

use serde::Serialize;

pub mod check;
pub mod direct;
pub mod expr;
pub mod file;
pub mod node;
pub mod record;
pub mod run;
pub mod store;

pub use check::{Catalog, Checked, Playbooks, default_dir};
pub use direct::Direct;
pub use file::{Playbook, load_dir};
pub use node::Pos;
pub use record::{RunRecord, StepRecord, Trigger};
pub use run::{ActionCall, Answer, Caller, Limits, Observer, Progress, Start};
pub use store::{Inserted, RunQuery, RunStore};

/// The most steps one playbook file may have.
pub const MAX_STEPS: usize = 256;

/// Something wrong in a playbook file, at its place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub file: String,
    pub line: u64,
    pub column: u64,
    pub message: String,
}

impl Finding {
    pub fn new(file: &Path, at: Pos, message: impl Into<String>) -> Self {
        Self {
            file: file.display().to_string(),
            line: at.line,
            column: at.column,
            message: message.into(),
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}
