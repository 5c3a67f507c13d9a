use serde_json::json;

use super::*;

/// A listing of `total` records numbered from 0, served `page_size` (default
/// 30) at a time, the token being the index of the next record.
fn serve(
    total: u64,
    max: u64,
) -> impl FnMut(Option<u64>, Option<&str>) -> Result<Value, ActionError> {
    move |size, token| {
        let size = size.unwrap_or(30).min(max);
        let start: u64 = token.map_or(0, |t| t.parse().unwrap());
        let end = (start + size).min(total);
        let next = if end < total {
            end.to_string()
        } else {
            String::new()
        };
        Ok(
            json!({"records": (start..end).collect::<Vec<_>>(), "next_page_token": next, "page_size": size}),
        )
    }
}

fn paging(limit: Option<u64>, page_size: Option<u64>) -> Paging {
    Paging {
        limit,
        page_size,
        max_page_size: 300,
        next_page_token: None,
        items: "records",
        token_field: "next_page_token",
    }
}

#[test]
fn page_size_puts_limit_on_a_page_boundary() {
    assert_eq!(page_size(None, None, 300), None);
    assert_eq!(page_size(Some(10), None, 300), Some(10));
    assert_eq!(page_size(Some(600), None, 300), Some(300));
    assert_eq!(page_size(Some(1000), None, 300), Some(250));
    // 701 is prime: no divisor keeps three round trips.
    assert_eq!(page_size(Some(701), None, 300), Some(300));
    assert_eq!(page_size(Some(10), Some(7), 300), Some(7));
}

#[test]
fn without_limit_one_page_is_returned_as_is() {
    let page = collect(&paging(None, None), serve(100, 300)).unwrap();
    assert_eq!(page["records"].as_array().unwrap().len(), 30);
    assert_eq!(page["next_page_token"], "30");
    assert!(page.get("pages_fetched").is_none());
}

#[test]
fn a_limit_on_a_boundary_keeps_an_exact_token() {
    let page = collect(&paging(Some(1000), None), serve(5000, 300)).unwrap();
    let records = page["records"].as_array().unwrap();
    assert_eq!(records.len(), 1000);
    assert_eq!(
        page["next_page_token"], "1000",
        "resumes right after record 999"
    );
    assert_eq!(page["pages_fetched"], 4);
    assert!(page.get("truncated").is_none());
}

#[test]
fn a_limit_inside_a_page_drops_the_token_and_says_so() {
    let page = collect(&paging(Some(45), Some(30)), serve(100, 300)).unwrap();
    assert_eq!(page["records"].as_array().unwrap().len(), 45);
    assert!(page.get("next_page_token").is_none());
    assert_eq!(page["truncated"], true);
    let note = page["note"].as_str().unwrap();
    assert!(note.contains("cannot be resumed exactly"), "{note}");
    assert!(note.contains("page_size 45"), "{note}");
}

#[test]
fn a_short_listing_ends_without_truncation() {
    let page = collect(&paging(Some(500), None), serve(120, 300)).unwrap();
    assert_eq!(page["records"].as_array().unwrap().len(), 120);
    assert_eq!(page["next_page_token"], "");
    assert!(page.get("truncated").is_none());
}

#[test]
fn an_upstream_that_ignores_page_size_is_still_truncated_honestly() {
    // Asked for 250 a page, served 100: the limit no longer falls on a boundary.
    let page = collect(&paging(Some(1000), None), serve(5000, 100)).unwrap();
    assert_eq!(page["records"].as_array().unwrap().len(), 1000);
    assert_eq!(page["next_page_token"], "1000");
    let page = collect(&paging(Some(250), None), serve(5000, 100)).unwrap();
    assert_eq!(page["truncated"], true);
}

#[test]
fn limit_zero_is_invalid_input() {
    let err = collect(&paging(Some(0), None), serve(1, 300)).unwrap_err();
    assert!(matches!(err.kind, crate::ErrorKind::InvalidInput));
}
