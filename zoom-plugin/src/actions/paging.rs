//! Zoom's token pagination through the SDK's pager: `page_size` +
//! `next_page_token`, an empty token meaning the last page.

use serde_json::Value;
use soar_plugin_sdk::ActionError;
use soar_plugin_sdk::paging::{Paging, collect};

use crate::client::Client;
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
