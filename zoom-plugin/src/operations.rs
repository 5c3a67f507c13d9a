//! Zoom's operations, from the endpoint summaries of Zoom's own specs
//! (fixtures/zoom-api/endpoints-summary.json for meetings, users, reports
//! and the rest, endpoints-summary-phone-chat.json for Zoom Phone and Team
//! Chat), compiled in as data and parsed only when `call_api` runs, and
//! then only as far as needed: what `call_api` may call.

use serde::Deserialize;

const SUMMARY: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../fixtures/zoom-api/endpoints-summary.json"
));
const PHONE_CHAT_SUMMARY: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../fixtures/zoom-api/endpoints-summary-phone-chat.json"
));

/// The first path segments of the Phone/Chat summary's operations that the
/// other summary has none of: for such a path it is read first.
const PHONE_CHAT_ROOTS: &[&str] = &["phone", "chat", "im", "fax"];

/// One row of the summary, as far as `call_api` reads it.
#[derive(Debug, Deserialize)]
pub struct Operation {
    pub method: String,
    /// Relative to `/v2`, with `{param}` segments.
    pub path: String,
    #[serde(default)]
    params: Vec<Param>,
}

#[derive(Debug, Deserialize)]
struct Param {
    name: String,
    #[serde(rename = "in")]
    location: String,
}

impl Operation {
    /// The query parameters Zoom declares for it.
    pub fn query_params(&self) -> Vec<&str> {
        self.params
            .iter()
            .filter(|p| p.location == "query")
            .map(|p| p.name.as_str())
            .collect()
    }
}

fn parse(summary: &str) -> Vec<Operation> {
    // A unit test parses the files; an unreadable one knows no operation.
    serde_json::from_str(summary).unwrap_or_default()
}

/// The operation `method path` addresses (`path` relative to `/v2`, its
/// segments as sent), from either summary. No path of one summary matches
/// a template of the other (a test checks it), so the first that knows the
/// path answers as both together would; the one a Phone or Team Chat path
/// belongs to is parsed first, the other only when it does not know it.
pub fn lookup(method: &str, path: &str) -> Option<Operation> {
    let root = path.split('/').nth(1).unwrap_or_default();
    let order = match PHONE_CHAT_ROOTS.contains(&root) {
        true => [PHONE_CHAT_SUMMARY, SUMMARY],
        false => [SUMMARY, PHONE_CHAT_SUMMARY],
    };
    order.iter().find_map(|summary| {
        let mut operations = parse(summary);
        let index = position(&operations, method, path)?;
        Some(operations.swap_remove(index))
    })
}

/// Where in `operations` the one `method path` addresses is: the template
/// whose literal segments match, the one with the most literals when
/// several do (`/users/summary` is not `/users/{userId}`), as Zoom routes.
fn position(operations: &[Operation], method: &str, path: &str) -> Option<usize> {
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    operations
        .iter()
        .enumerate()
        .filter(|(_, op)| op.method.eq_ignore_ascii_case(method))
        .filter_map(|(i, op)| literals(&op.path, &segments).map(|n| (n, i)))
        .max_by_key(|(n, _)| *n)
        .map(|(_, i)| i)
}

/// How many literal segments of `template` match, or None when it does not.
fn literals(template: &str, segments: &[&str]) -> Option<usize> {
    let parts: Vec<&str> = template.split('/').skip(1).collect();
    if parts.len() != segments.len() {
        return None;
    }
    let mut count = 0;
    for (part, segment) in parts.iter().zip(segments) {
        if part.starts_with('{') && part.ends_with('}') {
            if segment.is_empty() {
                return None;
            }
        } else if part == segment {
            count += 1;
        } else {
            return None;
        }
    }
    Some(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summaries_parse_and_route_as_zoom_does() {
        assert!(parse(SUMMARY).len() > 200);
        assert!(parse(PHONE_CHAT_SUMMARY).len() > 400);
        let op = lookup("GET", "/users/summary").unwrap();
        assert_eq!(op.path, "/users/summary");
        let op = lookup("get", "/users/jill@example.com/meetings").unwrap();
        assert_eq!(op.path, "/users/{userId}/meetings");
        assert!(op.query_params().contains(&"page_size"));
        assert!(lookup("GET", "/no/such/thing").is_none());
        assert!(lookup("PUT", "/users").is_none());
        assert!(lookup("GET", "/users//meetings").is_none());
        let op = lookup("GET", "/phone/users/me/call_history").unwrap();
        assert_eq!(op.path, "/phone/users/{userId}/call_history");
        assert!(op.query_params().contains(&"directions"));
        // Phone/Chat operations outside the roots read first.
        assert_eq!(lookup("GET", "/contacts").unwrap().path, "/contacts");
        assert_eq!(
            lookup("GET", "/report/chat/sessions").unwrap().path,
            "/report/chat/sessions"
        );
    }

    /// What makes reading one summary before the other exact: no path of
    /// one matches a template of the other, and the roots read first for
    /// Phone and Team Chat hold none of the other summary's paths.
    #[test]
    fn the_summaries_do_not_overlap() {
        let main = parse(SUMMARY);
        let phone_chat = parse(PHONE_CHAT_SUMMARY);
        let sample = |op: &Operation| {
            op.path
                .split('/')
                .map(|s| if s.starts_with('{') { "x1" } else { s })
                .collect::<Vec<_>>()
                .join("/")
        };
        for (ops, others) in [(&main, &phone_chat), (&phone_chat, &main)] {
            for op in ops.iter() {
                let path = sample(op);
                assert!(
                    position(others, &op.method, &path).is_none(),
                    "{} {} is in both summaries",
                    op.method,
                    op.path
                );
            }
        }
        for op in &main {
            let root = op.path.split('/').nth(1).unwrap_or_default();
            assert!(!PHONE_CHAT_ROOTS.contains(&root), "{}", op.path);
        }
    }
}
