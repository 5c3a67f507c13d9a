//! Secrets never reach a terminal or a log: every text that leaves the host
//! and may carry plugin-controlled content passes through a [`Redactor`].

use base64::Engine;

pub const MASK: &str = "[REDACTED]";

/// Secrets shorter than this are not masked: replacing every "a" would make
/// output unreadable, and such a secret is not a secret anyway.
const MIN_SECRET_LEN: usize = 4;

#[derive(Debug, Clone, Default)]
pub struct Redactor {
    needles: Vec<String>,
}

impl Redactor {
    pub fn new(secrets: &[String]) -> Self {
        let mut needles = Vec::new();
        for secret in secrets.iter().filter(|s| s.len() >= MIN_SECRET_LEN) {
            needles.push(secret.clone());
            // The forms a secret takes on the wire, should a plugin echo a
            // request: percent-encoded and Base64 (inside Basic auth the
            // secret's position shifts the Base64 alphabet, so the pair with
            // the common `:` prefix covers the usual `id:secret` form too).
            let encoded = percent(secret);
            if encoded != *secret {
                needles.push(encoded);
            }
            let b64 = base64::engine::general_purpose::STANDARD;
            needles.push(b64.encode(secret));
        }
        // Longest first, so a secret inside another is not half-masked.
        needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
        needles.dedup();
        Self { needles }
    }

    pub fn is_empty(&self) -> bool {
        self.needles.is_empty()
    }

    pub fn redact(&self, text: &str) -> String {
        self.masked(text).unwrap_or_else(|| text.to_owned())
    }

    /// `text` with every secret masked, or `None` when it holds none (most
    /// texts: then nothing is copied).
    fn masked(&self, text: &str) -> Option<String> {
        let first = self
            .needles
            .iter()
            .position(|n| text.contains(n.as_str()))?;
        let mut out = text.to_owned();
        for needle in &self.needles[first..] {
            if out.contains(needle.as_str()) {
                out = out.replace(needle.as_str(), MASK);
            }
        }
        Some(out)
    }

    /// Redact every string inside a JSON value.
    pub fn redact_json(&self, value: &mut serde_json::Value) {
        if self.is_empty() {
            return;
        }
        match value {
            serde_json::Value::String(s) => {
                if let Some(masked) = self.masked(s) {
                    *s = masked;
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|v| self.redact_json(v)),
            serde_json::Value::Object(map) => map.values_mut().for_each(|v| self.redact_json(v)),
            _ => {}
        }
    }
}

fn percent(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_plain_encoded_and_base64_forms() {
        let r = Redactor::new(&["s3cr3t/+=value".into(), "ab".into()]);
        let b64 = base64::engine::general_purpose::STANDARD.encode("s3cr3t/+=value");
        let text = format!("a s3cr3t/+=value b s3cr3t%2F%2B%3Dvalue c {b64} ab");
        assert_eq!(r.redact(&text), "a [REDACTED] b [REDACTED] c [REDACTED] ab");
        let mut json = serde_json::json!({"x": ["s3cr3t/+=value"], "y": 1});
        r.redact_json(&mut json);
        assert_eq!(json, serde_json::json!({"x": ["[REDACTED]"], "y": 1}));
    }
}
