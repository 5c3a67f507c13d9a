//! A plugin's manifest on the host side: what `actions --json` prints, what
//! config is checked against, and each action's params JSON Schema. A
//! manifest is checked when the plugin loads (see [`Manifest::from_wit`]):
//! duplicate or malformed names, control characters and schemas that are
//! not JSON Schema are refused, so nothing a plugin declares reaches a
//! terminal or a playbook engine unchecked.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use std::sync::OnceLock;

use crate::bindings as wit;

/// The JSON Schema dialect of params and output schemas.
pub const SCHEMA_DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub name: String,
    pub title: String,
    pub version: String,
    pub description: String,
    /// The `soar:plugin` contract version the component was built against.
    pub contract: String,
    pub config: Vec<ConfigField>,
    pub actions: Vec<Action>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<EventType>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValueType {
    String,
    Integer,
    Number,
    Boolean,
    Object,
    Array,
    Any,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConfigField {
    pub name: String,
    pub description: String,
    #[serde(rename = "type")]
    pub value_type: ValueType,
    pub required: bool,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "present"
    )]
    pub default: Option<Value>,
    pub secret: bool,
    pub url: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActionKind {
    Enrichment,
    Containment,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Action {
    pub name: String,
    pub title: String,
    pub kind: ActionKind,
    pub description: String,
    /// The upstream operation (`GET /users/{userId}`); empty when unknown.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub operation: String,
    /// JSON Schema (2020-12) of the params object.
    pub params_schema: Schema,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<Schema>,
    pub scopes: Vec<String>,
    pub idempotent: bool,
}

/// A JSON Schema, read from its text only when first used: a process that
/// runs one action parses one action's schema, not all of them (the Zoom
/// manifest's schemas are 87 KB of its 105).
#[derive(Clone)]
pub struct Schema {
    text: Box<RawValue>,
    value: OnceLock<Value>,
}

impl Schema {
    pub fn value(&self) -> &Value {
        self.value
            .get_or_init(|| serde_json::from_str(self.text.get()).expect("a schema's text is JSON"))
    }
}

impl From<Value> for Schema {
    fn from(value: Value) -> Self {
        let text = serde_json::value::to_raw_value(&value).expect("a JSON value is JSON");
        Self {
            text,
            value: OnceLock::from(value),
        }
    }
}

impl std::ops::Deref for Schema {
    type Target = Value;

    fn deref(&self) -> &Value {
        self.value()
    }
}

impl std::fmt::Debug for Schema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.text.get())
    }
}

impl Serialize for Schema {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.text.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Schema {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Self {
            text: Box::<RawValue>::deserialize(deserializer)?,
            value: OnceLock::new(),
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventType {
    pub name: String,
    pub description: String,
}

/// One top-level param as the schema declares it, for listings (`actions`,
/// the reference, the names an unknown param is told about).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Param {
    pub name: String,
    pub required: bool,
    /// `string`, `integer`, `string | null`, `object`... or `any`.
    pub type_name: String,
    pub description: String,
    /// The `enum`'s values; empty when any value is allowed.
    pub allowed: Vec<Value>,
    /// Present when the schema has a `default`, even a `null` one.
    pub default: Option<Value>,
}

impl Action {
    /// The top-level params, in the schema's order. Read from the schema's
    /// text keeping only what a listing shows: building every action's whole
    /// schema as JSON values was a quarter of `soar-host actions`.
    pub fn params(&self) -> Vec<Param> {
        // The schema was checked when the plugin loaded.
        let outline: Outline =
            serde_json::from_str(self.params_schema.text.get()).unwrap_or_default();
        let mut params = outline.properties;
        for p in &mut params {
            p.required = outline.required.contains(&p.name);
        }
        params
    }
}

/// What a listing shows of a schema, the rest skipped unparsed: as a params
/// object, its `properties` and `required`; as a param, its `type`,
/// `description`, `enum` and `default`.
#[derive(Default)]
struct Outline {
    properties: Vec<Param>,
    required: Vec<String>,
    param: Param,
}

impl<'de> Deserialize<'de> for Outline {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{IgnoredAny, MapAccess, Visitor};
        fn strings(value: Value) -> Vec<String> {
            let Value::Array(values) = value else {
                return Vec::new();
            };
            values
                .into_iter()
                .filter_map(|v| match v {
                    Value::String(s) => Some(s),
                    _ => None,
                })
                .collect()
        }
        /// `properties`, in order.
        struct Properties(Vec<Param>);
        impl<'de> Deserialize<'de> for Properties {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_map(Properties(Vec::new()))
            }
        }
        impl<'de> Visitor<'de> for Properties {
            type Value = Properties;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of schemas")
            }
            fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Self, A::Error> {
                while let Some(name) = map.next_key::<String>()? {
                    let mut param = map.next_value::<Prop>()?.0;
                    param.name = name;
                    if param.type_name.is_empty() {
                        param.type_name = "any".into();
                    }
                    self.0.push(param);
                }
                Ok(self)
            }
        }
        /// A property's schema, as a param.
        struct Prop(Param);
        impl<'de> Deserialize<'de> for Prop {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let outline = d.deserialize_any(Schema { top: false })?;
                Ok(Prop(outline.param))
            }
        }
        /// `top`: the params object (a property's own properties are not
        /// listed, and are skipped).
        struct Schema {
            top: bool,
        }
        impl<'de> Visitor<'de> for Schema {
            type Value = Outline;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON Schema")
            }
            /// `true` or `false`: any value, or none.
            fn visit_bool<E>(self, _: bool) -> Result<Outline, E> {
                Ok(Outline::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Outline, A::Error> {
                let mut outline = Outline::default();
                let param = &mut outline.param;
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    match &*key {
                        "properties" if self.top => {
                            outline.properties = map.next_value::<Properties>()?.0
                        }
                        "required" if self.top => outline.required = strings(map.next_value()?),
                        "type" => {
                            param.type_name = match map.next_value()? {
                                Value::String(t) => t,
                                ts => strings(ts).join(" | "),
                            }
                        }
                        "description" => {
                            if let Value::String(d) = map.next_value()? {
                                param.description = d;
                            }
                        }
                        "enum" => {
                            if let Value::Array(values) = map.next_value()? {
                                param.allowed = values;
                            }
                        }
                        "default" => param.default = Some(map.next_value()?),
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(outline)
            }
        }
        d.deserialize_any(Schema { top: true })
    }
}

/// A field that is present is `Some`, even when it is `null` (a default of
/// `null`); only a missing one is `None`. (The manifest is read back from the
/// compile cache, and must come back as it was.)
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

impl Manifest {
    pub fn action(&self, name: &str) -> Option<&Action> {
        self.actions.iter().find(|a| a.name == name)
    }

    pub fn action_names(&self) -> String {
        self.actions
            .iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Convert and check what the plugin exported.
    pub(crate) fn from_wit(m: wit::WitManifest, contract: wit::Contract) -> Result<Self, String> {
        let json = |what: &str, text: &str| -> Result<Value, String> {
            serde_json::from_str(text).map_err(|e| format!("{what} is not valid JSON: {e}"))
        };
        check_name("plugin", &m.name)?;
        for (what, text) in [
            ("title", &m.title),
            ("version", &m.version),
            ("description", &m.description),
        ] {
            check_text(&format!("the plugin's {what}"), text)?;
        }
        let mut config: Vec<ConfigField> = Vec::new();
        for f in m.config {
            check_name("config field", &f.name)?;
            check_text(&format!("config field `{}`", f.name), &f.description)?;
            if config.iter().any(|c| c.name == f.name) {
                return Err(format!("two config fields are named `{}`", f.name));
            }
            config.push(ConfigField {
                default: f
                    .default
                    .as_deref()
                    .map(|d| json(&format!("default of config field `{}`", f.name), d))
                    .transpose()?,
                value_type: f.value_type.into(),
                name: f.name,
                description: f.description,
                required: f.required,
                secret: f.secret,
                url: f.url,
            });
        }
        let mut actions: Vec<Action> = Vec::new();
        for a in m.actions {
            check_name("action", &a.name)?;
            let what = format!("action `{}`", a.name);
            for text in [&a.title, &a.description, &a.operation] {
                check_text(&what, text)?;
            }
            for scope in &a.scopes {
                check_text(&what, scope)?;
            }
            if actions.iter().any(|b| b.name == a.name) {
                return Err(format!("two actions are named `{}`", a.name));
            }
            let params_schema = json(&format!("the params schema of {what}"), &a.params_schema)?;
            check_schema(&format!("the params schema of {what}"), &params_schema)?;
            if params_schema.get("type").and_then(Value::as_str) != Some("object") {
                return Err(format!(
                    "the params schema of {what} must be of \"type\": \"object\""
                ));
            }
            let output_schema = a
                .output_schema
                .as_deref()
                .map(|text| {
                    let schema = json(&format!("the output schema of {what}"), text)?;
                    check_schema(&format!("the output schema of {what}"), &schema)?;
                    Ok::<_, String>(schema)
                })
                .transpose()?;
            actions.push(Action {
                kind: match a.kind {
                    wit::ActionKind::Enrichment => ActionKind::Enrichment,
                    wit::ActionKind::Containment => ActionKind::Containment,
                },
                name: a.name,
                title: a.title,
                description: a.description,
                operation: a.operation,
                params_schema: params_schema.into(),
                output_schema: output_schema.map(Schema::from),
                scopes: a.scopes,
                idempotent: a.idempotent,
            });
        }
        let mut events: Vec<EventType> = Vec::new();
        for e in m.events {
            if !is_event_type(&e.name) {
                return Err(format!(
                    "event type {} is malformed: {EVENT_TYPE_GRAMMAR}",
                    crate::redact::printable(&format!("{:?}", e.name))
                ));
            }
            check_text(&format!("event type `{}`", e.name), &e.description)?;
            if events.iter().any(|x| x.name == e.name) {
                return Err(format!("event type `{}` is declared twice", e.name));
            }
            events.push(EventType {
                name: e.name,
                description: e.description,
            });
        }
        Ok(Manifest {
            name: m.name,
            title: m.title,
            version: m.version,
            description: m.description,
            contract: contract.version().to_owned(),
            config,
            actions,
            events,
        })
    }
}

/// What an event type may be: it names SSE events, filters and playbook
/// triggers, so it is one short token that cannot break a line.
pub const EVENT_TYPE_GRAMMAR: &str =
    "an ASCII letter or digit, then letters, digits, `.`, `_`, `:` or `-`, at most 128 bytes";

/// Whether `name` is an event type by [`EVENT_TYPE_GRAMMAR`]
/// (`meeting.started`, `user.signed_in`).
pub fn is_event_type(name: &str) -> bool {
    name.len() <= 128
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b))
}

/// Names are what resource files, CLI arguments and URLs carry: lower-case
/// letters, digits, `_` and `-`, starting with a letter, at most 64 bytes.
fn check_name(what: &str, name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{what} name {} is malformed: use lower-case letters, digits, `_` and `-`, starting with a letter, at most 64 bytes",
            crate::redact::printable(&format!("{name:?}"))
        ))
    }
}

/// Text a person will read: no control characters (escape sequences could
/// rewrite their terminal), and of a sane length.
fn check_text(what: &str, text: &str) -> Result<(), String> {
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(format!("{what}: a text holds control characters"));
    }
    if text.len() > 4096 {
        return Err(format!("{what}: a text is over 4096 bytes"));
    }
    Ok(())
}

/// A schema must be a JSON Schema a standard validator accepts.
fn check_schema(what: &str, schema: &Value) -> Result<(), String> {
    if !schema.is_object() {
        return Err(format!("{what} is not a JSON object"));
    }
    jsonschema::draft202012::meta::validate(schema)
        .map_err(|e| format!("{what} is not a valid JSON Schema: {e}"))?;
    jsonschema::draft202012::new(schema)
        .map(drop)
        .map_err(|e| format!("{what} cannot be used: {e}"))
}

impl From<wit::ValueType> for ValueType {
    fn from(t: wit::ValueType) -> Self {
        match t {
            wit::ValueType::String => ValueType::String,
            wit::ValueType::Integer => ValueType::Integer,
            wit::ValueType::Number => ValueType::Number,
            wit::ValueType::Boolean => ValueType::Boolean,
            wit::ValueType::Object => ValueType::Object,
            wit::ValueType::Array => ValueType::Array,
            wit::ValueType::Any => ValueType::Any,
        }
    }
}

impl ValueType {
    pub fn name(self) -> &'static str {
        match self {
            ValueType::String => "string",
            ValueType::Integer => "integer",
            ValueType::Number => "number",
            ValueType::Boolean => "boolean",
            ValueType::Object => "object",
            ValueType::Array => "array",
            ValueType::Any => "any",
        }
    }

    /// Check `value`, accepting what a playbook or shell naturally sends for
    /// scalars: a numeric string for a number, "true"/"false" for a boolean.
    /// Returns the value to pass on, converted to the declared type.
    pub fn coerce(self, value: &Value) -> Option<Value> {
        // The same conversions as params get from their schemas.
        match self {
            ValueType::Any => Some(value.clone()),
            t if crate::params::matches(t.name(), value) => Some(value.clone()),
            t => crate::params::convert(t.name(), value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::{Contract, v0_2::soar::plugin::types as w};

    fn action(name: &str) -> w::Action {
        w::Action {
            name: name.into(),
            title: "T".into(),
            kind: w::ActionKind::Enrichment,
            description: "d".into(),
            operation: "GET /users".into(),
            params_schema: r#"{"type": "object", "properties": {"a": {"type": "integer"}}}"#.into(),
            output_schema: None,
            scopes: vec!["user:read".into()],
            idempotent: true,
        }
    }

    fn field(name: &str) -> w::ConfigField {
        w::ConfigField {
            name: name.into(),
            description: String::new(),
            value_type: w::ValueType::String,
            required: false,
            default: None,
            secret: false,
            url: false,
        }
    }

    fn manifest(actions: Vec<w::Action>, config: Vec<w::ConfigField>) -> w::Manifest {
        w::Manifest {
            name: "p".into(),
            title: "P".into(),
            version: "1".into(),
            description: String::new(),
            config,
            actions,
            events: vec![],
        }
    }

    fn refused(m: w::Manifest) -> String {
        Manifest::from_wit(m, Contract::V0_2).unwrap_err()
    }

    #[test]
    fn a_sound_manifest_loads() {
        let m = Manifest::from_wit(
            manifest(vec![action("get_user")], vec![field("api_url")]),
            Contract::V0_2,
        )
        .unwrap();
        assert_eq!(m.contract, "0.2.0");
        assert_eq!(m.actions[0].params()[0].type_name, "integer");
    }

    #[test]
    fn params_list_what_the_schema_declares_at_the_top() {
        let mut a = action("list");
        a.params_schema = r#"{
            "type": "object",
            "description": "not a param",
            "properties": {
                "page_size": {"type": "integer", "description": "per page", "default": 30,
                              "items": {"properties": {"nested": {"type": "string"}}}},
                "status": {"type": ["string", "null"], "enum": ["active", null], "default": null},
                "anything": true,
                "when": {"if": {"required": ["x"]}, "then": {"description": "not its own"}}
            },
            "required": ["status"],
            "additionalProperties": false
        }"#
        .into();
        let m =
            Manifest::from_wit(manifest(vec![a, action("get")], vec![]), Contract::V0_2).unwrap();
        let param = |name: &str, type_name: &str, required| Param {
            name: name.into(),
            type_name: type_name.into(),
            required,
            ..Param::default()
        };
        assert_eq!(
            m.actions[0].params(),
            [
                Param {
                    description: "per page".into(),
                    default: Some(serde_json::json!(30)),
                    ..param("page_size", "integer", false)
                },
                Param {
                    allowed: vec![serde_json::json!("active"), Value::Null],
                    default: Some(Value::Null),
                    ..param("status", "string | null", true)
                },
                param("anything", "any", false),
                param("when", "any", false),
            ]
        );
        assert_eq!(m.actions[1].params(), [param("a", "integer", false)]);
        let mut bare = action("bare");
        bare.params_schema = r#"{"type": "object"}"#.into();
        let m = Manifest::from_wit(manifest(vec![bare], vec![]), Contract::V0_2).unwrap();
        assert_eq!(m.actions[0].params(), []);
    }

    #[test]
    fn duplicates_are_refused() {
        let err = refused(manifest(vec![action("a"), action("a")], vec![]));
        assert_eq!(err, "two actions are named `a`");
        let err = refused(manifest(vec![], vec![field("x"), field("x")]));
        assert_eq!(err, "two config fields are named `x`");
    }

    #[test]
    fn malformed_names_and_control_characters_are_refused() {
        for name in ["", "Get", "1x", "a b", "a\u{1b}[2J", &"x".repeat(65)] {
            let err = refused(manifest(vec![action(name)], vec![]));
            assert!(err.contains("is malformed"), "{name:?}: {err}");
            assert!(!err.contains('\u{1b}'), "{err}");
        }
        let mut a = action("a");
        a.description = "\u{7}bell".into();
        assert!(refused(manifest(vec![a], vec![])).contains("control characters"));
        let mut f = field("f");
        f.description = "x\ry".into();
        assert!(refused(manifest(vec![], vec![f])).contains("control characters"));
    }

    #[test]
    fn schemas_must_be_json_schema_objects() {
        for (schema, why) in [
            ("not json", "not valid JSON"),
            (r#"{"type": "objekt"}"#, "not a valid JSON Schema"),
            (r#"{"type": "string"}"#, "must be of \"type\": \"object\""),
            ("[1]", "not a JSON object"),
        ] {
            let mut a = action("a");
            a.params_schema = schema.into();
            let err = refused(manifest(vec![a], vec![]));
            assert!(err.contains(why), "{schema}: {err}");
        }
    }

    #[test]
    fn event_types_follow_the_grammar() {
        let event = |name: &str| w::EventType {
            name: name.into(),
            description: "d".into(),
        };
        for ok in [
            "meeting.started",
            "user.signed_in",
            "Microsoft.Graph:x-1",
            "9",
        ] {
            let mut m = manifest(vec![], vec![]);
            m.events = vec![event(ok)];
            assert!(Manifest::from_wit(m, Contract::V0_2).is_ok(), "{ok}");
        }
        for bad in [
            "",
            ".x",
            "a\nb",
            "a\rb",
            "a b",
            "meeting.*",
            "é",
            "a/b",
            &"x".repeat(129),
        ] {
            let mut m = manifest(vec![], vec![]);
            m.events = vec![event(bad)];
            let err = refused(m);
            assert!(err.contains("is malformed"), "{bad:?}: {err}");
            assert!(!err.contains('\n'), "{err}");
        }
        let mut m = manifest(vec![], vec![]);
        m.events = vec![event("a.b"), event("a.b")];
        assert_eq!(refused(m), "event type `a.b` is declared twice");
    }
}
