//! `http.download`: a response body streamed straight to a file, never
//! through the plugin's memory. Redirects are followed hop by hop, each
//! checked against the egress policy before connecting (credentials are not
//! carried to another origin: scheme, host and port); a connection dropped
//! mid-body resumes with `Range` + `If-Range` (the first answer's ETag or
//! Last-Modified) where the server answers 206 for the same file, else
//! starts over; the resource's size cap applies; the body is written under a
//! hidden partial name and linked to its final name only when complete,
//! never over an existing file; the partial file is removed on any failure,
//! including the call being cancelled.

use std::io::Write;
use std::path::PathBuf;

use sha2::{Digest, Sha256};

use super::{HttpGrant, RESERVED_HEADERS, method_of, transport_error};
use crate::bindings::{DownloadOutcome, HttpError, HttpRequest, HttpResponse, SavedFile};

/// Redirects followed before giving up.
const MAX_REDIRECTS: u32 = 10;
/// Times a dropped body is resumed (or restarted).
const MAX_RESUMES: u32 = 5;
/// Of an answer that is not a success, what the plugin gets to read.
const MAX_ERROR_BODY: usize = 1 << 20;
/// Headers that stay with the host that was asked: a redirect to another
/// host (Zoom's storage) does not get the API's token.
const CREDENTIAL_HEADERS: &[&str] = &["authorization", "cookie", "proxy-authorization"];
/// Headers the host sets for a download itself.
const DOWNLOAD_HEADERS: &[&str] = &["range", "if-range"];

pub async fn run(
    grant: &mut HttpGrant,
    request: HttpRequest,
    file_name: &str,
) -> Result<DownloadOutcome, HttpError> {
    let Some(downloads) = grant.downloads.clone() else {
        return Err(HttpError::Denied(
            "this call has no output directory for downloads".into(),
        ));
    };
    check_name(file_name)?;
    let (url, host) = grant.check(&request)?;
    let (method, _) = method_of(&request)?;
    if method != reqwest::Method::GET {
        return Err(HttpError::Invalid("a download is a GET request".into()));
    }
    let what = format!("GET {host}{} (download)", url.path());
    grant.waiting_on = Some(what);
    let outcome = Transfer {
        grant: &mut *grant,
        headers: request
            .headers
            .iter()
            .filter(|(n, _)| {
                let n = n.to_ascii_lowercase();
                !RESERVED_HEADERS.contains(&n.as_str()) && !DOWNLOAD_HEADERS.contains(&n.as_str())
            })
            .cloned()
            .collect(),
        url,
        dir: downloads.dir.clone(),
        max_bytes: downloads.max_bytes,
        progress: downloads.progress.clone(),
    }
    .run(file_name)
    .await;
    grant.waiting_on = None;
    if let Ok(DownloadOutcome::Saved(saved)) = &outcome {
        grant.saved.push(downloads.dir.join(&saved.name));
    }
    outcome
}

/// A file name the plugin may choose: one plain, visible name (no control
/// or invisible formatting characters, such as a right-to-left override
/// that would make `exe.mp4` display as `4pm.exe`).
fn check_name(name: &str) -> Result<(), HttpError> {
    let invisible = |c: char| {
        c.is_control()
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{206f}' | '\u{feff}')
    };
    let bad = name.is_empty()
        || name.len() > 200
        || name.starts_with('.')
        || name.contains(['/', '\\', '\0'])
        || name.chars().any(invisible);
    if bad {
        return Err(HttpError::Invalid(
            "a download's file name must be a plain name: no directories, not hidden, no control characters, at most 200 bytes".into(),
        ));
    }
    Ok(())
}

struct Transfer<'a> {
    grant: &'a mut HttpGrant,
    headers: Vec<(String, String)>,
    url: reqwest::Url,
    dir: PathBuf,
    max_bytes: u64,
    progress: Option<super::Progress>,
}

/// The partial file: removed when dropped unless it was kept.
struct Partial {
    path: PathBuf,
    file: std::fs::File,
    kept: bool,
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.kept {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl Transfer<'_> {
    async fn run(mut self, file_name: &str) -> Result<DownloadOutcome, HttpError> {
        let mut partial = self.partial(file_name)?;
        let mut hasher = Sha256::new();
        let mut written: u64 = 0;
        let mut content_type = None;
        let mut resumes = 0;
        // What identifies the file, from the first answer: a resumed part
        // must be of the same file.
        let mut validator: Option<String> = None;
        let mut first_total: Option<u64> = None;
        loop {
            let response = self.follow(written, validator.as_deref()).await?;
            let status = response.status().as_u16();
            let host = response.url().host_str().unwrap_or("?").to_owned();
            match (written, status) {
                (0, 200..=299) => {
                    validator = file_validator(&response);
                    first_total = total_size(&response);
                }
                (0, _) => return Ok(DownloadOutcome::Answered(answered(response).await?)),
                (from, 206)
                    if range_start(&response) == Some(from)
                        && first_total.is_none_or(|t| total_size(&response) == Some(t)) => {}
                (_, 200 | 206) => {
                    // The server cannot resume, or the file changed: start
                    // over, with this whole body or by asking again.
                    partial.file.set_len(0).map_err(io_error)?;
                    std::io::Seek::rewind(&mut partial.file).map_err(io_error)?;
                    hasher = Sha256::new();
                    written = 0;
                    if status == 206 {
                        resumes += 1;
                        if resumes > MAX_RESUMES {
                            return Err(HttpError::Connect(format!(
                                "{host} kept answering with parts of another file"
                            )));
                        }
                        continue;
                    }
                    validator = file_validator(&response);
                    first_total = total_size(&response);
                }
                (_, status) => {
                    return Err(HttpError::Connect(format!(
                        "{host} answered HTTP {status} when asked to resume the download"
                    )));
                }
            }
            if content_type.is_none() {
                content_type = response
                    .headers()
                    .get(reqwest::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
            }
            let total = total_size(&response);
            if total.is_some_and(|t| t > self.max_bytes) {
                return Err(self.over_cap());
            }
            match self
                .stream(response, &mut partial, &mut hasher, &mut written, total)
                .await
            {
                Ok(()) => break,
                Err(Stream::Fatal(e)) => return Err(e),
                Err(Stream::Dropped(e)) => {
                    resumes += 1;
                    if resumes > MAX_RESUMES || self.grant.deadline.remaining().is_zero() {
                        return Err(e);
                    }
                    tracing::info!(target: "http", "download interrupted after {written} bytes; resuming");
                }
            }
        }
        partial.file.sync_all().map_err(io_error)?;
        // Linked, not renamed: a link fails where a name is taken (even by
        // a dangling symlink, or by a download finishing at the same time),
        // where a rename would replace it. The partial name goes on drop.
        let name = self.link_final(&partial.path, file_name)?;
        Ok(DownloadOutcome::Saved(SavedFile {
            name,
            size: written,
            sha256: crate::hex(&hasher.finalize()),
            content_type,
        }))
    }

    fn partial(&self, file_name: &str) -> Result<Partial, HttpError> {
        let path = self.dir.join(format!(
            ".{file_name}.{}-{:08x}.part",
            std::process::id(),
            rand::random::<u32>()
        ));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&path).map_err(|e| {
            HttpError::Denied(format!(
                "cannot write into the output directory {}: {e}",
                self.dir.display()
            ))
        })?;
        Ok(Partial {
            path,
            file,
            kept: false,
        })
    }

    /// Give the complete file the name asked for, or `name (1).ext`, ...
    /// when that is taken: a download never replaces a file.
    fn link_final(&self, partial: &std::path::Path, file_name: &str) -> Result<String, HttpError> {
        let (stem, ext) = match file_name.rsplit_once('.') {
            Some((stem, ext)) if !stem.is_empty() => (stem, format!(".{ext}")),
            _ => (file_name, String::new()),
        };
        for n in 0..1000 {
            let name = match n {
                0 => file_name.to_owned(),
                n => format!("{stem} ({n}){ext}"),
            };
            match std::fs::hard_link(partial, self.dir.join(&name)) {
                Ok(()) => return Ok(name),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io_error(e)),
            }
        }
        Err(HttpError::Denied(format!(
            "{file_name} and 999 numbered names beside it are taken in the output directory"
        )))
    }

    /// GET the URL, following redirects each checked against the policy;
    /// `from` > 0 asks for the rest of the body.
    async fn follow(
        &mut self,
        from: u64,
        validator: Option<&str>,
    ) -> Result<reqwest::Response, HttpError> {
        let mut url = self.url.clone();
        // Scheme, host and port: another port of the same host is another server.
        let first_origin = url.origin();
        for _ in 0..=MAX_REDIRECTS {
            let remaining = self.grant.deadline.remaining();
            if remaining.is_zero() {
                return Err(HttpError::Timeout(
                    "the action's deadline passed during the download".into(),
                ));
            }
            let same_host = url.origin() == first_origin;
            let mut builder = self.grant.client.get(url.clone()).timeout(remaining);
            for (name, value) in &self.headers {
                if same_host || !CREDENTIAL_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
                    builder = builder.header(name, value);
                }
            }
            // Without a validator a part cannot be known to be of the same
            // file: ask for all of it again.
            if let (true, Some(validator)) = (from > 0, validator) {
                builder = builder
                    .header(reqwest::header::RANGE, format!("bytes={from}-"))
                    .header(reqwest::header::IF_RANGE, validator);
            }
            let host = url.host_str().unwrap_or("?").to_owned();
            self.grant.sent += 1;
            let response = builder
                .send()
                .await
                .map_err(|e| transport_error(&e, &host, "the download"))?;
            if !response.status().is_redirection() {
                return Ok(response);
            }
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| {
                    HttpError::Connect(format!("{host} redirected without a Location"))
                })?;
            let next = url
                .join(location)
                .map_err(|_| HttpError::Connect(format!("{host} redirected to a bad URL")))?;
            // Checked before any connection to it.
            self.grant
                .egress
                .check(next.as_str())
                .map_err(|m| HttpError::Denied(format!("redirect refused: {m}")))?;
            url = next;
        }
        Err(HttpError::Connect(format!(
            "more than {MAX_REDIRECTS} redirects"
        )))
    }

    async fn stream(
        &mut self,
        mut response: reqwest::Response,
        partial: &mut Partial,
        hasher: &mut Sha256,
        written: &mut u64,
        total: Option<u64>,
    ) -> Result<(), Stream> {
        let host = response.url().host_str().unwrap_or("?").to_owned();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if *written + chunk.len() as u64 > self.max_bytes {
                        return Err(Stream::Fatal(self.over_cap()));
                    }
                    partial
                        .file
                        .write_all(&chunk)
                        .map_err(|e| Stream::Fatal(io_error(e)))?;
                    hasher.update(&chunk);
                    *written += chunk.len() as u64;
                    if let Some(progress) = &self.progress {
                        progress(*written, total);
                    }
                }
                Ok(None) => {
                    return match total {
                        Some(total) if *written < total => {
                            Err(Stream::Dropped(HttpError::Connect(format!(
                                "{host} closed the download at {written} of {total} bytes"
                            ))))
                        }
                        _ => Ok(()),
                    };
                }
                Err(e) => {
                    return Err(Stream::Dropped(transport_error(
                        &e,
                        &host,
                        "reading the download",
                    )));
                }
            }
        }
    }

    fn over_cap(&self) -> HttpError {
        HttpError::Denied(format!(
            "the download is larger than this resource's cap of {} MiB (`download_max_mib`)",
            self.max_bytes >> 20
        ))
    }
}

enum Stream {
    /// Worth resuming.
    Dropped(HttpError),
    Fatal(HttpError),
}

/// A strong ETag, else Last-Modified: what `If-Range` may name.
fn file_validator(response: &reqwest::Response) -> Option<String> {
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    header(reqwest::header::ETAG)
        .filter(|etag| !etag.starts_with("W/"))
        .or_else(|| header(reqwest::header::LAST_MODIFIED))
}

/// Where a 206 answer starts (`Content-Range: bytes START-END/TOTAL`).
fn range_start(response: &reqwest::Response) -> Option<u64> {
    let value = response
        .headers()
        .get(reqwest::header::CONTENT_RANGE)?
        .to_str()
        .ok()?;
    let range = value.strip_prefix("bytes ")?;
    range.split('-').next()?.trim().parse().ok()
}

/// The whole file's size, from `Content-Range`'s total or, for a whole
/// body, `Content-Length`.
fn total_size(response: &reqwest::Response) -> Option<u64> {
    if response.status().as_u16() == 206 {
        let value = response
            .headers()
            .get(reqwest::header::CONTENT_RANGE)?
            .to_str()
            .ok()?;
        return value.rsplit('/').next()?.trim().parse().ok();
    }
    response.content_length()
}

/// A non-success answer for the plugin to read, its body capped.
async fn answered(mut response: reqwest::Response) -> Result<HttpResponse, HttpError> {
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = MAX_ERROR_BODY - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= MAX_ERROR_BODY {
            break;
        }
    }
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

fn io_error(e: std::io::Error) -> HttpError {
    HttpError::Denied(format!("cannot write the download: {e}"))
}

#[cfg(test)]
mod tests {
    use super::check_name;

    #[test]
    fn names_are_plain_and_visible() {
        for ok in ["zoom-1-abc.mp4", "report (1).pdf", "résumé.txt"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            ".bashrc",
            "../x",
            "a/b",
            "a\\b",
            "a\u{1b}[2J",
            "4pm\u{202e}4pm.exe",
            "zero\u{200b}width",
            &"x".repeat(201),
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }
}
