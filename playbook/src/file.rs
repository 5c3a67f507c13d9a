//! The playbook file: its YAML shape, read with the place of every value,
//! and the checks that need nothing but the file (names, ids, expressions
//! and the names they use, cron, globs, durations). The checks against the
//! resources' plugins are in [`crate::check`].

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};
use serde_saphyr::Spanned;

use crate::expr::{Expr, ExprError, Template};
use crate::node::{Node, Pos};
use crate::{Finding, MAX_STEPS};

/// The `for_each` items a step may have unless it says otherwise.
pub const DEFAULT_MAX_ITEMS: usize = 1000;
/// The most `for_each` items a step may allow itself.
pub const MAX_ITEMS_LIMIT: usize = 10_000;

// ---- the file as written ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlaybook {
    name: Spanned<String>,
    #[serde(default)]
    description: String,
    on: Spanned<RawTriggers>,
    steps: Spanned<Vec<Spanned<RawStep>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTriggers {
    #[serde(default, deserialize_with = "present")]
    manual: Option<RawManual>,
    webhook: Option<Spanned<RawWebhook>>,
    schedule: Option<Spanned<RawSchedule>>,
    watch: Option<Spanned<RawWatch>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawManual {
    inputs: Option<Spanned<Node>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebhook {
    resource: Spanned<String>,
    event: Spanned<String>,
    #[serde(rename = "if")]
    condition: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchedule {
    cron: Spanned<String>,
    timezone: Option<Spanned<String>>,
    #[serde(default)]
    catch_up: CatchUp,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWatch {
    resource: Spanned<String>,
    action: Spanned<String>,
    with: Option<Spanned<Node>>,
    every: Spanned<String>,
    items: Spanned<String>,
    key: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    id: Spanned<String>,
    resource: Spanned<String>,
    action: Spanned<String>,
    with: Option<Spanned<Node>>,
    #[serde(rename = "if")]
    condition: Option<Spanned<String>>,
    for_each: Option<Spanned<Node>>,
    parallel: Option<Spanned<u32>>,
    max_items: Option<Spanned<u32>>,
    retry: Option<Spanned<RawRetry>>,
    timeout: Option<Spanned<String>>,
    #[serde(default)]
    on_error: OnError,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRetry {
    attempts: u32,
    backoff: Option<Spanned<String>>,
}

/// `manual:` alone (null) is the trigger with no inputs.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de> + Default>(
    d: D,
) -> Result<Option<T>, D::Error> {
    Option::<T>::deserialize(d).map(|o| Some(o.unwrap_or_default()))
}

// ---- the playbook as checked ----

/// A name and where it was written.
#[derive(Debug, Clone)]
pub struct Named {
    pub name: String,
    pub at: Pos,
}

impl From<&Spanned<String>> for Named {
    fn from(s: &Spanned<String>) -> Self {
        Self {
            name: s.value.clone(),
            at: Pos::of(s),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Playbook {
    pub name: String,
    pub description: String,
    pub file: PathBuf,
    /// The file's text as it was read (the worker records it in a run's
    /// history, so that a replay runs what the run started with).
    pub source: String,
    pub manual: Option<Manual>,
    pub webhook: Option<WebhookTrigger>,
    pub schedule: Option<Schedule>,
    pub watch: Option<Watch>,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone)]
pub struct Manual {
    /// The inputs' JSON Schema (an object schema). Its properties'
    /// defaults fill the inputs of every run, whatever its trigger: they
    /// are the playbook's settings (a channel to tell, domains to block).
    pub inputs: Value,
}

impl Manual {
    /// `inputs` with every absent property that has a default set to it.
    pub fn with_defaults(&self, inputs: &mut Value) {
        let (Some(properties), Value::Object(given)) = (
            self.inputs.get("properties").and_then(Value::as_object),
            inputs,
        ) else {
            return;
        };
        for (name, schema) in properties {
            if let Some(default) = schema.get("default") {
                given.entry(name.clone()).or_insert_with(|| default.clone());
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct WebhookTrigger {
    pub resource: Named,
    /// An event type, or a glob (`meeting.*`).
    pub event: Named,
    pub condition: Option<Expr>,
}

#[derive(Debug, Clone)]
pub struct Schedule {
    pub cron: croner::Cron,
    pub source: Named,
    pub timezone: jiff::tz::TimeZone,
    pub catch_up: CatchUp,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CatchUp {
    /// A tick missed while nothing ran runs once on start.
    #[default]
    Once,
    Skip,
}

#[derive(Debug, Clone)]
pub struct Watch {
    pub resource: Named,
    pub action: Named,
    pub with: Template,
    pub with_node: Option<Spanned<Node>>,
    pub every: Duration,
    pub items: Expr,
    pub key: Expr,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    #[default]
    Fail,
    Continue,
}

#[derive(Debug, Clone)]
pub struct Step {
    pub id: String,
    pub at: Pos,
    pub resource: Named,
    pub action: Named,
    pub with: Template,
    /// `with:` as written, for the place of a value the schema refuses.
    pub with_node: Option<Spanned<Node>>,
    pub condition: Option<Expr>,
    pub for_each: Option<Template>,
    pub for_each_at: Pos,
    /// How many items run at once (1: in order).
    pub parallel: usize,
    pub max_items: usize,
    /// `None`: the default (retryable errors of idempotent actions).
    pub retry: Option<Retry>,
    pub timeout: Option<Duration>,
    pub on_error: OnError,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    pub attempts: u32,
    pub backoff: Duration,
}

impl Retry {
    /// What a step without `retry:` gets for an idempotent action.
    pub const DEFAULT_IDEMPOTENT: Retry = Retry {
        attempts: 3,
        backoff: Duration::from_secs(1),
    };
}

impl Step {
    /// Every expression of the step: `for_each`, `if`, `with`.
    pub fn exprs(&self) -> Vec<&Expr> {
        let mut exprs: Vec<&Expr> = self.for_each.iter().flat_map(Template::exprs).collect();
        exprs.extend(self.condition.iter());
        exprs.extend(self.with.exprs());
        exprs
    }

    /// Whether an expression of the step reads an earlier step's result.
    pub fn reads_results(&self) -> bool {
        self.exprs().iter().any(|e| {
            e.names().iter().any(|n| {
                n.starts_with("steps.") && n.split('.').nth(2).is_none_or(|f| f == "result")
            })
        })
    }
}

/// Where a value of `with:` was written: the deepest node `pointer` (a JSON
/// Pointer into the params) reaches, else the step's `with:` itself.
pub fn pos_in(node: Option<&Spanned<Node>>, pointer: &str, fallback: Pos) -> Pos {
    let Some(mut node) = node else {
        return fallback;
    };
    for token in pointer.split('/').skip(1) {
        let token = token.replace("~1", "/").replace("~0", "~");
        let next = match &node.value {
            Node::Map(members) => members.iter().find(|(k, _)| *k == token).map(|(_, v)| v),
            Node::Seq(items) => token.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        };
        match next {
            Some(n) => node = n,
            None => break,
        }
    }
    Pos::of(node)
}

impl Playbook {
    /// Read a playbook file.
    pub fn load(path: &Path) -> Result<Self, Vec<Finding>> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            vec![Finding::new(
                path,
                Pos::default(),
                format!("cannot read it: {e}"),
            )]
        })?;
        Self::parse(path, &text)
    }

    /// Parse and check what the file alone decides.
    pub fn parse(path: &Path, text: &str) -> Result<Self, Vec<Finding>> {
        let raw: RawPlaybook = serde_saphyr::from_str(text).map_err(|e| {
            let at = e
                .location()
                .map(|l| Pos {
                    line: l.line(),
                    column: l.column(),
                })
                .unwrap_or_default();
            vec![Finding::new(path, at, yaml_message(&e))]
        })?;
        let mut c = Checker {
            file: path,
            findings: Vec::new(),
        };
        let mut playbook = c.playbook(raw);
        playbook.source = text.to_owned();
        if c.findings.is_empty() {
            Ok(playbook)
        } else {
            c.findings.sort_by_key(|f| (f.line, f.column));
            Err(c.findings)
        }
    }

    /// Does this playbook start on `event_type` events of `resource`?
    pub fn listens_to(&self, resource: &str, event_type: &str) -> bool {
        self.webhook
            .as_ref()
            .is_some_and(|w| w.resource.name == resource && glob_matches(&w.event.name, event_type))
    }
}

/// The message of a YAML error, without the snippet and place (the finding
/// has them).
fn yaml_message(e: &serde_saphyr::Error) -> String {
    let text = e.without_snippet().to_string();
    // "… at line 3, column 5" ends some messages: the finding says it.
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// `*` matches any run of characters; everything else matches itself.
pub fn glob_matches(glob: &str, text: &str) -> bool {
    let parts: Vec<&str> = glob.split('*').collect();
    if parts.len() == 1 {
        return glob == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

fn valid_step_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// What a step's `steps.<id>` offers.
const STEP_FIELDS: [&str; 4] = ["result", "params", "status", "error"];

/// The names an expression may use where it stands.
struct Scope<'a> {
    /// Root names allowed (besides `steps`, when `earlier` is `Some`).
    roots: &'a [&'a str],
    /// Steps that come earlier, when `steps` is in scope.
    earlier: Option<&'a HashSet<String>>,
}

struct Checker<'a> {
    file: &'a Path,
    findings: Vec<Finding>,
}

impl Checker<'_> {
    fn at(&mut self, at: Pos, message: impl Into<String>) {
        self.findings
            .push(Finding::new(self.file, at, message.into()));
    }

    fn expr_errors(&mut self, errors: Vec<ExprError>) {
        for e in errors {
            self.at(e.at, e.message);
        }
    }

    fn duration(&mut self, s: &Spanned<String>, what: &str) -> Option<Duration> {
        match humantime::parse_duration(s.value.trim()) {
            Ok(d) => Some(d),
            Err(e) => {
                self.at(
                    Pos::of(s),
                    format!(
                        "{what} `{}` is not a duration ({e}); write e.g. 30s, 500ms, 5m",
                        s.value
                    ),
                );
                None
            }
        }
    }

    fn names(&mut self, expr: &Expr, scope: &Scope) {
        for path in expr.names() {
            let mut parts = path.split('.');
            let root = parts.next().unwrap_or_default();
            if root == "steps"
                && let Some(earlier) = scope.earlier
            {
                match parts.next() {
                    None => {}
                    Some(id) if !earlier.contains(id) => self.at(
                        expr.at,
                        format!("`{path}`: no step `{id}` comes before this one; a step sees only the steps above it"),
                    ),
                    Some(id) => {
                        if let Some(field) = parts.next().filter(|f| !STEP_FIELDS.contains(f)) {
                            self.at(
                                expr.at,
                                format!("`{path}`: a step has no `{field}`; use steps.{id}.result, .params, .status or .error"),
                            );
                        }
                    }
                }
                continue;
            }
            if !scope.roots.contains(&root) {
                let mut allowed: Vec<&str> = scope.roots.to_vec();
                if scope.earlier.is_some() {
                    allowed.push("steps");
                }
                let hint = if matches!(root, "item" | "index") && scope.earlier.is_some() {
                    " (`item` and `index` exist only in a step with `for_each`, not in the for_each expression itself)"
                } else {
                    ""
                };
                let allowed = if allowed.is_empty() {
                    "none: only literal values".to_owned()
                } else {
                    allowed.join(", ")
                };
                self.at(
                    expr.at,
                    format!("`{root}` is not a name here{hint}; the names here are: {allowed}"),
                );
            }
        }
    }

    fn template(&mut self, node: &Spanned<Node>, scope: &Scope) -> Template {
        let mut errors = Vec::new();
        let template = Template::compile(node, &mut errors);
        let failed = !errors.is_empty();
        self.expr_errors(errors);
        if !failed {
            for e in template.exprs() {
                self.names(e, scope);
            }
        }
        template
    }

    fn expr(&mut self, s: &Spanned<String>, scope: &Scope, condition: bool) -> Option<Expr> {
        let at = Pos::of(s);
        let parsed = if condition {
            Expr::condition(&s.value, at).map(Some)
        } else {
            Expr::in_text(&s.value, at)
        };
        match parsed {
            Ok(Some(e)) => {
                self.names(&e, scope);
                Some(e)
            }
            Ok(None) => {
                self.at(
                    at,
                    format!("`{}` must be an expression, `${{{{ … }}}}`", s.value),
                );
                None
            }
            Err(e) => {
                self.at(e.at, e.message);
                None
            }
        }
    }

    fn playbook(&mut self, raw: RawPlaybook) -> Playbook {
        if !valid_name(&raw.name.value) {
            self.at(
                Pos::of(&raw.name),
                format!("name `{}` must be lower case letters, digits, `_` and `-`, starting with a letter or digit", raw.name.value),
            );
        }
        let on_at = Pos::of(&raw.on);
        let triggers = raw.on.value;
        if triggers.manual.is_none()
            && triggers.webhook.is_none()
            && triggers.schedule.is_none()
            && triggers.watch.is_none()
        {
            self.at(
                on_at,
                "`on:` names no trigger; give at least one of manual, webhook, schedule, watch",
            );
        }
        let manual = triggers.manual.map(|m| Manual {
            inputs: self.inputs_schema(m.inputs.as_ref()),
        });
        let webhook = triggers.webhook.map(|w| self.webhook(w.value));
        let schedule = triggers.schedule.and_then(|s| self.schedule(s.value));
        let watch = triggers.watch.and_then(|w| self.watch(w.value));

        let steps_at = Pos::of(&raw.steps);
        let raw_steps = raw.steps.value;
        if raw_steps.is_empty() {
            self.at(
                steps_at,
                "`steps:` is empty; a playbook runs at least one step",
            );
        }
        if raw_steps.len() > MAX_STEPS {
            self.at(
                steps_at,
                format!(
                    "{} steps: a playbook has at most {MAX_STEPS}; split it",
                    raw_steps.len()
                ),
            );
        }
        let mut earlier = HashSet::new();
        let mut steps = Vec::with_capacity(raw_steps.len());
        for raw_step in raw_steps {
            let step = self.step(raw_step, &earlier);
            if !earlier.insert(step.id.clone()) {
                self.at(
                    step.at,
                    format!(
                        "step id `{}` is used twice; step ids are unique in a file",
                        step.id
                    ),
                );
            }
            steps.push(step);
        }
        Playbook {
            name: raw.name.value,
            description: raw.description,
            file: self.file.to_owned(),
            source: String::new(),
            manual,
            webhook,
            schedule,
            watch,
            steps,
        }
    }

    /// `inputs:` is a JSON Schema of an object, or just its properties map.
    fn inputs_schema(&mut self, inputs: Option<&Spanned<Node>>) -> Value {
        let Some(node) = inputs else {
            return json!({"type": "object"});
        };
        let value = node.value.to_json();
        let schema = match &value {
            Value::Object(m) if m.contains_key("properties") || m.contains_key("type") => value,
            Value::Object(_) => json!({"type": "object", "properties": value}),
            Value::Null => json!({"type": "object"}),
            _ => {
                self.at(
                    Pos::of(node),
                    "`inputs:` is a map of input names to JSON Schemas",
                );
                return json!({"type": "object"});
            }
        };
        if let Err(e) = jsonschema::draft202012::meta::validate(&schema) {
            self.at(
                Pos::of(node),
                format!("`inputs:` is not a JSON Schema: {e}"),
            );
        }
        schema
    }

    fn webhook(&mut self, raw: RawWebhook) -> WebhookTrigger {
        if raw.event.value.trim().is_empty() {
            self.at(
                Pos::of(&raw.event),
                "`event:` is empty; name an event type or a glob such as meeting.*",
            );
        }
        let scope = Scope {
            roots: &["event", "inputs"],
            earlier: None,
        };
        let condition = raw
            .condition
            .as_ref()
            .and_then(|c| self.expr(c, &scope, true));
        WebhookTrigger {
            resource: (&raw.resource).into(),
            event: (&raw.event).into(),
            condition,
        }
    }

    fn schedule(&mut self, raw: RawSchedule) -> Option<Schedule> {
        let fields = raw.cron.value.split_whitespace().count();
        let parsed = if matches!(fields, 5 | 6) {
            croner::parser::CronParser::builder()
                .seconds(croner::parser::Seconds::Optional)
                .build()
                .parse(raw.cron.value.trim())
                .map_err(|e| e.to_string())
        } else {
            Err(format!("it has {fields} fields"))
        };
        let cron = match parsed {
            Ok(c) => Some(c),
            Err(e) => {
                self.at(
                    Pos::of(&raw.cron),
                    format!("cron `{}` does not parse ({e}); write 5 fields (minute hour day month weekday) or 6 (seconds first)", raw.cron.value),
                );
                None
            }
        };
        let timezone = match &raw.timezone {
            None => Some(jiff::tz::TimeZone::UTC),
            Some(tz) => match jiff::tz::TimeZone::get(tz.value.trim()) {
                Ok(zone) => Some(zone),
                Err(e) => {
                    self.at(
                        Pos::of(tz),
                        format!("timezone `{}` is unknown ({e}); write an IANA name such as UTC or Europe/Berlin", tz.value),
                    );
                    None
                }
            },
        };
        Some(Schedule {
            cron: cron?,
            source: (&raw.cron).into(),
            timezone: timezone?,
            catch_up: raw.catch_up,
        })
    }

    fn watch(&mut self, raw: RawWatch) -> Option<Watch> {
        let none = Scope {
            roots: &[],
            earlier: None,
        };
        let with = match &raw.with {
            Some(node) => self.template(node, &none),
            None => Template::Literal(json!({})),
        };
        let every = self.duration(&raw.every, "every")?;
        if every < Duration::from_secs(1) {
            self.at(Pos::of(&raw.every), "`every:` is at least 1s");
        }
        let items = self.expr(
            &raw.items,
            &Scope {
                roots: &["result"],
                earlier: None,
            },
            false,
        );
        let key = self.expr(
            &raw.key,
            &Scope {
                roots: &["item"],
                earlier: None,
            },
            false,
        );
        Some(Watch {
            resource: (&raw.resource).into(),
            action: (&raw.action).into(),
            with,
            with_node: raw.with,
            every,
            items: items?,
            key: key?,
        })
    }

    fn step(&mut self, raw: Spanned<RawStep>, earlier: &HashSet<String>) -> Step {
        let at = Pos::of(&raw);
        let raw = raw.value;
        if !valid_step_id(&raw.id.value) {
            self.at(
                Pos::of(&raw.id),
                format!(
                    "step id `{}` must be lower case letters, digits and `_`",
                    raw.id.value
                ),
            );
        }
        let outside = Scope {
            roots: &["inputs", "event", "run"],
            earlier: Some(earlier),
        };
        let inside = Scope {
            roots: &["inputs", "event", "run", "item", "index"],
            earlier: Some(earlier),
        };
        let for_each = raw.for_each.as_ref().map(|n| self.template(n, &outside));
        let scope = if for_each.is_some() {
            &inside
        } else {
            &outside
        };
        let with = match &raw.with {
            Some(node) if !matches!(node.value, Node::Map(_) | Node::Null) => {
                self.at(Pos::of(node), "`with:` is a map of the action's params");
                Template::Literal(json!({}))
            }
            Some(node) if matches!(node.value, Node::Map(_)) => self.template(node, scope),
            _ => Template::Literal(json!({})),
        };
        let condition = raw
            .condition
            .as_ref()
            .and_then(|c| self.expr(c, scope, true));
        let max_items = raw.max_items.as_ref().map_or(DEFAULT_MAX_ITEMS, |m| {
            if m.value as usize > MAX_ITEMS_LIMIT {
                self.at(
                    Pos::of(m),
                    format!("`max_items:` is at most {MAX_ITEMS_LIMIT}"),
                );
            }
            m.value as usize
        });
        let parallel = raw.parallel.as_ref().map_or(1, |p| {
            if p.value == 0 || p.value > 64 {
                self.at(Pos::of(p), "`parallel:` is between 1 and 64");
            }
            p.value.clamp(1, 64) as usize
        });
        if for_each.is_none() {
            for (key, value) in [
                ("parallel", raw.parallel.as_ref()),
                ("max_items", raw.max_items.as_ref()),
            ] {
                if let Some(v) = value {
                    self.at(
                        Pos::of(v),
                        format!("`{key}:` applies to a step with `for_each:`"),
                    );
                }
            }
        }
        let retry = raw.retry.as_ref().map(|r| {
            let backoff = r
                .value
                .backoff
                .as_ref()
                .and_then(|b| self.duration(b, "backoff"))
                .unwrap_or(Duration::from_secs(1));
            if r.value.attempts == 0 || r.value.attempts > 10 {
                self.at(
                    Pos::of(r),
                    "`retry.attempts` is between 1 and 10 (1: no retry)",
                );
            }
            Retry {
                attempts: r.value.attempts.clamp(1, 10),
                backoff,
            }
        });
        let timeout = raw
            .timeout
            .as_ref()
            .and_then(|t| self.duration(t, "timeout"));
        Step {
            id: raw.id.value.clone(),
            at: Pos::of(&raw.id),
            resource: (&raw.resource).into(),
            action: (&raw.action).into(),
            with,
            with_node: raw.with,
            condition,
            for_each,
            for_each_at: raw.for_each.as_ref().map_or(at, Pos::of),
            parallel,
            max_items,
            retry,
            timeout,
            on_error: raw.on_error,
        }
    }
}

/// The playbooks of a directory (every `*.yaml` and `*.yml`), by name, and
/// the findings of those that do not load.
pub fn load_dir(dir: &Path) -> Result<(BTreeMap<String, Playbook>, Vec<Finding>), String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("playbooks directory {}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    let mut playbooks = BTreeMap::new();
    let mut findings = Vec::new();
    for file in files {
        match Playbook::load(&file) {
            Ok(p) => {
                if let Some(other) = playbooks.get(&p.name).map(|o: &Playbook| o.file.clone()) {
                    findings.push(Finding::new(
                        &file,
                        Pos { line: 1, column: 1 },
                        format!(
                            "playbook name `{}` is also that of {}; names are unique",
                            p.name,
                            other.display()
                        ),
                    ));
                } else {
                    playbooks.insert(p.name.clone(), p);
                }
            }
            Err(mut f) => findings.append(&mut f),
        }
    }
    Ok((playbooks, findings))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Playbook, Vec<Finding>> {
        Playbook::parse(Path::new("p.yaml"), text)
    }

    fn places(text: &str) -> Vec<(u64, u64)> {
        parse(text)
            .expect_err("findings")
            .iter()
            .map(|f| (f.line, f.column))
            .collect()
    }

    const MINIMAL: &str =
        "name: a\non: { manual: }\nsteps:\n  - { id: s, resource: r, action: x }\n";

    #[test]
    fn a_minimal_playbook_reads() {
        let p = parse(MINIMAL).unwrap();
        assert_eq!(p.name, "a");
        assert!(p.manual.is_some() && p.webhook.is_none());
        assert_eq!(p.steps[0].id, "s");
        assert_eq!(p.steps[0].parallel, 1);
        assert_eq!(p.steps[0].max_items, DEFAULT_MAX_ITEMS);
        assert_eq!(p.steps[0].on_error, OnError::Fail);
    }

    #[test]
    fn on_is_a_key_not_a_boolean() {
        // YAML 1.1 read `on` as true; GitHub's workflows trip on it.
        let p = parse("name: a\non:\n  manual:\nsteps:\n  - { id: s, resource: r, action: x }\n")
            .unwrap();
        assert!(p.manual.is_some());
    }

    #[test]
    fn a_playbook_without_triggers_or_steps_is_refused() {
        assert_eq!(places("name: a\non: {}\nsteps: []\n"), [(2, 5), (3, 8)]);
    }

    #[test]
    fn too_many_steps_are_refused() {
        let mut text = "name: a\non: { manual: }\nsteps:\n".to_owned();
        for i in 0..=MAX_STEPS {
            text.push_str(&format!("  - {{ id: s{i}, resource: r, action: x }}\n"));
        }
        let findings = parse(&text).err().unwrap();
        assert_eq!(findings.len(), 1);
        assert!(findings[0].message.contains("at most 256"), "{findings:?}");
    }

    #[test]
    fn a_schedule_takes_five_or_six_fields_and_a_known_timezone() {
        let ok = "name: a\non:\n  schedule: { cron: \"0 */15 * * * *\", timezone: UTC }\nsteps:\n  - { id: s, resource: r, action: x }\n";
        assert!(parse(ok).is_ok());
        let five = ok.replace("0 */15 * * * *", "*/5 * * * *");
        assert!(parse(&five).is_ok());
        let four = ok.replace("0 */15 * * * *", "* * * *");
        assert_eq!(places(&four), [(3, 21)]);
    }

    #[test]
    fn inputs_defaults_fill_every_run() {
        let p = parse(
            "name: a\non:\n  manual:\n    inputs:\n      channel: { type: string, default: sec }\n      user: { type: string }\nsteps:\n  - { id: s, resource: r, action: x }\n",
        )
        .unwrap();
        let mut inputs = serde_json::json!({"user": "u"});
        p.manual.as_ref().unwrap().with_defaults(&mut inputs);
        assert_eq!(inputs, serde_json::json!({"user": "u", "channel": "sec"}));
        let mut given = serde_json::json!({"channel": "mine"});
        p.manual.as_ref().unwrap().with_defaults(&mut given);
        assert_eq!(given, serde_json::json!({"channel": "mine"}));
    }

    #[test]
    fn globs_match_any_run_of_characters() {
        assert!(glob_matches("meeting.*", "meeting.started"));
        assert!(glob_matches("*", "anything"));
        assert!(glob_matches("user.signed_in", "user.signed_in"));
        assert!(glob_matches(
            "*.participant_*",
            "meeting.participant_joined"
        ));
        assert!(!glob_matches("meeting.*", "user.created"));
        assert!(!glob_matches("user.signed_in", "user.signed_out"));
        assert!(!glob_matches("a*a", "a"));
    }

    #[test]
    fn a_step_sees_item_only_inside_for_each() {
        let text = "name: a\non: { manual: }\nsteps:\n  - id: s\n    resource: r\n    action: x\n    for_each: ${{ inputs.list }}\n    with: { v: \"${{ item }}\", i: \"${{ index }}\" }\n";
        assert!(parse(text).is_ok());
        let outside = text.replace("    for_each: ${{ inputs.list }}\n", "");
        assert_eq!(places(&outside), [(7, 16), (7, 34)]);
    }
}
