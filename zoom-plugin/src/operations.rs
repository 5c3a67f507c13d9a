//! Zoom's operations, from the endpoint summary of Zoom's own specs
//! (fixtures/zoom-api/endpoints-summary.json, compiled in as data and parsed
//! only when `call_api` runs): what `call_api` may call.

use serde::Deserialize;

const SUMMARY: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../fixtures/zoom-api/endpoints-summary.json"
));

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

pub fn all() -> Vec<Operation> {
    // A unit test parses the file; an unreadable one knows no operation.
    serde_json::from_str(SUMMARY).unwrap_or_default()
}

/// The operation `method path` addresses (`path` relative to `/v2`, its
/// segments as sent): the template whose literal segments match, the one
/// with the most literals when several do (`/users/summary` is not
/// `/users/{userId}`), as Zoom routes.
pub fn find<'a>(operations: &'a [Operation], method: &str, path: &str) -> Option<&'a Operation> {
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    operations
        .iter()
        .filter(|op| op.method.eq_ignore_ascii_case(method))
        .filter_map(|op| literals(&op.path, &segments).map(|n| (n, op)))
        .max_by_key(|(n, _)| *n)
        .map(|(_, op)| op)
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
    fn the_summary_parses_and_routes_as_zoom_does() {
        let ops = all();
        assert!(ops.len() > 200, "{}", ops.len());
        let op = find(&ops, "GET", "/users/summary").unwrap();
        assert_eq!(op.path, "/users/summary");
        let op = find(&ops, "get", "/users/jill@example.com/meetings").unwrap();
        assert_eq!(op.path, "/users/{userId}/meetings");
        assert!(op.query_params().contains(&"page_size"));
        assert!(find(&ops, "GET", "/no/such/thing").is_none());
        assert!(find(&ops, "PUT", "/users").is_none());
        assert!(find(&ops, "GET", "/users//meetings").is_none());
    }
}
