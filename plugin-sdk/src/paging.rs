//! Token pagination (`page_size` + `next_page_token`, an empty or missing
//! token meaning the last page), followed until `limit` records are gathered.
//!
//! The answer keeps the last page's shape with the records of all pages. Its
//! next-page token must resume exactly after the last record returned, so
//! when `limit` falls inside a page the records after it would be skipped by
//! that token: then the token is dropped and the answer says `truncated`.
//! To make that rare, the page size is chosen so `limit` falls on a page
//! boundary whenever the caller left the page size to us.

use serde_json::Value;

use crate::ActionError;

/// How to page through one listing.
#[derive(Debug, Clone, Default)]
pub struct Paging {
    /// Gather up to this many records, following pages; `None`: one page.
    pub limit: Option<u64>,
    /// The page size the caller asked for; `None` lets [`collect`] choose.
    pub page_size: Option<u64>,
    /// The upstream's largest page size for this listing.
    pub max_page_size: u64,
    /// Where to start: a token of an earlier answer.
    pub next_page_token: Option<String>,
    /// The array of records in each page (`users`).
    pub items: &'static str,
    /// The token's field in each page (`next_page_token`).
    pub token_field: &'static str,
}

/// The page size to ask for: the caller's; else, with a limit, one that needs
/// no more pages than the maximum would and divides the limit when one does;
/// else the upstream's default (`None`).
pub fn page_size(limit: Option<u64>, asked: Option<u64>, max: u64) -> Option<u64> {
    if asked.is_some() {
        return asked;
    }
    let limit = limit?;
    if limit <= max {
        return Some(limit);
    }
    let pages = limit.div_ceil(max);
    // The largest divisor of `limit` that keeps the same number of round trips.
    let smallest = limit.div_ceil(pages);
    Some(
        (smallest..=max)
            .rev()
            .find(|d| limit.is_multiple_of(*d) && limit.div_ceil(*d) == pages)
            .unwrap_or(max),
    )
}

/// The largest page size at most `max` that divides `limit`: the advice when
/// a listing had to be truncated.
fn dividing_page_size(limit: u64, max: u64) -> u64 {
    (1..=limit.min(max))
        .rev()
        .find(|d| limit.is_multiple_of(*d))
        .unwrap_or(1)
}

/// Follows pages: `fetch(page_size, token)` returns one page as JSON.
pub fn collect(
    paging: &Paging,
    mut fetch: impl FnMut(Option<u64>, Option<&str>) -> Result<Value, ActionError>,
) -> Result<Value, ActionError> {
    let limit = paging.limit;
    if limit == Some(0) {
        return Err(ActionError::invalid_input(
            "param `limit` must be at least 1",
        ));
    }
    let size = page_size(limit, paging.page_size, paging.max_page_size);
    let mut token = paging.next_page_token.clone().filter(|t| !t.is_empty());
    let mut gathered: Vec<Value> = Vec::new();
    let mut pages = 0u32;
    loop {
        let mut page = fetch(size, token.as_deref())?;
        pages += 1;
        match page.get_mut(paging.items).map(Value::take) {
            Some(Value::Array(records)) => gathered.extend(records),
            Some(Value::Null) | None => {}
            Some(_) => {
                return Err(ActionError::upstream(format!(
                    "the answer has `{}` that is not a list",
                    paging.items
                )));
            }
        }
        token = page
            .get(paging.token_field)
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        let enough = limit.is_none_or(|limit| gathered.len() as u64 >= limit);
        if !(enough || token.is_none()) {
            continue;
        }
        let dropped = match limit {
            Some(limit) if gathered.len() as u64 > limit => {
                let dropped = gathered.len() as u64 - limit;
                gathered.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
                dropped
            }
            _ => 0,
        };
        if let Value::Object(map) = &mut page {
            map.insert(paging.items.into(), Value::Array(gathered));
            if limit.is_some() {
                map.insert("pages_fetched".into(), pages.into());
            }
            if let (Some(limit), true) = (limit, dropped > 0) {
                map.remove(paging.token_field);
                map.insert("truncated".into(), true.into());
                map.insert(
                    "note".into(),
                    truncation_note(dropped, limit, paging, size).into(),
                );
            }
        }
        return Ok(page);
    }
}

fn truncation_note(dropped: u64, limit: u64, paging: &Paging, size: Option<u64>) -> String {
    let advice = dividing_page_size(limit, paging.max_page_size);
    format!(
        "{dropped} record(s) of the last page fetched were left out to stop at limit {limit}, \
         so this listing cannot be resumed exactly from here and no {token} is given. \
         Ask with a page_size that divides limit (page_size {advice} instead of {size}) \
         to get a {token} that resumes right after the last record.",
        token = paging.token_field,
        size = size.map_or("the default".to_string(), |s| s.to_string()),
    )
}

#[cfg(test)]
mod tests;
