//! Outbound HTTP, the plugin's only way out. Every request is checked against
//! the resource's egress policy before any connection is made; the host
//! applies the action's deadline and the retry policy, and terminates TLS.
//! Downloads stream a body to a file without passing it through the plugin.

use std::path::PathBuf;
use std::time::Duration;

use wasmtime::component::{HasSelf, Linker};

use crate::bindings::{
    Contract, DownloadOutcome, HttpError, HttpRequest, HttpResponse, Project, v0_1, v0_2,
};
use crate::deadline::Deadline;
use crate::egress::Policy;

mod download;
mod pacing;
mod resolve;
pub mod retry;

pub use pacing::{Pacer, ResourcePacer, UpstreamStats};

/// Bodies larger than these are refused, so a plugin or an upstream cannot
/// exhaust the host's memory.
const MAX_REQUEST_BODY: usize = 16 << 20;
const MAX_RESPONSE_BODY: usize = 32 << 20;

/// Headers a plugin may not set: the host derives them from the URL and body.
const RESERVED_HEADERS: &[&str] = &["host", "content-length", "transfer-encoding", "connection"];

/// Reports a download's progress: (bytes so far, total when known).
pub type Progress = std::sync::Arc<dyn Fn(u64, Option<u64>) + Send + Sync>;

/// Where an invocation's downloads go, and how much they may write.
#[derive(Clone)]
pub struct Downloads {
    pub dir: PathBuf,
    pub limits: crate::resource::Limits,
    pub progress: Option<Progress>,
}

/// The files an invocation's downloads wrote: removed when dropped unless
/// kept, so that nothing a failed, timed-out or abandoned call wrote stays
/// behind (the store holding them is dropped with the call).
#[derive(Debug, Default)]
pub struct SavedFiles {
    paths: Vec<PathBuf>,
    /// Bytes in those files.
    pub bytes: u64,
}

impl SavedFiles {
    pub(crate) fn len(&self) -> usize {
        self.paths.len()
    }

    fn push(&mut self, path: PathBuf, bytes: u64) {
        self.paths.push(path);
        self.bytes += bytes;
    }

    /// The call succeeded: its files stay.
    pub fn keep(mut self) -> Vec<PathBuf> {
        std::mem::take(&mut self.paths)
    }
}

impl Drop for SavedFiles {
    fn drop(&mut self) {
        for path in &self.paths {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// One invocation's grant: where it may go and until when.
pub struct HttpGrant {
    /// `None`: no request may leave (a call that needs no resource).
    client: Option<reqwest::Client>,
    egress: Policy,
    deadline: Deadline,
    downloads: Option<Downloads>,
    /// Files written by downloads of this invocation.
    pub saved: SavedFiles,
    /// Requests that left the host, retries included.
    pub sent: u32,
    /// Seconds until the upstream's rate limit resets, from the last 429.
    pub last_retry_after: Option<u64>,
    /// What the plugin was last waiting for, for timeout messages.
    pub waiting_on: Option<String>,
    /// The resource's share of the host's rate-limit pauses.
    pacer: Option<ResourcePacer>,
    /// Whether the running call may repeat what it sends: an action
    /// declared idempotent, or the connectivity test.
    repeatable: bool,
    /// A user's token the host adds to requests under its API URL.
    bearer: Option<Bearer>,
    /// Why the user's sign-in ended during this call (a refused token, then
    /// a refused refresh): the call's auth error becomes `reauth-required`.
    pub reauth: Option<String>,
}

/// A signed-in user's access token (`auth = "user"`) and the URL prefix of
/// the requests it goes with: the plugin's API, not the redirects and
/// storage hosts beyond it.
pub struct Bearer {
    pub prefix: String,
    pub token: String,
    /// A forced refresh, for a 401 to the token (the upstream ended it
    /// early): once per call, then the request is sent again.
    pub refresh: Option<Refresh>,
}

/// Gets another token than the one given (another process's, when it
/// refreshed meanwhile); an error says whether the sign-in is over.
pub type Refresh = std::sync::Arc<
    dyn Fn(String) -> std::pin::Pin<Box<dyn Future<Output = Result<String, (bool, String)>> + Send>>
        + Send
        + Sync,
>;

impl HttpGrant {
    pub fn new(
        client: Option<reqwest::Client>,
        egress: Policy,
        deadline: Deadline,
        downloads: Option<Downloads>,
    ) -> Self {
        Self {
            client,
            egress,
            deadline,
            downloads,
            saved: SavedFiles::default(),
            sent: 0,
            last_retry_after: None,
            waiting_on: None,
            pacer: None,
            repeatable: false,
            bearer: None,
            reauth: None,
        }
    }

    /// Add `bearer`'s token to the requests under its prefix that carry no
    /// `Authorization` of their own.
    pub fn bearer(mut self, bearer: Option<Bearer>) -> Self {
        self.bearer = bearer;
        self
    }

    /// The running call is idempotent (its action is declared so, or it is
    /// the connectivity test): a request it marks idempotent may be sent
    /// again after a 5xx or a dropped answer. Otherwise only GET and HEAD
    /// are (see [`retry`]).
    pub fn repeatable(mut self, repeatable: bool) -> Self {
        self.repeatable = repeatable;
        self
    }

    /// Wait when the upstream rate-limited another run of the resource, and
    /// tell the others when it rate-limits this one.
    pub fn paced(mut self, pacer: ResourcePacer) -> Self {
        self.pacer = Some(pacer);
        self
    }

    /// The plugin no longer waits for its request; unless the deadline
    /// passed while it did: then the call's timeout names the request.
    fn done_waiting<T>(&mut self, outcome: &Result<T, HttpError>) {
        if !matches!(outcome, Err(HttpError::Timeout(_))) {
            self.waiting_on = None;
        }
    }

    fn client(&self) -> Result<&reqwest::Client, HttpError> {
        self.client
            .as_ref()
            .ok_or_else(|| HttpError::Denied("this call may make no request".into()))
    }

    /// Refuse what the policy does not allow; return the URL and its host.
    fn check(&self, request: &HttpRequest) -> Result<(reqwest::Url, String), HttpError> {
        self.client()?;
        let url = crate::egress::parse(&request.url).map_err(HttpError::Denied)?;
        let host = self.egress.check_url(&url).map_err(HttpError::Denied)?.host;
        if request
            .body
            .as_ref()
            .is_some_and(|b| b.len() > MAX_REQUEST_BODY)
        {
            return Err(HttpError::Invalid(format!(
                "request body over {} MiB",
                MAX_REQUEST_BODY >> 20
            )));
        }
        Ok((url, host))
    }

    pub async fn send(&mut self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let (url, host) = self.check(&request)?;
        let method = method_of(&request)?;
        let idempotent = retry::may_repeat(&method, request.idempotent, self.repeatable);
        let what = format!("{method} {}{}", host, url.path());
        self.waiting_on = Some(what.clone());
        let outcome = self
            .send_checked(&request, url, &host, method, idempotent, &what)
            .await;
        self.done_waiting(&outcome);
        outcome
    }

    async fn send_checked(
        &mut self,
        request: &HttpRequest,
        url: reqwest::Url,
        host: &str,
        method: reqwest::Method,
        idempotent: bool,
        what: &str,
    ) -> Result<HttpResponse, HttpError> {
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let remaining = self.deadline.remaining();
            if remaining.is_zero() {
                return Err(HttpError::Timeout(format!(
                    "the action's deadline passed before {what}"
                )));
            }
            if let Some(pacer) = &self.pacer
                && let Some(wait) = pacer.paused_for()
                && self.deadline.fits(wait)
            {
                // Sending now would only be refused again.
                pacer.count_wait();
                tracing::info!(target: "http", "{what}: the upstream rate-limited this resource; waiting {} ms", wait.as_millis());
                tokio::time::sleep(wait).await;
            }
            let remaining = self.deadline.remaining();
            let mut builder = self
                .client()?
                .request(method.clone(), url.clone())
                .timeout(remaining);
            for (name, value) in &request.headers {
                if !RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
                    builder = builder.header(name, value);
                }
            }
            let injected = self.bearer.as_ref().filter(|bearer| {
                url.as_str().starts_with(&bearer.prefix)
                    && !request
                        .headers
                        .iter()
                        .any(|(name, _)| name.eq_ignore_ascii_case("authorization"))
            });
            let injected = match injected {
                Some(bearer) => {
                    builder = builder.bearer_auth(&bearer.token);
                    true
                }
                None => false,
            };
            if let Some(body) = &request.body {
                builder = builder.body(body.clone());
            }
            self.sent += 1;
            tracing::debug!(target: "http", attempt, "{what}");
            // Whether the request may have reached the upstream: a failure
            // to connect sent nothing, and may be repeated whatever it is.
            // An answer too large to take is final: asking again would get
            // the same.
            let (outcome, sent) = match builder.send().await {
                Ok(response) => match read(response, host).await {
                    Ok(answer) => (Ok(answer), retry::Sent::Yes),
                    Err(ReadError::Transport(e)) => (Err(e), retry::Sent::Yes),
                    Err(ReadError::TooLarge(e)) => (Err(e), retry::Sent::Final),
                },
                Err(e) if e.is_connect() => (Err(transport_error(&e, host, what)), retry::Sent::No),
                Err(e) => (Err(transport_error(&e, host, what)), retry::Sent::Yes),
            };
            if injected
                && matches!(&outcome, Ok(response) if response.status == 401)
                && let Some(refresh) = self.bearer.as_mut().and_then(|b| b.refresh.take())
            {
                // The upstream ended the user's token early: one new
                // token, the request once more (it was refused, not run).
                let refused = self
                    .bearer
                    .as_ref()
                    .map(|b| b.token.clone())
                    .unwrap_or_default();
                match refresh(refused).await {
                    Ok(token) => {
                        crate::redact::register(std::slice::from_ref(&token));
                        if let Some(bearer) = self.bearer.as_mut() {
                            bearer.token = token;
                        }
                        tracing::info!(target: "http", "{what}: the user's token was refused; sending again with a new one");
                        continue;
                    }
                    Err((over, e)) => {
                        tracing::warn!(target: "http", "{what}: the user's token was refused and could not be renewed: {e}");
                        if over {
                            self.reauth = Some(e);
                        }
                    }
                }
            }
            let wait = retry::decide(&outcome, sent, idempotent, attempt, &self.deadline);
            if let Ok(response) = &outcome
                && response.status == 429
            {
                self.last_retry_after = retry::retry_after_secs(&response.headers);
                if let (Some(pacer), Some(after)) = (
                    &self.pacer,
                    retry::retry_after(&response.headers, std::time::SystemTime::now()),
                ) {
                    pacer.pause(after);
                }
            }
            match wait {
                Some(wait) => {
                    if let Some(pacer) = &self.pacer {
                        pacer.count_retry();
                    }
                    tracing::info!(
                        target: "http",
                        "{what}: {}; retrying in {} ms",
                        retry::describe(&outcome),
                        wait.as_millis()
                    );
                    tokio::time::sleep(wait).await;
                }
                None => return outcome,
            }
        }
    }
}

fn method_of(request: &HttpRequest) -> Result<reqwest::Method, HttpError> {
    reqwest::Method::from_bytes(request.method.as_bytes())
        .map_err(|_| HttpError::Invalid(format!("bad method `{}`", request.method)))
}

impl v0_2::soar::plugin::http::Host for HttpGrant {
    async fn send(
        &mut self,
        request: HttpRequest,
    ) -> wasmtime::Result<Result<HttpResponse, HttpError>> {
        Ok(HttpGrant::send(self, request).await)
    }

    async fn download(
        &mut self,
        request: HttpRequest,
        file_name: String,
    ) -> wasmtime::Result<Result<DownloadOutcome, HttpError>> {
        Ok(download::run(self, request, &file_name).await)
    }
}

/// Link the `http` import of a plugin built against `contract`.
pub fn link<S: Project<HttpGrant> + Send + 'static>(
    linker: &mut Linker<S>,
    contract: Contract,
) -> wasmtime::Result<()> {
    match contract {
        Contract::V0_1 => v0_1::soar::plugin::http::add_to_linker::<S, v0_1::AsLatest<HttpGrant>>(
            linker,
            v0_1::latest::<S, HttpGrant>,
        ),
        Contract::V0_2 => {
            v0_2::soar::plugin::http::add_to_linker::<S, HasSelf<HttpGrant>>(linker, |s| {
                s.project()
            })
        }
    }
}

/// Why an answer could not be read.
enum ReadError {
    /// The connection failed on the way (worth another attempt when the
    /// request is idempotent).
    Transport(HttpError),
    /// The body is over [`MAX_RESPONSE_BODY`].
    TooLarge(HttpError),
}

async fn read(mut response: reqwest::Response, host: &str) -> Result<HttpResponse, ReadError> {
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect();
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_RESPONSE_BODY {
                    return Err(ReadError::TooLarge(HttpError::Connect(format!(
                        "{host} answered with a body over {} MiB",
                        MAX_RESPONSE_BODY >> 20
                    ))));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) => {
                return Err(ReadError::Transport(transport_error(
                    &e,
                    host,
                    "reading the answer",
                )));
            }
        }
    }
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

/// reqwest's top-level message is vague ("error sending request"); the
/// causes say what happened (refused, DNS, certificate).
fn transport_error(error: &reqwest::Error, host: &str, what: &str) -> HttpError {
    if error.is_timeout() {
        return HttpError::Timeout(format!("no answer from {host} in time ({what})"));
    }
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !causes.contains(&text) {
            causes.push(text);
        }
        source = cause.source();
    }
    let detail = causes.last().cloned().unwrap_or_else(|| error.to_string());
    // rustls's own messages; say plainly that it is TLS (a wrong port, a proxy, a bad certificate).
    const TLS: [&str; 6] = [
        "received corrupt message",
        "invalid peer certificate",
        "received fatal alert",
        "peer is incompatible",
        "peer misbehaved",
        "unexpected message",
    ];
    if TLS.iter().any(|m| detail.contains(m)) {
        return HttpError::Connect(format!(
            "cannot reach {host}: TLS handshake failed: {detail}"
        ));
    }
    HttpError::Connect(format!("cannot reach {host}: {detail}"))
}

/// The client all invocations share: connection reuse, rustls, no redirects
/// (a redirect could lead off the allow-list; the plugin sees the 3xx), and
/// the resolver that refuses link-local addresses. There is no fallback: a
/// host that cannot build this client does not start (a default client
/// would follow redirects and skip the DNS guard).
pub fn client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(60))
        .user_agent(concat!("soar-host/", env!("CARGO_PKG_VERSION")))
        .dns_resolver(std::sync::Arc::new(resolve::GuardedResolver))
        .build()
        .map_err(|e| format!("cannot build the HTTP client with the host's egress policy: {e}"))
}
