//! Zoom's token pagination: `page_size` + `next_page_token`, where an empty
//! token means the last page. With `limit`, pages are followed until `limit`
//! records are gathered; the answer keeps Zoom's shape.

use serde_json::Value;

use crate::client::Client;
use crate::errors::{error, invalid_input};
use crate::params::Params;
use crate::soar::plugin::types::{ActionError, ErrorKind};

/// Zoom's own maximum for most lists.
const MAX_PAGE_SIZE: u64 = 300;

/// List `path`, whose records sit in the array `items` of each page.
pub fn list(
    client: &mut Client,
    path: &str,
    items: &str,
    mut query: Vec<(String, String)>,
    params: &Params,
) -> Result<Value, ActionError> {
    let limit = params.opt_u64("limit")?;
    if limit == Some(0) {
        return Err(invalid_input("param `limit` must be at least 1"));
    }
    let page_size = match (params.opt_u64("page_size")?, limit) {
        (Some(size), _) => Some(size),
        // Fewer round trips: ask for what is wanted, within Zoom's maximum.
        (None, Some(limit)) => Some(limit.min(MAX_PAGE_SIZE)),
        (None, None) => None,
    };
    if let Some(size) = page_size {
        query.push(("page_size".into(), size.to_string()));
    }
    let mut token = params.opt_string("next_page_token")?;
    let mut gathered: Vec<Value> = Vec::new();
    let mut pages = 0u32;
    loop {
        let mut page_query = query.clone();
        if let Some(t) = &token {
            page_query.push(("next_page_token".into(), t.clone()));
        }
        let mut page = client.call("GET", path, &page_query, None)?;
        pages += 1;
        let records = match page.get_mut(items).map(Value::take) {
            Some(Value::Array(records)) => records,
            Some(Value::Null) | None => Vec::new(),
            Some(_) => {
                return Err(error(
                    ErrorKind::Upstream,
                    format!("Zoom's answer has `{items}` that is not a list"),
                ));
            }
        };
        gathered.extend(records);
        token = page
            .get("next_page_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        let enough = match limit {
            Some(limit) => gathered.len() as u64 >= limit,
            None => true,
        };
        if enough || token.is_none() {
            if let Some(limit) = limit {
                gathered.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
            }
            if let Value::Object(map) = &mut page {
                map.insert(items.into(), Value::Array(gathered));
                if limit.is_some() {
                    map.insert("pages_fetched".into(), pages.into());
                }
            }
            return Ok(page);
        }
    }
}
