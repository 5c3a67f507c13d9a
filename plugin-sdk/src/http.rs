//! Outbound HTTP over the host's `http` import, the plugin's only way out.
//! The host enforces the egress list, the deadline, retries and TLS; this
//! module makes requests pleasant to build and maps the host's refusals onto
//! action errors (denied → `denied`, timeout → `timeout`, connect →
//! `upstream`, invalid → `internal`: a malformed request is the plugin's bug).

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::ActionError;
use crate::bindings::soar::plugin::http as wit;
use crate::encode;

pub use wit::{HttpError, SavedFile};

/// An outbound request, builder style:
/// `Request::get(url).bearer(token).send()?.json::<Value>()?`.
#[derive(Debug, Clone)]
pub struct Request(wit::Request);

impl Request {
    /// A request whose repetition is assumed harmless unless it is a POST or
    /// a PATCH; say otherwise with [`Request::idempotent`].
    pub fn new(method: &str, url: impl Into<String>) -> Self {
        Request(wit::Request {
            method: method.to_owned(),
            url: url.into(),
            headers: Vec::new(),
            body: None,
            idempotent: !matches!(method, "POST" | "PATCH"),
        })
    }

    pub fn get(url: impl Into<String>) -> Self {
        Self::new("GET", url)
    }

    pub fn post(url: impl Into<String>) -> Self {
        Self::new("POST", url)
    }

    pub fn put(url: impl Into<String>) -> Self {
        Self::new("PUT", url)
    }

    pub fn patch(url: impl Into<String>) -> Self {
        Self::new("PATCH", url)
    }

    pub fn delete(url: impl Into<String>) -> Self {
        Self::new("DELETE", url)
    }

    /// Appends `pairs` as a percent-encoded query string; nothing when empty.
    pub fn query<K: AsRef<str>, V: AsRef<str>>(mut self, pairs: &[(K, V)]) -> Self {
        if !pairs.is_empty() {
            self.0
                .url
                .push(if self.0.url.contains('?') { '&' } else { '?' });
            self.0.url.push_str(&encode::query(pairs));
        }
        self
    }

    /// Header names are sent lower-case.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.0
            .headers
            .push((name.to_ascii_lowercase(), value.into()));
        self
    }

    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", format!("Bearer {token}"))
    }

    pub fn basic_auth(self, user: &str, password: &str) -> Self {
        self.header("authorization", encode::basic_auth(user, password))
    }

    /// A JSON body, with its content type.
    pub fn json(self, body: &Value) -> Self {
        self.body(body.to_string().into_bytes(), "application/json")
    }

    pub fn body(mut self, body: Vec<u8>, content_type: &str) -> Self {
        self.0.body = Some(body);
        self.header("content-type", content_type)
    }

    /// Whether repeating it is harmless. The host retries a 429 and a
    /// failure to connect whatever this says; after a 5xx or a lost answer
    /// it repeats GET and HEAD, and a request marked idempotent only while
    /// the running action is declared idempotent.
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.0.idempotent = idempotent;
        self
    }

    pub fn method(&self) -> &str {
        &self.0.method
    }

    pub fn url(&self) -> &str {
        &self.0.url
    }

    /// Sends it; any answer (a 404 too) is `Ok`, only a refusal or a failure
    /// of the transport is an error.
    pub fn send(&self) -> Result<Response, ActionError> {
        self.send_raw().map_err(from_transport)
    }

    /// [`Request::send`] with the host's own error, to map it differently.
    pub fn send_raw(&self) -> Result<Response, HttpError> {
        wit::send(&self.0).map(Response::from)
    }

    /// Streams a 2xx body to `file_name` in the invocation's output
    /// directory; the bytes never pass through the plugin.
    pub fn download(&self, file_name: &str) -> Result<Download, ActionError> {
        match wit::download(&self.0, file_name).map_err(from_transport)? {
            wit::DownloadOutcome::Saved(file) => Ok(Download::Saved(file)),
            wit::DownloadOutcome::Answered(response) => Ok(Download::Answered(response.into())),
        }
    }
}

/// What [`Request::download`] got.
#[derive(Debug, Clone)]
pub enum Download {
    /// A 2xx answer, now a file the host wrote.
    Saved(SavedFile),
    /// Any other answer, its body capped, to read as an error.
    Answered(Response),
}

/// An upstream's answer.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// Names are lower-case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl From<wit::Response> for Response {
    fn from(r: wit::Response) -> Self {
        Response {
            status: r.status,
            headers: r.headers,
            body: r.body,
        }
    }
}

impl Response {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON; an `upstream` error if it is not.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ActionError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            ActionError::upstream(format!(
                "the answer (HTTP {}) is not the JSON expected: {e}",
                self.status
            ))
            .with_status(self.status)
        })
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// `Retry-After` when it is a number of seconds.
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.header("retry-after")?.trim().parse().ok()
    }
}

/// The host could not carry a request out: refused, timed out, unreachable,
/// or malformed (a bug of the plugin).
pub fn from_transport(err: HttpError) -> ActionError {
    match err {
        HttpError::Denied(m) => ActionError::denied(m),
        HttpError::Timeout(m) => ActionError::timeout(m),
        HttpError::Connect(m) => ActionError::upstream(m),
        HttpError::Invalid(m) => ActionError::internal(m),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_is_appended_encoded() {
        let r = Request::get("https://x.example/a").query(&[("q", "a b"), ("n", "1")]);
        assert_eq!(r.url(), "https://x.example/a?q=a%20b&n=1");
        let r = r.query(&[("more", "é")]);
        assert_eq!(r.url(), "https://x.example/a?q=a%20b&n=1&more=%C3%A9");
        let none: &[(&str, &str)] = &[];
        assert_eq!(Request::get("u").query(none).url(), "u");
    }

    #[test]
    fn post_and_patch_are_not_idempotent_by_default() {
        assert!(!Request::post("u").0.idempotent);
        assert!(!Request::patch("u").0.idempotent);
        assert!(Request::delete("u").0.idempotent);
        assert!(Request::patch("u").idempotent(true).0.idempotent);
    }

    #[test]
    fn transport_errors_map_to_action_errors() {
        use crate::ErrorKind;
        let kind = |e| from_transport(e).kind;
        assert!(matches!(
            kind(HttpError::Denied("x".into())),
            ErrorKind::Denied
        ));
        assert!(matches!(
            kind(HttpError::Timeout("x".into())),
            ErrorKind::Timeout
        ));
        assert!(matches!(
            kind(HttpError::Connect("x".into())),
            ErrorKind::Upstream
        ));
        assert!(matches!(
            kind(HttpError::Invalid("x".into())),
            ErrorKind::Internal
        ));
    }
}
