//! The checks that need the resources: each step's resource, its plugin's
//! action, the literal params against the action's JSON Schema (an
//! expression counts as any value where it stands), a webhook's event type
//! against what the plugin sends, a watch's action a list action.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use soar_host::Host;
use soar_host::manifest::{ActionKind, Manifest};
use soar_host::params;
use soar_host::registry::Registry;

use crate::Finding;
use crate::expr::Template;
use crate::file::{Named, Playbook, glob_matches, pos_in};
use crate::node::{Node, Pos};
use serde_saphyr::Spanned;

/// A playbook that passed every check, with what the runner needs to know
/// of its actions.
#[derive(Debug, Clone)]
pub struct Checked {
    pub playbook: Playbook,
    /// Per step: whether its action is idempotent (safe to send again).
    pub idempotent: Vec<bool>,
    /// The kinds of action its steps run (a caller needs leave for each).
    pub kinds: Vec<ActionKind>,
}

/// The valid playbooks of a directory, checked, as the service and the
/// worker serve them.
#[derive(Debug, Default)]
pub struct Playbooks {
    pub checked: BTreeMap<String, Arc<Checked>>,
    /// Findings of the files that are not served.
    pub skipped: Vec<Finding>,
}

impl Playbooks {
    /// The valid playbooks of `dir`, checked against `registry`; each
    /// file skipped is logged with why.
    pub async fn load(
        host: &Host,
        registry: &Registry,
        resources_dir: &Path,
        dir: &Path,
    ) -> Result<Self, String> {
        let (found, mut skipped) = crate::load_dir(dir)?;
        let mut catalog = Catalog::new(host, registry, resources_dir);
        let mut checked = BTreeMap::new();
        for (name, playbook) in found {
            match catalog.check(playbook).await {
                Ok(c) => {
                    checked.insert(name, Arc::new(c));
                }
                Err(mut f) => skipped.append(&mut f),
            }
        }
        for f in &skipped {
            tracing::warn!("playbook skipped: {f}");
        }
        Ok(Self { checked, skipped })
    }
}

/// The playbooks directory when none is named: `playbooks` beside the
/// resources directory.
pub fn default_dir(resources_dir: &Path) -> PathBuf {
    resources_dir
        .parent()
        .unwrap_or(Path::new("."))
        .join("playbooks")
}

/// The manifests of the resources' plugins, each read once.
pub struct Catalog<'a> {
    host: &'a Host,
    resources: &'a Registry,
    /// Where the resources came from, for messages.
    dir: &'a Path,
    manifests: HashMap<String, Result<Manifest, String>>,
}

impl<'a> Catalog<'a> {
    pub fn new(host: &'a Host, resources: &'a Registry, dir: &'a Path) -> Self {
        Self {
            host,
            resources,
            dir,
            manifests: HashMap::new(),
        }
    }

    async fn manifest(&mut self, resource: &str) -> Result<&Manifest, String> {
        if !self.manifests.contains_key(resource) {
            let loaded = match self.resources.get(resource) {
                None => {
                    let known: Vec<&str> = self
                        .resources
                        .resources
                        .keys()
                        .map(String::as_str)
                        .collect();
                    let skipped = self
                        .resources
                        .skipped
                        .iter()
                        .find(|s| s.file.strip_suffix(".toml") == Some(resource));
                    Err(match skipped {
                        Some(s) => format!("resource `{resource}` did not load: {}", s.error),
                        None => format!(
                            "no resource `{resource}` in {} (resources: {})",
                            self.dir.display(),
                            if known.is_empty() {
                                "none".to_owned()
                            } else {
                                known.join(", ")
                            }
                        ),
                    })
                }
                Some(r) => self
                    .host
                    .manifest(r)
                    .await
                    .map_err(|e| format!("resource `{resource}`: {e}")),
            };
            self.manifests.insert(resource.to_owned(), loaded);
        }
        self.manifests[resource].as_ref().map_err(Clone::clone)
    }

    /// Check `playbook` against the resources.
    pub async fn check(&mut self, playbook: Playbook) -> Result<Checked, Vec<Finding>> {
        let file = playbook.file.clone();
        let mut findings = Vec::new();
        let mut idempotent = Vec::with_capacity(playbook.steps.len());
        let mut kinds = Vec::new();
        for step in &playbook.steps {
            let what = format!("step `{}`", step.id);
            let call = Call {
                what: &what,
                resource: &step.resource,
                action: &step.action,
                with: &step.with,
                with_node: step.with_node.as_ref(),
                at: step.at,
            };
            let action = self.call(&file, &call, &mut findings).await;
            idempotent.push(action.is_some_and(|a| a.idempotent));
            if let Some(a) = action
                && !kinds.contains(&a.kind)
            {
                kinds.push(a.kind);
            }
        }
        if let Some(w) = &playbook.webhook {
            match self.manifest(&w.resource.name).await {
                Err(e) => findings.push(Finding::new(&file, w.resource.at, e)),
                Ok(m)
                    if !m.events.is_empty()
                        && !m
                            .events
                            .iter()
                            .any(|e| glob_matches(&w.event.name, &e.name)) =>
                {
                    let known: Vec<&str> = m.events.iter().map(|e| e.name.as_str()).collect();
                    findings.push(Finding::new(
                        &file,
                        w.event.at,
                        format!(
                            "no event type of plugin `{}` matches `{}`; it sends: {}",
                            m.name,
                            w.event.name,
                            known.join(", ")
                        ),
                    ));
                }
                Ok(_) => {}
            }
        }
        if let Some(w) = &playbook.watch {
            let call = Call {
                what: "the watch",
                resource: &w.resource,
                action: &w.action,
                with: &w.with,
                with_node: w.with_node.as_ref(),
                at: w.action.at,
            };
            if self
                .call(&file, &call, &mut findings)
                .await
                .is_some_and(|a| !a.list)
            {
                findings.push(Finding::new(
                    &file,
                    w.action.at,
                    format!(
                        "the watch's action `{}` is not a list action; a watch polls an enrichment action named list_*",
                        w.action.name
                    ),
                ));
            }
        }
        if findings.is_empty() {
            Ok(Checked {
                playbook,
                idempotent,
                kinds,
            })
        } else {
            findings.sort_by_key(|f| (f.line, f.column));
            Err(findings)
        }
    }

    /// Check one call; what the runner needs of its action, when it exists.
    async fn call(
        &mut self,
        file: &Path,
        call: &Call<'_>,
        findings: &mut Vec<Finding>,
    ) -> Option<ActionFacts> {
        let manifest = match self.manifest(&call.resource.name).await {
            Ok(m) => m,
            Err(e) => {
                findings.push(Finding::new(
                    file,
                    call.resource.at,
                    format!("{}: {e}", call.what),
                ));
                return None;
            }
        };
        let Some(action) = manifest.actions.iter().find(|a| a.name == call.action.name) else {
            findings.push(Finding::new(
                file,
                call.action.at,
                format!(
                    "{}: plugin `{}` has no action `{}`; `soar-host actions {}` lists them",
                    call.what, manifest.name, call.action.name, call.resource.name
                ),
            ));
            return None;
        };
        let checker = match params::Checker::new(action) {
            Ok(c) => c,
            Err(e) => {
                findings.push(Finding::new(
                    file,
                    call.action.at,
                    format!("{}: {e}", call.what),
                ));
                return None;
            }
        };
        let (skeleton, exprs) = call.with.literal_skeleton();
        let stands_for_expr = |pointer: &str| {
            exprs.iter().any(|p| {
                pointer == p
                    || pointer.starts_with(&format!("{p}/"))
                    || p.starts_with(&format!("{pointer}/"))
            })
        };
        for v in params::violations(action, &checker, &skeleton) {
            if !stands_for_expr(&v.pointer) {
                findings.push(Finding::new(
                    file,
                    pos_in(call.with_node, &v.pointer, call.at),
                    format!("{}: {}", call.what, v.message),
                ));
            }
        }
        Some(ActionFacts {
            idempotent: action.idempotent,
            kind: action.kind,
            list: action.kind == ActionKind::Enrichment && action.name.starts_with("list_"),
        })
    }
}

#[derive(Clone, Copy)]
struct ActionFacts {
    idempotent: bool,
    kind: ActionKind,
    /// A list action, which a watch may poll.
    list: bool,
}

struct Call<'a> {
    what: &'a str,
    resource: &'a Named,
    action: &'a Named,
    with: &'a Template,
    with_node: Option<&'a Spanned<Node>>,
    at: Pos,
}
