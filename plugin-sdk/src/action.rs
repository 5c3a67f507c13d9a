//! One action, declared once: what the manifest says about it and the
//! function that runs it, side by side, so they cannot drift apart.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{ActionError, ActionKind};

/// What an action answers: a JSON value, or JSON text passed on as it came
/// (an upstream's body, checked but not rebuilt: cheaper for big answers).
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    Json(Value),
    /// Must be valid JSON text; [`Output::raw`] checks it.
    RawJson(String),
}

impl Output {
    /// JSON text kept as it is, after checking that it parses.
    pub fn raw(text: String) -> Result<Self, ActionError> {
        serde_json::from_str::<serde::de::IgnoredAny>(&text)
            .map_err(|e| ActionError::upstream(format!("the answer is not JSON: {e}")))?;
        Ok(Output::RawJson(text))
    }

    pub(crate) fn into_text(self) -> String {
        match self {
            Output::Json(value) => value.to_string(),
            Output::RawJson(text) => text,
        }
    }
}

impl From<Value> for Output {
    fn from(value: Value) -> Self {
        Output::Json(value)
    }
}

type Runner<C> = Box<dyn Fn(&mut C, &str) -> Result<Output, ActionError>>;
type SchemaFn = Box<dyn Fn() -> Value>;

/// An action of a plugin whose runs get a `&mut C` (its [`crate::Plugin::Context`]).
pub struct Action<C> {
    pub(crate) name: &'static str,
    pub(crate) title: &'static str,
    pub(crate) kind: ActionKind,
    pub(crate) description: &'static str,
    pub(crate) operation: &'static str,
    pub(crate) scopes: &'static [&'static str],
    pub(crate) params: SchemaFn,
    pub(crate) output: Option<SchemaFn>,
    pub(crate) idempotent: bool,
    pub(crate) run: Runner<C>,
}

/// The constructors sit on `Action<()>` only so that `Action::enrichment(..)`
/// needs no type annotation; the context type comes with [`ActionBuilder::run`].
impl Action<()> {
    /// Starts the declaration of an action that only reads.
    pub fn enrichment(name: &'static str, title: &'static str) -> ActionBuilder {
        ActionBuilder::new(name, title, ActionKind::Enrichment)
    }

    /// Starts the declaration of an action that changes something upstream.
    pub fn containment(name: &'static str, title: &'static str) -> ActionBuilder {
        ActionBuilder::new(name, title, ActionKind::Containment)
    }
}

impl<C> Action<C> {
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Scopes of which any one suffices.
    pub fn scopes(&self) -> &'static [&'static str] {
        self.scopes
    }

    /// Runs it on params the host has checked against its schema: a JSON
    /// object as text, parsed once, straight into the action's params type.
    pub fn run(&self, context: &mut C, params: &str) -> Result<Output, ActionError> {
        if !params.trim_start().starts_with('{') {
            return Err(ActionError::invalid_input("params must be a JSON object"));
        }
        (self.run)(context, params)
    }
}

/// The parts of an [`Action`] before its run function; [`ActionBuilder::run`]
/// finishes it. Schemas are kept as functions and built only when the
/// manifest is asked for, so an invocation does not pay for every action's
/// schema.
pub struct ActionBuilder {
    name: &'static str,
    title: &'static str,
    kind: ActionKind,
    description: &'static str,
    operation: &'static str,
    scopes: &'static [&'static str],
    params: Option<SchemaFn>,
    output: Option<SchemaFn>,
    idempotent: bool,
}

impl ActionBuilder {
    fn new(name: &'static str, title: &'static str, kind: ActionKind) -> Self {
        ActionBuilder {
            name,
            title,
            kind,
            description: "",
            operation: "",
            scopes: &[],
            params: None,
            output: None,
            // Reading twice is reading once; a change must say so itself.
            idempotent: matches!(kind, ActionKind::Enrichment),
        }
    }

    pub fn description(mut self, description: &'static str) -> Self {
        self.description = description;
        self
    }

    /// The upstream operation, `METHOD /path/{param}`.
    pub fn operation(mut self, operation: &'static str) -> Self {
        self.operation = operation;
        self
    }

    /// OAuth scopes of which any one suffices (classic and granular).
    pub fn scopes(mut self, scopes: &'static [&'static str]) -> Self {
        self.scopes = scopes;
        self
    }

    /// The params' JSON Schema (2020-12), e.g. from [`crate::schema::params`].
    /// Without one, the action takes no params.
    pub fn params(self, schema: Value) -> Self {
        self.params_with(move || schema.clone())
    }

    /// Like [`ActionBuilder::params`], for a big schema: `build` runs only
    /// when the manifest is asked for.
    pub fn params_with(mut self, build: impl Fn() -> Value + 'static) -> Self {
        self.params = Some(Box::new(build));
        self
    }

    /// The result's JSON Schema (2020-12), when it is known: `build` runs
    /// only when the manifest is asked for. (Every invoke lists the
    /// plugin's actions to find one; a schema built eagerly, even a small
    /// `json!`, is paid for by every run: half of the Zoom plugin's own
    /// work per call, when its 37 actions did.)
    pub fn output(mut self, build: impl Fn() -> Value + 'static) -> Self {
        self.output = Some(Box::new(build));
        self
    }

    /// Whether running it twice has the effect of running it once. Defaults
    /// to true for enrichment, false for containment.
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
        self
    }

    /// Finishes the declaration with the function that runs it. `T` is the
    /// params' type: a `#[derive(Deserialize)]` struct, or
    /// `serde_json::Map<String, Value>` for the raw object. Params that do
    /// not fit `T` become an `invalid-input` error naming the problem.
    pub fn run<C, T, R, F>(self, run: F) -> Action<C>
    where
        F: Fn(&mut C, T) -> Result<R, ActionError> + 'static,
        T: DeserializeOwned + 'static,
        R: Into<Output> + 'static,
        C: 'static,
    {
        let name = self.name;
        Action {
            name: self.name,
            title: self.title,
            kind: self.kind,
            description: self.description,
            operation: self.operation,
            scopes: self.scopes,
            params: self
                .params
                .unwrap_or_else(|| Box::new(crate::schema::no_params)),
            output: self.output,
            idempotent: self.idempotent,
            run: Box::new(move |context, params| {
                let params: T = serde_json::from_str(params).map_err(|e| {
                    ActionError::invalid_input(format!("params of `{name}` do not fit: {e}"))
                })?;
                run(context, params).map(Into::into)
            }),
        }
    }
}
