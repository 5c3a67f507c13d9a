//! `${{ … }}` expressions, through minijinja.
//!
//! A playbook's own text is the only thing ever compiled: a value that came
//! from an event, an input or a result reaches an expression as data (a
//! minijinja value) and leaves it as data, so a `${{ … }}` inside it is
//! passed on as that text, never evaluated.
//!
//! A value that is exactly one expression keeps the expression's type (a
//! number, a list, an object); text around an expression makes a string.
//! Undefined names are errors wherever a value is used (semi-strict: `x or
//! y` and `if x` may test an undefined `x`); every evaluation is bounded by
//! fuel. Names in scope are only those the runner puts there: no
//! environment, no secrets, no file system.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use minijinja::syntax::SyntaxConfig;
use minijinja::{Environment, ErrorKind, UndefinedBehavior};
use serde_json::Value;

use crate::node::{Node, Pos};
use serde_saphyr::Spanned;

/// The fuel of one evaluation: enough for any sensible expression, not for
/// a loop over a huge range.
pub const FUEL: u64 = 20_000;

static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    let syntax = SyntaxConfig::builder()
        .variable_delimiters("${{", "}}")
        // Statements and comments are not part of the language; these
        // delimiters only keep `{% %}` and `{# #}` in a text literal.
        .block_delimiters("${%", "%}")
        .comment_delimiters("${#", "#}")
        .build()
        .expect("the delimiters are distinct");
    env.set_syntax(syntax);
    env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
    env.set_fuel(Some(FUEL));
    env
});

/// One expression of a playbook.
#[derive(Debug, Clone)]
pub struct Expr {
    /// The expression (`One`) or the whole text with its `${{ }}` (`Text`).
    pub source: String,
    pub at: Pos,
    pub shape: Shape,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `${{ x }}` alone: the value keeps its type.
    One,
    /// Text with expressions in it: a string.
    Text,
}

/// A value of the file with the expressions in it compiled: what `with:`,
/// `for_each:` and a watch's `with:` become.
#[derive(Debug, Clone)]
pub enum Template {
    /// No expression anywhere inside.
    Literal(Value),
    Expr(Expr),
    List(Vec<Template>),
    Object(Vec<(String, Template)>),
}

/// Why an expression could not be compiled or evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprError {
    pub at: Pos,
    pub message: String,
}

impl Expr {
    /// The expression in `text` at `at`, if it holds one: `${{ x }}` or text
    /// around expressions. `None`: plain text.
    pub fn in_text(text: &str, at: Pos) -> Result<Option<Self>, ExprError> {
        if !text.contains("${{") && !text.contains("${%") && !text.contains("${#") {
            return Ok(None);
        }
        let trimmed = text.trim();
        let one = trimmed
            .strip_prefix("${{")
            .and_then(|t| t.strip_suffix("}}"))
            .filter(|inner| !inner.contains("${{") && !inner.contains("}}"));
        let expr = match one {
            Some(inner) => Self {
                source: inner.trim().to_owned(),
                at,
                shape: Shape::One,
            },
            None => Self {
                source: text.to_owned(),
                at,
                shape: Shape::Text,
            },
        };
        expr.compile_check()?;
        Ok(Some(expr))
    }

    /// A condition (`if:`): `${{ x }}` or the bare expression `x`.
    pub fn condition(text: &str, at: Pos) -> Result<Self, ExprError> {
        match Self::in_text(text, at)? {
            Some(expr) if expr.shape == Shape::One => Ok(expr),
            Some(_) => Err(ExprError {
                at,
                message: "a condition is one expression, `${{ … }}`, not text around one".into(),
            }),
            None => {
                let expr = Self {
                    source: text.trim().to_owned(),
                    at,
                    shape: Shape::One,
                };
                expr.compile_check()?;
                Ok(expr)
            }
        }
    }

    fn compile_check(&self) -> Result<(), ExprError> {
        let compiled = match self.shape {
            Shape::One => ENV.compile_expression(&self.source).map(drop),
            Shape::Text => ENV.template_from_str(&self.source).map(|t| {
                let _ = t;
            }),
        };
        compiled.map_err(|e| self.error(&e))?;
        if self.shape == Shape::Text && (self.source.contains("${%") || self.source.contains("${#"))
        {
            return Err(ExprError {
                at: self.at,
                message: "only `${{ … }}` expressions are allowed: no `${% %}` statements or `${# #}` comments".into(),
            });
        }
        Ok(())
    }

    /// The names the expression reads, as paths (`steps.revoke.params`,
    /// `inputs`): what the checker holds against the scope. The language's
    /// own functions (`range`, `dict`, `namespace`) are not names.
    pub fn names(&self) -> BTreeSet<String> {
        let names = match self.shape {
            Shape::One => ENV
                .compile_expression(&self.source)
                .map(|e| e.undeclared_variables(true)),
            Shape::Text => ENV
                .template_from_str(&self.source)
                .map(|t| t.undeclared_variables(true)),
        };
        names
            .map(|n| {
                n.into_iter()
                    .filter(|path| {
                        let root = path.split('.').next().unwrap_or_default();
                        !ENV.globals().any(|(global, _)| global == root)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The value of the expression in `scope`.
    pub fn eval(&self, scope: &minijinja::Value) -> Result<Value, ExprError> {
        match self.shape {
            Shape::One => {
                let expr = ENV
                    .compile_expression(&self.source)
                    .map_err(|e| self.error(&e))?;
                let value = expr.eval(scope.clone()).map_err(|e| self.error(&e))?;
                if value.is_undefined() {
                    return Err(ExprError {
                        at: self.at,
                        message: format!("`{}` is undefined", self.source),
                    });
                }
                serde_json::to_value(&value).map_err(|e| ExprError {
                    at: self.at,
                    message: format!("`{}`: {e}", self.source),
                })
            }
            Shape::Text => ENV
                .render_str(&self.source, scope.clone())
                .map(Value::String)
                .map_err(|e| self.error(&e)),
        }
    }

    /// Whether the condition holds in `scope`.
    pub fn holds(&self, scope: &minijinja::Value) -> Result<bool, ExprError> {
        let expr = ENV
            .compile_expression(&self.source)
            .map_err(|e| self.error(&e))?;
        expr.eval(scope.clone())
            .map(|v| v.is_true())
            .map_err(|e| self.error(&e))
    }

    fn error(&self, e: &minijinja::Error) -> ExprError {
        let what = match e.kind() {
            ErrorKind::OutOfFuel => {
                format!("ran out of fuel (each expression may take {FUEL} steps): make it simpler")
            }
            ErrorKind::SyntaxError => {
                format!("does not parse: {}", e.detail().unwrap_or("syntax error"))
            }
            ErrorKind::UndefinedError => format!(
                "uses an undefined value{}",
                e.detail().map(|d| format!(" ({d})")).unwrap_or_default()
            ),
            _ => e
                .detail()
                .map_or_else(|| e.kind().to_string(), str::to_owned),
        };
        let source = match self.shape {
            Shape::One => format!("${{{{ {} }}}}", self.source),
            Shape::Text => self.source.clone(),
        };
        ExprError {
            at: self.at,
            message: format!("expression `{source}` {what}"),
        }
    }
}

impl Template {
    /// Compile the expressions of a value of the file; every one that does
    /// not parse is reported.
    pub fn compile(node: &Spanned<Node>, errors: &mut Vec<ExprError>) -> Self {
        let at = Pos::of(node);
        match &node.value {
            Node::String(text) => match Expr::in_text(text, at) {
                Ok(Some(expr)) => Template::Expr(expr),
                Ok(None) => Template::Literal(Value::String(text.clone())),
                Err(e) => {
                    errors.push(e);
                    Template::Literal(Value::Null)
                }
            },
            Node::Seq(items) => {
                let items: Vec<Template> = items.iter().map(|i| Self::compile(i, errors)).collect();
                if items.iter().all(|i| matches!(i, Template::Literal(_))) {
                    Template::Literal(node.value.to_json())
                } else {
                    Template::List(items)
                }
            }
            Node::Map(members) => {
                let members: Vec<(String, Template)> = members
                    .iter()
                    .map(|(k, v)| (k.clone(), Self::compile(v, errors)))
                    .collect();
                if members
                    .iter()
                    .all(|(_, v)| matches!(v, Template::Literal(_)))
                {
                    Template::Literal(node.value.to_json())
                } else {
                    Template::Object(members)
                }
            }
            scalar => Template::Literal(scalar.to_json()),
        }
    }

    /// Every expression inside, in the order written.
    pub fn exprs(&self) -> Vec<&Expr> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out
    }

    fn collect<'a>(&'a self, out: &mut Vec<&'a Expr>) {
        match self {
            Template::Literal(_) => {}
            Template::Expr(e) => out.push(e),
            Template::List(items) => items.iter().for_each(|i| i.collect(out)),
            Template::Object(members) => members.iter().for_each(|(_, v)| v.collect(out)),
        }
    }

    /// The value in `scope`.
    pub fn eval(&self, scope: &minijinja::Value) -> Result<Value, ExprError> {
        match self {
            Template::Literal(v) => Ok(v.clone()),
            Template::Expr(e) => e.eval(scope),
            Template::List(items) => items
                .iter()
                .map(|i| i.eval(scope))
                .collect::<Result<_, _>>()
                .map(Value::Array),
            Template::Object(members) => members
                .iter()
                .map(|(k, v)| v.eval(scope).map(|v| (k.clone(), v)))
                .collect::<Result<_, _>>()
                .map(Value::Object),
        }
    }

    /// The value with each expression replaced by `None`, for checking the
    /// literal parts against a schema: an expression stands for any value.
    /// Object members that are expressions are left out; the paths of the
    /// expressions are returned.
    pub fn literal_skeleton(&self) -> (Value, Vec<String>) {
        let mut paths = Vec::new();
        let value = self.skeleton("", &mut paths);
        (value, paths)
    }

    fn skeleton(&self, path: &str, paths: &mut Vec<String>) -> Value {
        match self {
            Template::Literal(v) => v.clone(),
            Template::Expr(_) => {
                paths.push(path.to_owned());
                Value::Null
            }
            Template::List(items) => Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| item.skeleton(&format!("{path}/{i}"), paths))
                    .collect(),
            ),
            Template::Object(members) => Value::Object(
                members
                    .iter()
                    .filter_map(|(k, v)| {
                        let p = format!("{path}/{}", pointer_escape(k));
                        let value = v.skeleton(&p, paths);
                        (!matches!(v, Template::Expr(_))).then(|| (k.clone(), value))
                    })
                    .collect(),
            ),
        }
    }
}

/// A JSON Pointer reference token (RFC 6901).
pub fn pointer_escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// A scope for evaluation: the names, their values as minijinja values.
pub fn scope<'a>(names: impl IntoIterator<Item = (&'a str, minijinja::Value)>) -> minijinja::Value {
    minijinja::Value::from(
        names
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect::<std::collections::BTreeMap<String, minijinja::Value>>(),
    )
}

/// JSON as a minijinja value, converted once.
pub fn to_value(json: &Value) -> minijinja::Value {
    minijinja::Value::from(minijinja::value::Serde(json))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pos() -> Pos {
        Pos { line: 1, column: 1 }
    }

    fn eval(text: &str, names: serde_json::Value) -> Result<Value, ExprError> {
        let scope = to_value(&names);
        Expr::in_text(text, pos()).unwrap().unwrap().eval(&scope)
    }

    #[test]
    fn one_expression_keeps_its_type_and_text_makes_a_string() {
        let names = json!({"inputs": {"n": 3, "ids": [1, 2]}, "event": null});
        assert_eq!(eval("${{ inputs.n }}", names.clone()).unwrap(), json!(3));
        assert_eq!(
            eval("  ${{ inputs.ids }} ", names.clone()).unwrap(),
            json!([1, 2])
        );
        assert_eq!(
            eval("n=${{ inputs.n }}", names.clone()).unwrap(),
            json!("n=3")
        );
        assert_eq!(
            eval("${{ inputs.missing or inputs.n }}", names.clone()).unwrap(),
            json!(3)
        );
        let e = eval("${{ inputs.missing }}", names).unwrap_err();
        assert!(e.message.contains("undefined"), "{e:?}");
    }

    #[test]
    fn data_is_never_a_template() {
        let names = json!({"event": {"topic": "${{ 7 * 7 }}", "deep": {"x": "{{ 1 + 1 }}"}}});
        assert_eq!(
            eval("${{ event.topic }}", names.clone()).unwrap(),
            json!("${{ 7 * 7 }}")
        );
        assert_eq!(
            eval("topic: ${{ event.topic }}", names.clone()).unwrap(),
            json!("topic: ${{ 7 * 7 }}")
        );
        assert_eq!(
            eval("${{ event.deep }}", names).unwrap(),
            json!({"x": "{{ 1 + 1 }}"})
        );
    }

    #[test]
    fn fuel_bounds_an_evaluation() {
        let e = eval("${{ range(100000) | sum }}", json!({})).unwrap_err();
        assert!(e.message.contains("fuel"), "{e:?}");
    }

    #[test]
    fn names_are_paths() {
        let e = Expr::in_text("${{ steps.a.result.users | length > inputs.n }}", pos())
            .unwrap()
            .unwrap();
        let names: Vec<String> = e.names().into_iter().collect();
        assert_eq!(names, vec!["inputs.n", "steps.a.result.users"]);
    }
}
