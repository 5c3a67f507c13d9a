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
    let limits = downloads.limits;
    if grant.saved.len() >= limits.download_max_files as usize {
        return Err(HttpError::Denied(format!(
            "this call has downloaded {} files, this resource's limit (`download_max_files`)",
            grant.saved.len()
        )));
    }
    let (url, host) = grant.check(&request)?;
    let method = method_of(&request)?;
    if method != reqwest::Method::GET {
        return Err(HttpError::Invalid("a download is a GET request".into()));
    }
    let what = format!("GET {host}{} (download)", url.path());
    grant.waiting_on = Some(what);
    // What this call's earlier downloads left of its total.
    let room = limits
        .download_total_max_bytes
        .saturating_sub(grant.saved.bytes);
    let mut headers: Vec<(String, String)> = request
        .headers
        .iter()
        .filter(|(n, _)| {
            let n = n.to_ascii_lowercase();
            !RESERVED_HEADERS.contains(&n.as_str()) && !DOWNLOAD_HEADERS.contains(&n.as_str())
        })
        .cloned()
        .collect();
    // A user's sign-in: a download (Zoom's `download_url`, on another host
    // than the API) takes the user's token as the account's would, to its
    // first host only (a redirect elsewhere goes without it).
    if let Some(bearer) = &grant.bearer
        && !headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("authorization"))
    {
        headers.push(("authorization".into(), format!("Bearer {}", bearer.token)));
    }
    let outcome = Transfer {
        grant: &mut *grant,
        headers,
        url,
        dir: downloads.dir.clone(),
        max_bytes: limits.download_max_bytes,
        room,
        progress: downloads.progress.clone(),
    }
    .run(file_name)
    .await;
    grant.done_waiting(&outcome);
    if let Ok(DownloadOutcome::Saved(saved)) = &outcome {
        grant
            .saved
            .push(downloads.dir.join(&saved.name), saved.size);
    }
    outcome
}

/// The longest file name a download may take, in bytes (most file systems
/// allow 255; the host adds ` (999)` when the name is taken).
const MAX_NAME_BYTES: usize = 200;

/// A file name the plugin may choose: one plain name that a person reads as
/// it is on disk. Every character is a letter, a digit, a space between
/// words or one of a few punctuation marks; anything else — control and
/// format characters (bidi overrides and marks, zero-width characters, soft
/// hyphens, tag characters), separators other than the space (U+2028),
/// private-use and unassigned code points, combining marks, fillers that
/// render as nothing — is refused, named by its code point.
fn check_name(name: &str) -> Result<(), HttpError> {
    let refuse = |why: String| {
        Err(HttpError::Invalid(format!(
            "a download's file name must be a plain, visible name: {why}"
        )))
    };
    if name.is_empty() {
        return refuse("it is empty".into());
    }
    if name.len() > MAX_NAME_BYTES {
        return refuse(format!("it is over {MAX_NAME_BYTES} bytes"));
    }
    if let Some(c) = name.chars().find(|c| !name_char(*c)) {
        // Only what shows as itself is shown; the rest by its number.
        let shown = match c.is_ascii_graphic() {
            true => format!(" `{c}`"),
            false => String::new(),
        };
        return refuse(format!(
            "U+{:04X}{shown} is not allowed (letters, digits, spaces and {NAME_PUNCTUATION} only)",
            c as u32
        ));
    }
    if name.starts_with(['.', ' ', '-']) {
        return refuse("it may not start with `.`, `-` or a space".into());
    }
    if name.ends_with([' ', '.']) {
        return refuse("it may not end with a space or `.`".into());
    }
    if name.contains("  ") {
        return refuse("it has two spaces in a row".into());
    }
    Ok(())
}

/// The punctuation a download's name may hold besides letters and digits.
const NAME_PUNCTUATION: &str = "-_.,+=@#%&()[]'!~";

/// A character a download's name may hold: letters and digits (Unicode's
/// alphabetic and numeric ones, less those that render as nothing), the
/// space, and [`NAME_PUNCTUATION`].
fn name_char(c: char) -> bool {
    /// Hangul fillers and Khmer inherent vowels: letters by their category,
    /// invisible on screen.
    const BLANK_LETTERS: &[char] = &[
        '\u{115f}', '\u{1160}', '\u{17b4}', '\u{17b5}', '\u{3164}', '\u{ffa0}',
    ];
    c == ' '
        || NAME_PUNCTUATION.contains(c)
        || (c.is_alphanumeric() && !BLANK_LETTERS.contains(&c) && !is_mark_or_format(c))
}

/// Code points in Unicode's alphabetic set that are combining marks or
/// formatting (the alphabetic property includes some of each): refused,
/// since a mark alone can stack over or hide its neighbours.
fn is_mark_or_format(c: char) -> bool {
    matches!(c,
        '\u{0300}'..='\u{036f}'   // combining diacritical marks
        | '\u{0483}'..='\u{0489}'
        | '\u{0591}'..='\u{05c7}' // Hebrew points
        | '\u{0610}'..='\u{061a}'
        | '\u{064b}'..='\u{065f}' // Arabic harakat
        | '\u{0670}'
        | '\u{06d6}'..='\u{06ed}'
        | '\u{1ab0}'..='\u{1aff}'
        | '\u{1dc0}'..='\u{1dff}'
        | '\u{200b}'..='\u{200f}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2060}'..='\u{206f}'
        | '\u{20d0}'..='\u{20ff}'
        | '\u{fe00}'..='\u{fe0f}' // variation selectors
        | '\u{fe20}'..='\u{fe2f}'
        | '\u{feff}'
        | '\u{e0000}'..='\u{e0fff}' // tags, variation selectors supplement
    )
}

struct Transfer<'a> {
    grant: &'a mut HttpGrant,
    headers: Vec<(String, String)>,
    url: reqwest::Url,
    dir: PathBuf,
    /// The resource's cap on one file.
    max_bytes: u64,
    /// What the call's downloads may still write in all.
    room: u64,
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
            if let Some(total) = total {
                self.check_size(total)?;
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
            let mut builder = self.grant.client()?.get(url.clone()).timeout(remaining);
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
                    self.check_size(*written + chunk.len() as u64)
                        .map_err(Stream::Fatal)?;
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

    /// Whether a file of `size` bytes fits the caps on one file and on
    /// the call's downloads in all.
    fn check_size(&self, size: u64) -> Result<(), HttpError> {
        if size > self.max_bytes {
            return Err(HttpError::Denied(format!(
                "the download is larger than this resource's cap of {} MiB (`download_max_mib`)",
                self.max_bytes >> 20
            )));
        }
        if size > self.room {
            return Err(HttpError::Denied(format!(
                "this call's downloads would write more than this resource allows one call in all (`download_total_max_mib`; {} MiB left)",
                self.room >> 20
            )));
        }
        Ok(())
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
    use super::{NAME_PUNCTUATION, check_name, name_char};

    #[test]
    fn names_are_plain_and_visible() {
        for ok in [
            "zoom-1-abc.mp4",
            "report (1).pdf",
            "résumé.txt",
            "Встреча 2024.m4a",
            "会议记录.txt",
            "اجتماع.mp4",
            "GMT20240101-100000_Recording_1920x1080.mp4",
        ] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for (bad, says) in [
            ("", "empty"),
            (".bashrc", "start"),
            ("-rf", "start"),
            (" x", "start"),
            ("x ", "end"),
            ("x.", "end"),
            ("a  b", "two spaces"),
            ("../x", "U+002F"),
            ("a/b", "U+002F"),
            ("a\\b", "U+005C"),
            ("a\u{1b}[2J", "U+001B"),
            ("4pm\u{202e}4pm.exe", "U+202E"),
            ("zero\u{200b}width", "U+200B"),
            ("soft\u{ad}hyphen", "U+00AD"),
            ("line\u{2028}sep", "U+2028"),
            ("para\u{2029}sep", "U+2029"),
            ("tag\u{e0041}s", "U+E0041"),
            ("arabic\u{61c}mark", "U+061C"),
            ("private\u{e000}use", "U+E000"),
            ("private\u{f0000}use", "U+F0000"),
            ("e\u{301}", "U+0301"),
            ("hangul\u{3164}filler", "U+3164"),
            ("nbsp\u{a0}x", "U+00A0"),
            ("ideographic\u{3000}space", "U+3000"),
            ("bom\u{feff}", "U+FEFF"),
            ("semi;colon", "U+003B"),
            ("pipe|x", "U+007C"),
            ("q?", "U+003F"),
            ("star*", "U+002A"),
            ("lt<gt>", "U+003C"),
            ("quote\"", "U+0022"),
            ("colon:x", "U+003A"),
            ("dollar$x", "U+0024"),
            ("back`tick", "U+0060"),
            (&"x".repeat(201), "200 bytes"),
        ] {
            match check_name(bad) {
                Err(crate::bindings::HttpError::Invalid(m)) => {
                    assert!(m.contains(says), "{bad:?}: {m}")
                }
                other => panic!("{bad:?} accepted: {other:?}"),
            }
        }
    }

    proptest::proptest! {
        /// Whatever a plugin sends: a name that passes holds only the
        /// conservative set, and a refusal names a reason.
        #[test]
        fn an_accepted_name_holds_only_plain_characters(name in "\\PC{0,40}|[\\x00-\\x{10ffff}]{0,12}") {
            match check_name(&name) {
                Ok(()) => {
                    proptest::prop_assert!(name.chars().all(name_char));
                    proptest::prop_assert!(name.chars().all(|c| c == ' ' || !c.is_whitespace()));
                    proptest::prop_assert!(!name.chars().any(|c| c.is_control()));
                    proptest::prop_assert!(!name.contains(['/', '\\']));
                    proptest::prop_assert!(!name.starts_with('.'));
                }
                Err(crate::bindings::HttpError::Invalid(m)) => proptest::prop_assert!(!m.is_empty()),
                Err(other) => proptest::prop_assert!(false, "{other:?}"),
            }
        }

        /// Names made of the allowed characters, words separated by one
        /// space, are accepted.
        #[test]
        fn a_plain_name_is_accepted(words in proptest::collection::vec("[a-zA-Z0-9é会д][a-zA-Z0-9_é会д]{0,10}", 1..4), ext in "[a-z0-9]{1,4}") {
            let name = format!("{}.{ext}", words.join(" "));
            proptest::prop_assert!(check_name(&name).is_ok(), "{name:?}");
            let punctuated = format!("{}{NAME_PUNCTUATION}.{ext}", words[0]);
            proptest::prop_assert!(check_name(&punctuated).is_ok(), "{punctuated:?}");
        }
    }
}
