//! What a plugin may say to a webhook's sender — who may be anyone, and
//! whose connection the service keeps open for its next request. The
//! plugin chooses the status, a few harmless headers and a text body; the
//! host frames the answer itself. A reply that breaks these rules is
//! refused whole, never passed on in part:
//!
//! - the status is a final one, 200 to 599 (no 1xx such as 101 Switching
//!   Protocols);
//! - headers are allow-listed ([`ALLOWED_HEADERS`]): never framing
//!   (`content-length`, `transfer-encoding`), hop-by-hop (`connection`,
//!   `upgrade`), cookies, CORS or security headers, which would let a plugin
//!   desynchronise the connection or act in the service's origin; other
//!   headers are dropped and named in the log;
//! - the content type is JSON or plain text: a page (HTML, SVG) answered
//!   in the service's origin would run there;
//! - the body is text (UTF-8 without control characters other than tab and
//!   line breaks), so that the redaction scans what is really sent, within
//!   the resource's `webhook_reply_max_kib`.

/// The headers a plugin's reply may carry (lower-case names).
pub const ALLOWED_HEADERS: &[&str] = &[
    "content-type",
    "content-language",
    "cache-control",
    "retry-after",
];
/// At most this many headers, each value at most this long.
const MAX_HEADERS: usize = 8;
const MAX_HEADER_VALUE: usize = 1024;

/// A reply fit to send: what [`check`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// The reply a plugin asked for, checked; `Err` says why it is refused.
pub fn check(
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    max_body: usize,
) -> Result<Reply, String> {
    if !(200..=599).contains(&status) {
        return Err(format!(
            "status {status} is not a final status (200 to 599)"
        ));
    }
    if body.len() > max_body {
        return Err(format!(
            "its body is {} KiB, over the resource's {} KiB (`webhook_reply_max_kib`)",
            body.len().div_ceil(1024),
            max_body >> 10
        ));
    }
    let body = String::from_utf8(body)
        .map_err(|_| "its body is not UTF-8 text, which the host cannot scan for secrets")?;
    if let Some(c) = body
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(format!(
            "its body holds the control character U+{:04X}",
            c as u32
        ));
    }
    let mut kept: Vec<(String, String)> = Vec::new();
    let mut dropped: Vec<String> = Vec::new();
    for (name, value) in headers {
        let name = name.to_ascii_lowercase();
        if !ALLOWED_HEADERS.contains(&name.as_str()) {
            dropped.push(crate::redact::printable(&name).into_owned());
            continue;
        }
        let visible = value.chars().all(|c| c == '\t' || (' '..='~').contains(&c));
        if !visible || value.len() > MAX_HEADER_VALUE {
            return Err(format!(
                "its `{name}` header is not one line of visible ASCII of at most {MAX_HEADER_VALUE} bytes"
            ));
        }
        if name == "content-type" && !is_data_type(&value) {
            return Err(format!(
                "its content type `{value}` is not application/json or text/plain"
            ));
        }
        if kept.iter().any(|(n, _)| *n == name) {
            return Err(format!("it sets `{name}` twice"));
        }
        kept.push((name, value));
    }
    if kept.len() > MAX_HEADERS {
        return Err(format!("it sets more than {MAX_HEADERS} headers"));
    }
    if !dropped.is_empty() {
        tracing::warn!(
            "a plugin's webhook reply set headers a plugin may not set, dropped: {} (allowed: {})",
            dropped.join(", "),
            ALLOWED_HEADERS.join(", ")
        );
    }
    Ok(Reply {
        status,
        headers: kept,
        body,
    })
}

/// `application/json` or `text/plain`, with parameters or none.
fn is_data_type(value: &str) -> bool {
    let essence = value.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json") || essence.eq_ignore_ascii_case("text/plain")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MAX: usize = 64 << 10;

    fn headers(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_challenge_answer_passes() {
        let reply = check(
            200,
            headers(&[("Content-Type", "application/json")]),
            br#"{"plainToken":"x","encryptedToken":"y"}"#.to_vec(),
            MAX,
        )
        .unwrap();
        assert_eq!(reply.status, 200);
        assert_eq!(
            reply.headers,
            headers(&[("content-type", "application/json")])
        );
    }

    #[test]
    fn framing_hop_by_hop_cookies_cors_and_security_headers_are_dropped() {
        let reply = check(
            200,
            headers(&[
                ("content-length", "5"),
                ("Transfer-Encoding", "chunked"),
                ("connection", "close"),
                ("keep-alive", "timeout=5"),
                ("upgrade", "h2c"),
                ("set-cookie", "session=evil; Path=/"),
                ("access-control-allow-origin", "*"),
                ("content-security-policy", "default-src *"),
                ("strict-transport-security", "max-age=0"),
                ("x-frame-options", "ALLOW"),
                ("location", "https://evil.example/"),
                ("content-encoding", "gzip"),
                ("content-type", "text/plain"),
            ]),
            b"hello".to_vec(),
            MAX,
        )
        .unwrap();
        assert_eq!(reply.headers, headers(&[("content-type", "text/plain")]));
    }

    #[test]
    fn what_cannot_be_sent_as_asked_is_refused() {
        for (status, hs, body, says) in [
            (101, vec![], b"".to_vec(), "status 101"),
            (199, vec![], b"".to_vec(), "status 199"),
            (600, vec![], b"".to_vec(), "status 600"),
            (0, vec![], b"".to_vec(), "status 0"),
            (200, vec![], vec![0xff, 0xfe, b'a'], "not UTF-8"),
            (200, vec![], b"s\0e\0c\0r\0e\0t\0".to_vec(), "U+0000"),
            (200, vec![], b"\x1b[2J".to_vec(), "U+001B"),
            (200, vec![], vec![b'x'; MAX + 1], "webhook_reply_max_kib"),
            (
                200,
                headers(&[("content-type", "text/plain\r\nset-cookie: x=1")]),
                vec![],
                "visible ASCII",
            ),
            (
                200,
                headers(&[("content-type", "é")]),
                vec![],
                "visible ASCII",
            ),
            (
                200,
                headers(&[
                    ("content-type", "text/plain"),
                    ("Content-Type", "text/plain"),
                ]),
                vec![],
                "twice",
            ),
            (
                200,
                headers(&[("content-type", "text/html")]),
                vec![],
                "text/html",
            ),
            (
                200,
                headers(&[("content-type", "image/svg+xml")]),
                vec![],
                "svg",
            ),
            (
                200,
                headers(&[("content-type", "application/jsonx")]),
                vec![],
                "jsonx",
            ),
        ] {
            let err = check(status, hs, body, MAX).unwrap_err();
            assert!(err.contains(says), "{status}: {err}");
        }
    }

    proptest! {
        /// Whatever a plugin asks for: what passes has a final status, only
        /// allowed headers, each one line of visible ASCII, and a text body
        /// within the bound.
        #[test]
        fn whatever_passes_is_safe_to_frame(
            status in any::<u16>(),
            hs in proptest::collection::vec(("[A-Za-z-]{1,24}|content-type|Cache-Control|set-cookie|content-length", "\\PC{0,40}|[\\x00-\\x7f]{0,40}|(text/plain|application/json|text/html)(; charset=[a-z0-9-]{0,8})?"), 0..12),
            body in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            if let Ok(reply) = check(status, hs, body.clone(), 48) {
                prop_assert!((200..=599).contains(&reply.status));
                prop_assert!(reply.headers.len() <= MAX_HEADERS);
                for (name, value) in &reply.headers {
                    prop_assert!(ALLOWED_HEADERS.contains(&name.as_str()), "{name}");
                    prop_assert!(!value.contains(['\r', '\n', '\0']));
                    prop_assert!(value.chars().all(|c| c == '\t' || (' '..='~').contains(&c)));
                    if name == "content-type" {
                        prop_assert!(is_data_type(value), "{value}");
                    }
                }
                prop_assert!(reply.body.len() <= 48);
                prop_assert_eq!(reply.body.as_bytes(), &body[..]);
                prop_assert!(!reply.body.chars().any(|c| c.is_control() && !"\t\n\r".contains(c)));
            }
        }
    }
}
