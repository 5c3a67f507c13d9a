//! Zoom's token pagination through the SDK's pager: `page_size` +
//! `next_page_token`, an empty token meaning the last page.

use serde_json::Value;
use soar_plugin_sdk::ActionError;
use soar_plugin_sdk::paging::{Paging, collect, page_size};

use crate::client::Client;
use crate::errors::invalid_input;
use crate::params::Params;

/// Zoom's maximum for most lists.
pub const MAX_PAGE_SIZE: u64 = 300;
/// `GET /users` allows more (Zoom's 2025 User spec).
pub const MAX_USERS_PAGE_SIZE: u64 = 2000;
/// Team Chat: a user's messages (default 10) and channels (default 10).
pub const CHAT_DEFAULT_PAGE_SIZE: u64 = 10;
pub const MAX_CHAT_MESSAGES_PAGE_SIZE: u64 = 50;
pub const MAX_CHANNELS_PAGE_SIZE: u64 = 1000;

/// List `path`, whose records sit in the array `items` of each page.
pub fn list(
    client: &mut Client,
    path: &str,
    items: &'static str,
    query: Vec<(String, String)>,
    params: &Params,
    max_page_size: u64,
) -> Result<Value, ActionError> {
    let paging = Paging {
        limit: params.opt_u64("limit")?,
        page_size: params.opt_u64("page_size")?,
        max_page_size,
        next_page_token: params.opt_string("next_page_token")?,
        items,
        token_field: "next_page_token",
    };
    collect(&paging, |page_size, token| {
        let mut page_query = query.clone();
        if let Some(size) = page_size {
            page_query.push(("page_size".into(), size.to_string()));
        }
        if let Some(token) = token {
            page_query.push(("next_page_token".into(), token.to_owned()));
        }
        client.call("GET", path, &page_query, None)
    })
}

/// List `path` by Zoom's older `page_number` paging, for the operations that
/// declare no `next_page_token` (`GET /users/{userId}/webinars`): from the
/// `page_number` asked (else the first), following pages until `limit`
/// records are gathered or `page_count` is reached. The answer is the last
/// page's, with the records of all pages; its `page_number` says where to
/// go on from. Zoom's `next_page_token`, which such an operation does not
/// take back, is left out.
pub fn list_numbered(
    client: &mut Client,
    path: &str,
    items: &'static str,
    query: Vec<(String, String)>,
    params: &Params,
    max_page_size: u64,
) -> Result<Value, ActionError> {
    let limit = params.opt_u64("limit")?;
    if limit == Some(0) {
        return Err(invalid_input("param `limit` must be at least 1"));
    }
    let size = page_size(limit, params.opt_u64("page_size")?, max_page_size);
    let asked = params.opt_u64("page_number")?;
    if asked == Some(0) {
        return Err(invalid_input("param `page_number` must be at least 1"));
    }
    let mut number = asked.unwrap_or(1);
    let mut gathered: Vec<Value> = Vec::new();
    let mut pages = 0u32;
    loop {
        let mut page_query = query.clone();
        if let Some(size) = size {
            page_query.push(("page_size".into(), size.to_string()));
        }
        if asked.is_some() || number > 1 {
            page_query.push(("page_number".into(), number.to_string()));
        }
        let mut page = client.call("GET", path, &page_query, None)?;
        pages += 1;
        let before = gathered.len();
        match page.get_mut(items).map(Value::take) {
            Some(Value::Array(records)) => gathered.extend(records),
            Some(Value::Null) | None => {}
            Some(_) => {
                return Err(ActionError::upstream(format!(
                    "the answer has `{items}` that is not a list"
                )));
            }
        }
        let page_count = page.get("page_count").and_then(Value::as_u64).unwrap_or(0);
        let last = number >= page_count || gathered.len() == before;
        let enough = limit.is_none_or(|limit| gathered.len() as u64 >= limit);
        if !(enough || last) {
            number += 1;
            continue;
        }
        let mut note = None;
        if let Some(limit) = limit
            && gathered.len() as u64 > limit
        {
            let dropped = gathered.len() as u64 - limit;
            gathered.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
            note = Some(format!(
                "{dropped} record(s) of page {number} were left out to stop at limit {limit}; \
                 ask with a page_size that divides limit to page without gaps"
            ));
        }
        if let Value::Object(map) = &mut page {
            map.remove("next_page_token");
            map.insert(items.into(), Value::Array(gathered));
            if limit.is_some() {
                map.insert("pages_fetched".into(), pages.into());
            }
            if let Some(note) = note {
                map.insert("truncated".into(), true.into());
                map.insert("note".into(), note.into());
            }
        }
        return Ok(page);
    }
}
