//! The manifest, derived from a plugin's declarations.

use crate::{ConfigField, Manifest, ManifestAction, Plugin};

/// What [`Plugin::manifest`] answers by default.
pub fn derive_manifest<P: Plugin + ?Sized>() -> Manifest {
    Manifest {
        name: P::NAME.into(),
        title: P::TITLE.into(),
        version: P::VERSION.into(),
        description: P::DESCRIPTION.into(),
        config: P::config().into_iter().map(ConfigField::from).collect(),
        actions: P::actions()
            .iter()
            .map(|action| ManifestAction {
                name: action.name.into(),
                title: action.title.into(),
                kind: action.kind,
                description: action.description.into(),
                operation: action.operation.into(),
                params_schema: (action.params)().to_string(),
                output_schema: action.output.as_ref().map(|schema| schema().to_string()),
                scopes: action.scopes.iter().map(|s| (*s).into()).collect(),
                idempotent: action.idempotent,
            })
            .collect(),
        events: P::events(),
    }
}
