//! The console's scripts and styles, embedded in the binary and served
//! under names that carry their content's hash (`console.3f2a9c1e.css`): a
//! name never changes meaning, so browsers may keep it for a year, and a new
//! build's pages name the new files.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

struct Asset {
    /// What templates ask for (`console.css`).
    name: &'static str,
    /// What is served (`console.3f2a9c1e.css`).
    hashed: String,
    content_type: &'static str,
    bytes: &'static [u8],
}

macro_rules! embedded {
    ($($name:literal => $path:literal, $type:literal;)*) => {
        [$(($name, $type, include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/console/assets/", $path)) as &[u8]),)*]
    };
}

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    embedded! {
        "htmx.js" => "vendor/htmx-2.0.11.min.js", "text/javascript; charset=utf-8";
        "htmx-sse.js" => "vendor/htmx-ext-sse-2.2.4.js", "text/javascript; charset=utf-8";
        "console.js" => "console.js", "text/javascript; charset=utf-8";
        "console.css" => "console.css", "text/css; charset=utf-8";
    }
    .into_iter()
    .map(|(name, content_type, bytes)| {
        let hash = soar_host::hex(&Sha256::digest(bytes)[..6]);
        let hashed = match name.rsplit_once('.') {
            Some((stem, ext)) => format!("{stem}.{hash}.{ext}"),
            None => format!("{name}.{hash}"),
        };
        Asset {
            name,
            hashed,
            content_type,
            bytes,
        }
    })
    .collect()
});

/// The URL of the asset `name`, for templates (safe: a path of ours).
pub fn url(name: &str) -> Result<minijinja::Value, minijinja::Error> {
    ASSETS
        .iter()
        .find(|a| a.name == name)
        .map(|a| minijinja::Value::from_safe_string(format!("/assets/{}", a.hashed)))
        .ok_or_else(|| {
            minijinja::Error::new(
                minijinja::ErrorKind::InvalidOperation,
                format!("no asset named {name}"),
            )
        })
}

pub async fn serve(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.hashed == file) {
        Some(asset) => (
            [
                (header::CONTENT_TYPE, asset.content_type),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            asset.bytes,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such asset").into_response(),
    }
}
