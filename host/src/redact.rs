//! Secrets never leave the host. Every secret a resource resolves is
//! registered here for the life of the process, and everything that leaves
//! the host passes one redaction at the edge: the library's answers (results,
//! errors, test reports — see [`Redact`], applied where [`crate::Host`]'s
//! calls return) and every log line ([`Writer`], the log's output). So a
//! secret is masked wherever host-built text, a plugin's log, error, result
//! key or value carries it, in its plain, percent-encoded and Base64 forms,
//! without a list of call sites to remember.

use std::io::Write;
use std::sync::RwLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use base64::Engine;
use serde_json::Value;

pub const MASK: &str = "[REDACTED]";

/// Longer secrets are masked too; this bounds how much of a text cut short
/// is dropped before the cut (see `captured_output`).
pub const MAX_FORM_LEN: usize = 4096;

/// Secrets shorter than this are not masked: replacing every "a" would make
/// output unreadable, and such a secret is not a secret anyway.
const MIN_SECRET_LEN: usize = 4;

#[derive(Debug, Clone, Default)]
pub struct Redactor {
    secrets: Vec<String>,
    /// Every form of every secret, found in one pass (leftmost-longest, so a
    /// secret inside another is not half-masked); `None` while there are none.
    needles: Option<AhoCorasick>,
}

impl Redactor {
    pub fn new(secrets: &[String]) -> Self {
        let mut redactor = Self::default();
        redactor.add(secrets);
        redactor
    }

    /// Add secrets; whether any was new.
    fn add(&mut self, secrets: &[String]) -> bool {
        let mut added = false;
        for secret in secrets.iter().filter(|s| s.len() >= MIN_SECRET_LEN) {
            if !self.secrets.contains(secret) {
                added = true;
                self.secrets.push(secret.clone());
            }
        }
        if added {
            let mut forms: Vec<String> = self.secrets.iter().flat_map(|s| forms(s)).collect();
            forms.sort();
            forms.dedup();
            // A contiguous NFA: built in a fraction of a DFA's time (a
            // CLI run builds it once or twice and scans a few KiB), and
            // still one pass over the text.
            self.needles = AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .kind(Some(AhoCorasickKind::ContiguousNFA))
                .build(&forms)
                .ok();
        }
        added
    }

    pub fn is_empty(&self) -> bool {
        self.needles.is_none()
    }

    pub fn redact(&self, text: &str) -> String {
        self.masked(text).unwrap_or_else(|| text.to_owned())
    }

    /// `text` with every secret masked, or `None` when it holds none (most
    /// texts: then nothing is copied).
    fn masked(&self, text: &str) -> Option<String> {
        let needles = self.needles.as_ref()?;
        needles.find(text)?;
        let mut out = String::with_capacity(text.len());
        needles.replace_all_with(text, &mut out, |_, _, out| {
            out.push_str(MASK);
            true
        });
        Some(out)
    }

    /// Redact every string inside a JSON value, object keys included: keys
    /// are as much plugin output as values.
    pub fn redact_json(&self, value: &mut Value) {
        if self.is_empty() {
            return;
        }
        match value {
            Value::String(s) => {
                if let Some(masked) = self.masked(s) {
                    *s = masked;
                }
            }
            // A numeric secret (a PIN) returned as a number.
            Value::Number(n) => {
                if let Some(masked) = self.masked(&n.to_string()) {
                    *value = Value::String(masked);
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.redact_json(v)),
            Value::Object(map) => {
                if map.keys().any(|k| self.masked(k).is_some()) {
                    let entries = std::mem::take(map);
                    for (key, mut v) in entries {
                        self.redact_json(&mut v);
                        // Two keys that mask alike stay apart.
                        let mut key = self.redact(&key);
                        while map.contains_key(&key) {
                            key.push('*');
                        }
                        map.insert(key, v);
                    }
                } else {
                    map.values_mut().for_each(|v| self.redact_json(v));
                }
            }
            _ => {}
        }
    }
}

/// The forms a secret takes on the wire, should a plugin echo a request:
/// plain; percent-encoded (`+` or `%20` for spaces, upper- or lower-case
/// hex, every byte escaped or only the reserved ones); hex; Base64 in its
/// standard and URL-safe alphabets, padded or not. Inside a longer Base64
/// text (Basic auth's `id:secret`) the secret's offset shifts its encoding,
/// so for each of the three alignments the characters that encode the
/// secret's bytes alone are a form too.
fn forms(secret: &str) -> Vec<String> {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE};
    let mut forms = vec![secret.to_owned()];
    let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let every_byte: String = secret.bytes().map(|b| format!("%{b:02X}")).collect();
    let hex = crate::hex(secret.as_bytes());
    for percent in [form.replace('+', "%20"), form, every_byte] {
        forms.push(lower_escapes(&percent));
        forms.push(percent);
    }
    forms.push(hex.to_ascii_uppercase());
    forms.push(hex);
    for b64 in [STANDARD, URL_SAFE] {
        let whole = b64.encode(secret);
        forms.push(whole.trim_end_matches('=').to_owned());
        forms.push(whole);
        for offset in 1..=2usize {
            let encoded = b64.encode(format!("{}{secret}", ":".repeat(offset)));
            // Whole 3-byte groups after the prefix: 4 characters each.
            let end = 4 * ((offset + secret.len()) / 3);
            if end > 4 {
                forms.push(encoded[4..end].to_owned());
            }
        }
    }
    forms.retain(|f| f.len() >= MIN_SECRET_LEN);
    forms
}

/// `%2F` as `%2f`.
fn lower_escapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut after_percent = 0;
    for c in text.chars() {
        if c == '%' {
            after_percent = 2;
            out.push(c);
        } else if after_percent > 0 {
            after_percent -= 1;
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Every secret this process has resolved.
static SECRETS: RwLock<Redactor> = RwLock::new(Redactor {
    secrets: Vec::new(),
    needles: None,
});

/// Mask these secrets in all output from now on.
pub fn register(secrets: &[String]) {
    let known = SECRETS
        .read()
        .map(|r| {
            secrets
                .iter()
                .all(|s| s.len() < MIN_SECRET_LEN || r.secrets.contains(s))
        })
        .unwrap_or(false);
    if !known && let Ok(mut r) = SECRETS.write() {
        r.add(secrets);
    }
}

/// Text with every registered secret masked.
pub fn scrub(text: &str) -> String {
    match SECRETS.read() {
        Ok(r) => r.redact(text),
        Err(_) => MASK.to_owned(),
    }
}

/// A plugin's text cut to at most `max` bytes (and `…`), masked first: a
/// cut through a secret would leave a part that no longer matches. For
/// what a plugin says that others read whole (an error's message, a
/// webhook rejection's reason).
pub fn clipped(text: &str, max: usize) -> String {
    let mut text = scrub(text);
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

/// Output of the host's library, masked before it is returned.
pub trait Redact {
    fn redact(self) -> Self;
}

impl Redact for String {
    fn redact(self) -> Self {
        match SECRETS.read() {
            Ok(r) => r.masked(&self).unwrap_or(self),
            Err(_) => MASK.to_owned(),
        }
    }
}

impl Redact for Value {
    fn redact(mut self) -> Self {
        match SECRETS.read() {
            Ok(r) => r.redact_json(&mut self),
            Err(_) => self = Value::String(MASK.to_owned()),
        }
        self
    }
}

impl<T: Redact> Redact for Vec<T> {
    fn redact(self) -> Self {
        self.into_iter().map(Redact::redact).collect()
    }
}

impl<T: Redact, E: Redact> Redact for Result<T, E> {
    fn redact(self) -> Self {
        self.map(Redact::redact).map_err(Redact::redact)
    }
}

/// Text safe for a terminal: control characters (escape sequences, bells,
/// carriage returns) from a plugin are shown escaped, never acted on.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(
        text.chars()
            .map(|c| {
                if c.is_control() && c != '\n' && c != '\t' {
                    c.escape_unicode().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// A log output (stderr, or any writer) that masks registered secrets and
/// escapes control characters in each line before writing it.
pub struct Writer<W: Write> {
    inner: W,
    line: Vec<u8>,
}

impl<W: Write> Writer<W> {
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            line: Vec::new(),
        }
    }
}

impl<W: Write> Write for Writer<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.line.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.line.is_empty() {
            return self.inner.flush();
        }
        let text = String::from_utf8_lossy(&self.line);
        let (body, newline) = match text.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (&*text, ""),
        };
        let masked = scrub(body);
        let out = format!("{}{newline}", printable(&masked));
        self.line.clear();
        self.inner.write_all(out.as_bytes())?;
        self.inner.flush()
    }
}

impl<W: Write> Drop for Writer<W> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
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
        for id in ["i", "id", "client-id"] {
            let basic =
                base64::engine::general_purpose::STANDARD.encode(format!("{id}:s3cr3t/+=value"));
            assert!(r.redact(&basic).contains(MASK), "{id}: {basic}");
        }
        let mut json = serde_json::json!({"x": ["s3cr3t/+=value"], "y": 1});
        r.redact_json(&mut json);
        assert_eq!(json, serde_json::json!({"x": ["[REDACTED]"], "y": 1}));
    }

    #[test]
    fn other_encodings_are_masked() {
        use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE};
        let secret = "s3cr3t/+=value?";
        let r = Redactor::new(&[secret.into(), "98765432".into()]);
        let hex = crate::hex(secret.as_bytes());
        for form in [
            "s3cr3t%2f%2b%3dvalue%3f".to_owned(),
            secret.bytes().map(|b| format!("%{b:02X}")).collect(),
            hex.clone(),
            hex.to_ascii_uppercase(),
            URL_SAFE.encode(secret),
            STANDARD_NO_PAD.encode(secret),
        ] {
            assert_eq!(r.redact(&format!("<{form}>")), "<[REDACTED]>", "{form}");
        }
        let mut json = serde_json::json!({"pin": 98765432, "n": 7});
        r.redact_json(&mut json);
        assert_eq!(json, serde_json::json!({"pin": "[REDACTED]", "n": 7}));
    }

    #[test]
    fn keys_are_masked_too() {
        let r = Redactor::new(&["hunter22".into()]);
        let mut json = serde_json::json!({"hunter22": {"a hunter22": 1}, "[REDACTED]": 2});
        r.redact_json(&mut json);
        let text = json.to_string();
        assert!(!text.contains("hunter22"), "{text}");
        assert_eq!(json.as_object().unwrap().len(), 2, "{text}");
    }

    #[test]
    fn clipped_text_is_masked_before_the_cut() {
        register(&["clip-secret-123".into()]);
        let text = format!("{}clip-secret-123 and more", "x".repeat(10));
        let clipped = clipped(&text, 16);
        assert!(!clipped.contains("clip-sec"), "{clipped}");
        assert!(clipped.ends_with('…') && clipped.len() <= 16 + '…'.len_utf8());
        assert_eq!(super::clipped("é".repeat(3).as_str(), 3), "é…");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(printable("a\u{1b}[2Jb\n"), "a\\u{1b}[2Jb\n");
        assert_eq!(printable("plain"), "plain");
    }
}
